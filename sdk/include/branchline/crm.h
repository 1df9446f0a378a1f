/*
 * branchline/crm.h: the CRM kind. A CRM plugin gives an advisor the customer's profile during a
 * consultation, limited to the fields the advisor's role and the consultation allow (the host's
 * policy decides the field list and audits the access), and writes interaction notes back.
 *
 * Sequence (see docs/plugin-abi.md):
 *   advisor accepts a consultation -> host policy decides the fields ->
 *   host -> lookup_customer(body {"customer_id", "fields"}) ... plugin -> host->complete(customer)
 *   host audits "crm.customer.read" with the fields returned.
 *   at wrap-up: host -> add_note(body {"customer_id", "consultation_id", "text", "idempotency_key"})
 *
 * All operations are asynchronous (abi.h); host threads, concurrently; must not block.
 */
#ifndef BRANCHLINE_CRM_H
#define BRANCHLINE_CRM_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bl_crm_api {
  uint32_t struct_size;
  uint32_t reserved;

  /* Reads one customer. Required. The plugin returns only the requested fields it has.
   * body:   {"customer_id": string, "fields": [string]}   (e.g. "name", "email", "phone",
   *         "segment", "products", "kyc_status", "preferred_language", "region")
   *         "region" is the customer's data-residency region: the host asks for it alone, before
   *         any other field, to decide who may see the customer (docs/policy.md).
   *         An empty "fields" list asks for every field; the API never sends one.
   * result: {"customer_id": string, "fields": {name: value}}
   * errors: BL_NOT_FOUND */
  void (*lookup_customer)(bl_plugin_instance* instance, const bl_request* request);

  /* Finds customers. Optional.
   * body:   {"query": {"email"?|"phone"?|"name"?|"external_ref"?: string}, "fields": [string],
   *          "limit": integer (1..100)}
   * result: {"customers": [{"customer_id": string, "fields": {...}}]} */
  void (*search_customers)(bl_plugin_instance* instance, const bl_request* request);

  /* Adds an interaction note. Required. Idempotent: the same idempotency_key and body return the
   * first note's id; the same key with another body is BL_ALREADY_EXISTS.
   * body:   {"customer_id": string, "consultation_id": string, "author": string, "text": string,
   *          "idempotency_key": string}
   * result: {"note_id": string} */
  void (*add_note)(bl_plugin_instance* instance, const bl_request* request);

  /* Lists interaction notes of a customer, newest first. Optional.
   * body:   {"customer_id": string, "limit": integer (1..100)}
   * result: {"notes": [{"note_id", "consultation_id", "author", "text", "created_at"}]} */
  void (*list_notes)(bl_plugin_instance* instance, const bl_request* request);
} bl_crm_api;

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_CRM_H */
