/*
 * branchline/event_sink.h: the event-sink kind. An event sink delivers the host's business events
 * (consultation requested, started, ended; operation submitted; ...) to a bank system: a log, a
 * webhook, a message bus. The host keeps events in a durable outbox and removes a batch only after
 * the sink acknowledged it, so a sink sees each event at least once and must tolerate repeats
 * (each event has a unique, increasing sequence number).
 *
 * Sequence (see docs/plugin-abi.md):
 *   host outbox -> deliver({"events": [...]}) ... plugin writes durably ... complete({})  => ack
 *   an error status (or the deadline) => the host retries the same batch later, with backoff.
 *
 * Asynchronous (abi.h); the host has at most one batch in flight per sink instance.
 */
#ifndef BRANCHLINE_EVENT_SINK_H
#define BRANCHLINE_EVENT_SINK_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bl_event_sink_api {
  uint32_t struct_size;
  uint32_t reserved;

  /* Delivers a batch. Required. Complete with BL_OK only once every event of the batch is stored
   * by the receiver. BL_INVALID_ARGUMENT marks the batch as undeliverable (dead letter).
   * body:   {"events": [{"sequence": integer, "id": string, "type": string, "time": RFC 3339,
   *          "data": object}]}
   * result: {} */
  void (*deliver)(bl_plugin_instance* instance, const bl_request* request);
} bl_event_sink_api;

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_EVENT_SINK_H */
