// authenticator: who is calling the API, from the request's token, as the identity plugin says.
//
// Contract:
//  - A request carries one `Authorization` header, `Bearer <token>` or `DPoP <token>` (scheme
//    case-insensitive, the token in RFC 7235 token68 syntax, at most max_token_bytes); a DPoP
//    token comes with exactly one `DPoP` proof header. The token (and the proof, the method and
//    the URL the client called: public_url + path, or https://<Host> + path) goes to the identity
//    plugin's validate_token (sdk/include/branchline/identity.h). The query is not part of the URL
//    (RFC 9449 §4.3).
//  - What the plugin returns is untrusted like anything else: a result that is not the documented
//    shape is refused (500, logged), never half-used. Beyond the plugin's own checks the host
//    refuses, whatever the plugin said:
//      a token bound to a key (`confirmation`) presented as Bearer, and a DPoP token whose result
//      has no confirmation (the plugin did not check the proof);
//      a token that expired (expires_at, with clock_skew), or that stays valid longer than
//      max_token_lifetime from now: the host remembers logouts only that long;
//      a token of a session that single logout ended (session_registry).
//    A bearer token the plugin accepted is not sent to it again for token_cache_ttl (at most
//    until it expires; token_cache.hpp); the host's own checks above run on every request.
//  - Answers:
//      no Authorization header, or a scheme other than Bearer and DPoP: 401 with a
//      `WWW-Authenticate` challenge for each scheme and no error code (RFC 6750 §3.1);
//      a malformed header (two Authorization headers, not token68, a DPoP token with no or
//      several proofs): 400, error="invalid_request";
//      a refused token: 401, error="invalid_token" on the scheme that was used, with a short
//      error_description;
//      the identity provider unreachable, its keys unavailable, or no identity plugin: 503 with
//      Retry-After (a failure to check is never an answer about the token).
//    `reason` says why for the audit entry; neither it nor the response holds the token.
//  - principal_from_result() and logout_from_result() parse the plugin's results (exposed for the
//    logout route, tests and the fuzzer); they throw std::invalid_argument naming what is wrong.
#pragma once

#include "api/http_server.hpp"
#include "api/session_registry.hpp"
#include "api/token_cache.hpp"

#include <branchline/abi.h>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace branchline::api {

// The caller, as the identity plugin validated their token.
struct Principal {
  std::string issuer, subject;    // the principal is this pair
  std::string session_id;         // the IdP session (`sid`); may be empty
  std::vector<std::string> roles;
  std::string acr;
  std::vector<std::string> amr;
  std::optional<std::int64_t> auth_time, issued_at;
  std::int64_t expires_at = 0;
  std::string client_id, token_id;
  std::string dpop_jkt;           // the key a DPoP token is bound to; empty for a bearer token
  boost::json::object claims;     // further claims the plugin passed on (region, branch, customer)

  std::string id() const { return issuer + "|" + subject; }  // as in audit entries and User::"..."
  std::string claim(std::string_view name) const;           // a string claim, or ""
};

// What a plugin's error document (abi.h, complete()) says, as far as the host reads it: its code
// ("" when none or not well formed), e.g. identity.h's invalid_dpop_proof, and the seconds after
// which a retry may pass (0 when not given), for BL_RESOURCE_EXHAUSTED and BL_UNAVAILABLE.
struct PluginErrorDocument {
  std::string code;
  std::int64_t retry_after_s = 0;
};

// The identity plugin instance the API authenticates with. Bodies and results are those of
// bl_identity_api (sdk/include/branchline/identity.h); `done` may run on any thread.
class IdentityProvider {
 public:
  // error: what the plugin's error document says on a refusal (empty when none).
  using Done = std::function<void(bl_status status, std::string result_or_reason, PluginErrorDocument error)>;
  virtual ~IdentityProvider() = default;
  virtual void validate_token(std::string body, Done done) = 0;
  virtual void validate_logout(std::string body, Done done) = 0;
  // Names the issuer of a plugin that returns none (identity.h makes `issuer` optional).
  virtual std::string default_issuer() const = 0;
};

struct AuthOptions {
  std::size_t max_token_bytes = 8192;
  std::chrono::seconds max_token_lifetime{3600};
  std::int64_t clock_skew_s = 60;
  std::string public_url;  // e.g. https://api.bank.example (no path); empty: https://<Host>
  std::string realm = "branchline";
  // Bearer tokens the plugin accepted are not checked again for this long (token_cache.hpp); 0: off.
  std::chrono::seconds token_cache_ttl{30};
  std::size_t token_cache_entries = 10000;
};

struct AuthResult {
  std::shared_ptr<const Principal> principal;  // set when authenticated
  HttpResponse refusal;                        // otherwise: 400, 401, 500 or 503
  std::string reason;                          // why, for the audit entry
  std::string token_fingerprint;               // on a refusal: first 16 hex digits of SHA-256(token), when there was one
};

class Authenticator {
 public:
  // `identity` may be null: every protected request is then answered 503 (no sign-in configured).
  Authenticator(std::shared_ptr<IdentityProvider> identity, std::shared_ptr<SessionRegistry> sessions,
                AuthOptions options);

  // `done` runs exactly once, on this thread or the plugin's.
  void authenticate(const HttpRequest& request, std::function<void(AuthResult)> done) const;

  static Principal principal_from_result(std::string_view result, const std::string& default_issuer);
  // A validate_logout result as the logout it asks for, arrived at `now_s`, dated by logout_time()
  // (session_registry.hpp); throws std::invalid_argument (also when it names neither a subject
  // nor a session, or is "replayed" without "issued_at": dated at its second arrival, it would
  // reach tokens issued after the first).
  static Logout logout_from_result(std::string_view result, const std::string& default_issuer, std::int64_t now_s,
                                   std::int64_t clock_skew_s);

  const AuthOptions& options() const { return options_; }
  IdentityProvider* identity() const { return identity_.get(); }
  SessionRegistry& sessions() const { return *sessions_; }

  // Adds the WWW-Authenticate challenges, Bearer and DPoP, to a 401; `error` (with its
  // description and further auth-params, e.g. RFC 9470's acr_values) goes on the scheme the
  // client used (`dpop`). Also for step-up, which answers 401 from elsewhere.
  void challenge(HttpResponse& response, bool dpop, std::string_view error = {}, std::string_view description = {},
                 std::string_view extra_params = {}) const;

 private:
  std::shared_ptr<IdentityProvider> identity_;
  std::shared_ptr<SessionRegistry> sessions_;
  AuthOptions options_;
  std::shared_ptr<TokenCache> cache_;
};

}  // namespace branchline::api
