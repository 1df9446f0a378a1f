/*
 * branchline/core_banking.h: the core-banking kind. It reads a customer's accounts and carries out
 * operations that an advisor starts during a consultation (account opening, loan origination,
 * transfers). Every operation has an idempotency key so a retry after a timeout never books twice.
 *
 * Sequence (see docs/plugin-abi.md):
 *   host -> list_accounts(body {"customer_id"}) ... plugin -> host->complete({"accounts": [...]})
 *   advisor confirms -> host policy gate -> host audits the request ->
 *   host -> submit_operation(body {"type", "idempotency_key", ...}) ... complete({"operation_id", "state"})
 *   on BL_DEADLINE_EXCEEDED the host asks get_operation(body {"idempotency_key"}) before any retry.
 *
 * All operations are asynchronous (abi.h); host threads, concurrently; must not block.
 */
#ifndef BRANCHLINE_CORE_BANKING_H
#define BRANCHLINE_CORE_BANKING_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bl_core_banking_api {
  uint32_t struct_size;
  uint32_t reserved;

  /* Lists a customer's accounts. Required.
   * body:   {"customer_id": string}
   * result: {"accounts": [{"account_id", "type", "currency", "balance_minor": integer,
   *          "status", "opened_at"}]} */
  void (*list_accounts)(bl_plugin_instance* instance, const bl_request* request);

  /* Submits an operation. Required. Idempotent on idempotency_key: the same key and body answer
   * the first result; the same key with another body is BL_ALREADY_EXISTS.
   * body:   {"type": "account_opening"|"loan_origination"|"transfer"|string,
   *          "idempotency_key": string, "customer_id": string, "params": object}
   * result: {"operation_id": string, "customer_id": string, "state": "completed"|"pending"|"rejected",
   *          "details"?: object}   (e.g. the new account_id, the loan application id)
   * The host scopes idempotency_key to the caller before it gets here (the API derives it from the
   * principal and the client's Idempotency-Key header). */
  void (*submit_operation)(bl_plugin_instance* instance, const bl_request* request);

  /* Reads an operation by id or by idempotency key. Required.
   * body:   {"operation_id"?: string, "idempotency_key"?: string}
   * result: as submit_operation's result; customer_id is required here: the API shows an
   *         operation only under the customer it names (a result without it is answered 404)
   * errors: BL_NOT_FOUND */
  void (*get_operation)(bl_plugin_instance* instance, const bl_request* request);
} bl_core_banking_api;

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_CORE_BANKING_H */
