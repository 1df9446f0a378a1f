/*
 * branchline/identity.h: the identity kind. An identity plugin tells the host who is calling: it
 * validates the bearer tokens that browsers and advisor consoles present, validates logout
 * notifications from the bank's identity provider (OIDC back-channel logout, SAML LogoutRequest),
 * and may report sessions it learns were revoked.
 *
 * Sequence (see docs/plugin-abi.md):
 *   browser -> host API: request with "Authorization: Bearer <token>"
 *   host -> validate_token(body {"token"}) ... plugin -> host->complete(claims)
 *   IdP -> host API: POST back-channel logout
 *   host -> validate_logout(body {"logout_token"}) ... plugin -> host->complete({"subject","session_id"})
 *   host ends every consultation of that session and audits it.
 *   Or: plugin -> host->emit("identity.session_revoked", {"subject","session_id"?,"reason"})
 *
 * All operations are asynchronous (see ASYNCHRONOUS CALLS in abi.h); called on host threads,
 * concurrently; must not block.
 */
#ifndef BRANCHLINE_IDENTITY_H
#define BRANCHLINE_IDENTITY_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bl_identity_api {
  uint32_t struct_size;
  uint32_t reserved;

  /* Validates a token. Required.
   * body:   {"token": string, "token_type"?: "access"|"id",
   *          "scheme"?: "Bearer"|"DPoP"            (how the client presented it; default Bearer),
   *          "dpop"?: {"proof": string, "method": string, "url": string}
   *                                                (the request's DPoP header, method and URL)}
   * result: {"subject": string, "roles": [string], "expires_at": integer (Unix seconds),
   *          "issuer"?: string, "session_id"?: string, "acr"?: string, "amr"?: [string],
   *          "auth_time"?: integer, "issued_at"?: integer, "client_id"?: string,
   *          "token_id"?: string, "confirmation"?: {"jkt": string, "method": "dpop"},
   *          "claims"?: object}
   *         The principal is the pair (issuer, subject). A plugin that returns "confirmation"
   *         has checked the DPoP proof (RFC 9449); a token bound to a key must be refused when it
   *         arrives as a plain bearer token.
   * errors: BL_UNAUTHENTICATED for a bad, expired or revoked token; BL_UNAVAILABLE when the
   *         provider's keys cannot be fetched; BL_RESOURCE_EXHAUSTED when the caller is over a
   *         quota of the plugin's (e.g. identity-oidc's DPoP proofs per user in the replay
   *         window, error document {"error": "dpop_proof_quota", "retry_after_s": n}): the host
   *         answers 429 with Retry-After (the document's retry_after_s, else 1). With BL_UNAUTHENTICATED, the error document
   *         {"error": "invalid_dpop_proof"} says the DPoP proof, not the token, is at fault (one
   *         of RFC 9449 4.3's checks of the proof: missing, malformed, signature, htm, htu, iat,
   *         ath, jti): the client is told so (7.1) and may retry with a new proof. A proof
   *         signed by a key other than the token's cnf.jkt is the token's fault: no document. */
  void (*validate_token)(bl_plugin_instance* instance, const bl_request* request);

  /* Validates a logout notification received by the host's API. Optional (NULL).
   * body:   {"logout_token": string}   (OIDC back-channel logout token or SAML LogoutRequest)
   * result: {"issuer"?: string, "subject"?: string, "session_id"?: string, "token_id"?: string,
   *          "issued_at"?: integer, "replayed"?: boolean}
   *         (subject or session_id at least; a session id is unique only per issuer).
   *         "replayed": true when the plugin validated this same logout before (the provider
   *         retries after a lost answer or a 503); the host answers it as a success again,
   *         reaching no further than the provider's time of the logout. Only with "issued_at":
   *         a repeat dated at its own arrival would reach tokens issued after the first, so the
   *         host refuses it.
   *         "issued_at" (Unix seconds) is when the provider issued the logout, by its own clock:
   *         a logout naming only the subject refuses that subject's tokens issued up to then, so
   *         the provider's clock is the one to compare their "iat" with. Optional: without it
   *         the host dates the logout at its arrival.
   * errors: BL_UNAUTHENTICATED for a forged or malformed logout token, or another logout under
   *         a token id already used (a plugin may also refuse a plain repeat: the host answers
   *         that 400, and the provider stops retrying). */
  void (*validate_logout)(bl_plugin_instance* instance, const bl_request* request);

  /* Exchanges a user's credentials for a token: for development and local identity providers
   * only; federated providers leave it NULL. Optional.
   * body:   {"username": string, "password": string}
   * result: {"token": string, "expires_at": integer} */
  void (*authenticate)(bl_plugin_instance* instance, const bl_request* request);
} bl_identity_api;

/* Events an identity plugin may emit. */
#define BL_EVENT_IDENTITY_SESSION_REVOKED "identity.session_revoked" /* {"subject", "session_id"?, "reason"} */

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_IDENTITY_H */
