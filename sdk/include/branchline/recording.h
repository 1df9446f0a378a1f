/*
 * branchline/recording.h: the recording kind. A recording plugin stores a consultation's media
 * (with the customer's consent, which the host checks and audits) wherever the bank keeps records.
 *
 * Sequence (see docs/plugin-abi.md):
 *   consent given -> host -> open(args, &recording)           (main or control thread; quick)
 *   media worker -> write(recording, packet) per packet       (one media thread; non-blocking)
 *   consultation ends -> host -> close(recording, request) ... plugin -> host->complete(
 *       {"uri", "bytes", "sha256", "duration_ms"})             (the handle is gone after complete)
 *   a failed consultation -> host -> abort(recording)          (discard what was written)
 */
#ifndef BRANCHLINE_RECORDING_H
#define BRANCHLINE_RECORDING_H

#include "abi.h"
#include "media.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bl_recording bl_recording; /* opaque; owned by the plugin */

/* OWNERSHIP: host, borrowed for the duration of open(). */
typedef struct bl_recording_open_args {
  uint32_t struct_size;
  uint32_t reserved;
  const char* recording_id;      /* unique; UTF-8 */
  size_t recording_id_length;
  const char* metadata;          /* JSON: {"consultation_id", "region", "retention_class",
                                  *  "tracks": [{"track_id", "media": "audio"|"video", "codec",
                                  *  "clock_rate", "payload_type"?, "channels"?}]} */
  size_t metadata_length;
} bl_recording_open_args;

typedef struct bl_recording_api {
  uint32_t struct_size;
  uint32_t reserved;

  /* Opens a recording. Returns BL_OK and *recording, or an error with a reason. Must not block on
   * the network (connect lazily). Host control thread. Required. */
  bl_status (*open)(bl_plugin_instance* instance, const bl_recording_open_args* args,
                    bl_recording** recording, bl_message* error);

  /* Writes one packet or frame. Always from the same media thread for a given recording; must not
   * block or allocate per packet where it can be avoided. BL_RESOURCE_EXHAUSTED means the plugin
   * is behind and dropped the packet (the host counts and audits gaps). Required. */
  bl_status (*write)(bl_plugin_instance* instance, bl_recording* recording, const bl_media_packet* packet);

  /* Finishes a recording; the plugin flushes, finalises and completes the request.
   * body: {"reason": "ended"|"failed"}
   * result: {"uri": string, "bytes": integer, "sha256": hex string, "duration_ms": integer}
   * No write follows close. The handle is invalid once the call is completed. Host control
   * thread, after the last write returned. Required. */
  void (*close)(bl_plugin_instance* instance, bl_recording* recording, const bl_request* request);

  /* Discards a recording and frees the handle, synchronously. Host control thread. Optional (NULL:
   * the host calls close with reason "failed" instead). */
  void (*abort)(bl_plugin_instance* instance, bl_recording* recording);
} bl_recording_api;

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_RECORDING_H */
