/*
 * branchline/queue.h: the queue-management kind. A queue plugin decides which advisor (worker)
 * serves which waiting customer (ticket): a bank's existing lobby or contact-center system, or the
 * reference skills matcher. The host owns the consultation; the plugin owns the waiting line.
 *
 * Sequence (see docs/plugin-abi.md):
 *   advisor signs in -> host -> set_worker_availability({"worker_id", "available": true, ...})
 *   customer asks    -> host -> enqueue({"ticket_id", "skills", ...}) ... complete({"position", ...})
 *   plugin matches   -> plugin -> host->emit("queue.offer", {"offer_id", "ticket_id", "worker_id",
 *                                            "expires_in_ms"})
 *   advisor accepts  -> host -> accept_offer({"offer_id", "worker_id"}) ... complete({"ticket_id"})
 *     or declines / times out -> host -> decline_offer(...) and the plugin offers elsewhere
 *   customer leaves  -> host -> cancel_ticket({"ticket_id"})
 *
 * All operations are asynchronous (abi.h); host threads, concurrently; must not block.
 */
#ifndef BRANCHLINE_QUEUE_H
#define BRANCHLINE_QUEUE_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bl_queue_api {
  uint32_t struct_size;
  uint32_t reserved;

  /* Puts a customer in line. Required. Idempotent on ticket_id.
   * body:   {"ticket_id": string, "customer_id"?: string, "queue": string, "skills": [string],
   *          "language"?: string, "priority": integer (0 normal .. 9 urgent),
   *          "attributes"?: object}
   * result: {"ticket_id": string, "position": integer (1 = next), "estimated_wait_s"?: integer} */
  void (*enqueue)(bl_plugin_instance* instance, const bl_request* request);

  /* Removes a waiting customer. Required. BL_NOT_FOUND when not waiting.
   * body: {"ticket_id": string, "reason": "abandoned"|"served_elsewhere"|string}  result: {} */
  void (*cancel_ticket)(bl_plugin_instance* instance, const bl_request* request);

  /* Tells the plugin an advisor's availability and skills. Required.
   * body:   {"worker_id": string, "available": boolean, "skills": [string],
   *          "languages"?: [string], "capacity": integer (concurrent consultations)}
   * result: {} */
  void (*set_worker_availability)(bl_plugin_instance* instance, const bl_request* request);

  /* The advisor accepted an offer. Required. BL_FAILED_PRECONDITION when it expired.
   * body: {"offer_id": string, "worker_id": string}  result: {"ticket_id": string} */
  void (*accept_offer)(bl_plugin_instance* instance, const bl_request* request);

  /* The advisor declined, or the offer timed out at the host. Required.
   * body: {"offer_id": string, "worker_id": string, "reason": "declined"|"timeout"}  result: {} */
  void (*decline_offer)(bl_plugin_instance* instance, const bl_request* request);

  /* Reports the line. Optional.
   * body: {"queue"?: string}
   * result: {"tickets": [{"ticket_id", "queue", "position", "waiting_s"}],
   *          "workers": [{"worker_id", "available", "active"}]} */
  void (*snapshot)(bl_plugin_instance* instance, const bl_request* request);
} bl_queue_api;

/* Events a queue plugin emits. */
#define BL_EVENT_QUEUE_OFFER "queue.offer"                 /* {"offer_id","ticket_id","worker_id","expires_in_ms"} */
#define BL_EVENT_QUEUE_POSITION "queue.position"           /* {"ticket_id","position","estimated_wait_s"?} */

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_QUEUE_H */
