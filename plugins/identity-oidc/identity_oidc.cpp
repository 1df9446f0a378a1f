// identity-oidc: federation with the bank's OpenID Connect providers (Okta, Entra ID, Keycloak,
// Ping, ...). It validates the JWT access tokens they issue and their back-channel logout tokens.
// Several issuers at once: a workforce IdP for advisors and a customer IdP, each with its own
// audiences, algorithms and keys; the principal is the pair (issuer, subject).
//
// The checks, each stopping a known attack (shared/design/notes/identity.md):
//  - size cap, strict compact JWS; the issuer is chosen by the token's exact "iss" among the
//    configured ones (never switched off, no trailing-slash tolerance);
//  - the algorithm is taken from that issuer's allow-list, asymmetric only ("none" and HS* cannot
//    be configured at all); the key is chosen by "kid" and must fit the algorithm (jose.hpp);
//  - "typ" at+jwt for access tokens (RFC 9068), logout+jwt for logout tokens;
//  - "aud" holds a configured audience, "azp"/"client_id" when present is a configured client;
//    "exp" required, "nbf"/"iat" with a bounded clock skew; dates clamped (jose::numeric_date);
//  - DPoP (RFC 9449): a token with cnf.jkt must come with the DPoP scheme and a proof of that key
//    for this method and URL, fresh, never seen before, hashing this token ("ath"); a bound token
//    presented as a plain bearer token is refused;
//  - logout tokens: "events" holds the back-channel-logout event, no "nonce", "sid" or "sub",
//    "jti" never seen before (kept until the token could no longer pass the "iat" window), but
//    for the same logout again (same iat, sid and sub: a provider's retry), which passes marked
//    "replayed"; another logout under a used jti is refused.
//
// Keys: discovery (issuer + /.well-known/openid-configuration, whose "issuer" must be the
// configured one), then the JWKS, through the host's outbound HTTP (its TLS policy and
// allow-list). Cached for jwks_cache_s and refreshed in the background when stale; a token whose
// kid is unknown triggers one refetch, at most once per jwks_refetch_interval_s per issuer; while
// throttled such tokens are refused (fail closed), so random kids cannot hammer the IdP. Tokens
// that arrive while a fetch is running wait for it. Weak or unusable keys in a JWKS are skipped
// and logged; each change of an issuer's key set is audited (identity.keys.updated).
#include "../common/ids.hpp"
#include "../common/jose.hpp"
#include "../common/json.hpp"
#include "../common/worker.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

namespace {

using namespace branchline;
using namespace branchline::plugins;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxJwksBytes = 512 * 1024;
constexpr std::size_t kMaxWaiters = 4096;           // tokens waiting for one issuer's key fetch
constexpr std::size_t kMaxReplayEntries = 200000;   // DPoP proof and logout token ids remembered
constexpr std::size_t kMaxProofBytes = 8 * 1024;
constexpr const char* kBackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

[[noreturn]] void refuse(const std::string& why) { throw sdk::Error(BL_UNAUTHENTICATED, why); }
// A DPoP proof at fault, not its token (RFC 9449 4.3's checks): the host answers the client
// invalid_dpop_proof (7.1), and it may try again with a new proof.
[[noreturn]] void refuse_proof(const std::string& why) {
  throw sdk::Error(BL_UNAUTHENTICATED, why, R"({"error":"invalid_dpop_proof"})");
}

std::string short_string(const json::object& o, std::string_view name, std::size_t max = 255) {
  auto it = o.find(name);
  if (it == o.end()) return {};
  if (!it->value().is_string() || it->value().as_string().size() > max)
    refuse("claim \"" + std::string(name) + "\" is not a string of at most " + std::to_string(max) + " bytes");
  return std::string(it->value().as_string());
}

std::int64_t date(const json::object& claims, std::string_view name, bool required) {
  try {
    auto d = jose::numeric_date(claims, name);
    if (!d && required) refuse("claim \"" + std::string(name) + "\" is required");
    return d.value_or(-1);
  } catch (const jose::JoseError& e) {
    refuse(e.what());
  }
}

// "aud" is a string or an array of strings; true when one of them is in `accepted`.
bool audience_matches(const json::object& claims, const std::vector<std::string>& accepted) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  auto ok = [&](const json::value& v) {
    return v.is_string() && std::find(accepted.begin(), accepted.end(), v.as_string()) != accepted.end();
  };
  if (it->value().is_array()) {
    const auto& a = it->value().as_array();
    return a.size() <= 32 && std::any_of(a.begin(), a.end(), ok);
  }
  return ok(it->value());
}

// The URL without query and fragment (DPoP's htu comparison, RFC 9449 4.3).
std::string without_query(std::string_view url) { return std::string(url.substr(0, url.find_first_of("?#"))); }

// A bounded "seen once" set of ids with expiry: DPoP proof jtis and logout token jtis.
class ReplayCache {
 public:
  enum class Seen { first, again, reused };
  // first when `id` was not seen (it is now remembered until `expires`, with `what`); again when
  // it was, with the same `what` (the same thing sent twice); reused when with another `what`.
  // Throws BL_UNAVAILABLE when full of unexpired ids: refusing beats forgetting. With an `owner`
  // (a DPoP user), throws BL_RESOURCE_EXHAUSTED when that owner already holds `owner_limit`
  // unexpired ids: one user cannot fill the cache and lock every other user out.
  Seen see(const std::string& id, const std::string& what, std::int64_t expires, std::int64_t now,
           const std::string& owner = {}, std::size_t owner_limit = 0) {
    std::lock_guard lock(mutex_);
    while (!order_.empty() && order_.front().first < now) {
      auto it = seen_.find(order_.front().second);
      if (it != seen_.end() && it->second.expires == order_.front().first) {
        if (!it->second.owner.empty()) release(it->second.owner);
        seen_.erase(it);
      }
      order_.pop_front();
    }
    if (auto it = seen_.find(id); it != seen_.end()) return it->second.what == what ? Seen::again : Seen::reused;
    if (seen_.size() >= kMaxReplayEntries) throw sdk::Error(BL_UNAVAILABLE, "replay cache full");
    if (!owner.empty() && owner_limit > 0) {
      auto held = per_owner_.find(owner);
      if (held != per_owner_.end() && held->second.size() >= owner_limit) {
        // Their oldest id leaves first (expiries only grow): then one more may pass.
        std::int64_t wait = std::clamp<std::int64_t>(held->second.front() - now + 1, 1, 86400);
        throw sdk::Error(BL_RESOURCE_EXHAUSTED, "too many DPoP proofs by one user in the proof window; slow down",
                         json::serialize(json::object{{"error", "dpop_proof_quota"}, {"retry_after_s", wait}}));
      }
    }
    // The queue stays in expiry order: an id that would expire before the last one queued is
    // kept as long as that one (a little longer than asked), and both places hold that expiry,
    // so the sweep above always finds and erases it.
    std::int64_t kept_until = order_.empty() ? expires : std::max(expires, order_.back().first);
    seen_.emplace(id, Entry{kept_until, what, owner});
    order_.emplace_back(kept_until, id);
    if (!owner.empty()) per_owner_[owner].push_back(kept_until);
    return Seen::first;
  }
  // True when `id` was not seen (and is now remembered until `expires`); false for a replay.
  bool first_use(const std::string& id, std::int64_t expires, std::int64_t now, const std::string& owner = {},
                 std::size_t owner_limit = 0) {
    return see(id, {}, expires, now, owner, owner_limit) == Seen::first;
  }

 private:
  struct Entry {
    std::int64_t expires;
    std::string what;
    std::string owner;  // "" when not counted
  };
  // The sweep erases ids in expiry order, so an owner's oldest is the one to go.
  void release(const std::string& owner) {
    auto it = per_owner_.find(owner);
    if (it == per_owner_.end()) return;
    it->second.pop_front();
    if (it->second.empty()) per_owner_.erase(it);
  }

  std::mutex mutex_;
  std::unordered_map<std::string, Entry> seen_;
  std::deque<std::pair<std::int64_t, std::string>> order_;  // expiry, id
  std::unordered_map<std::string, std::deque<std::int64_t>> per_owner_;  // owner: their unexpired ids' expiries, oldest first
};

struct IssuerConfig {
  std::string issuer;
  std::string discovery_url;  // "" when jwks_uri is configured
  std::string jwks_uri;
  std::vector<std::string> audiences;
  std::vector<std::string> client_ids;
  std::vector<jose::Alg> algorithms;
  std::vector<std::string> access_token_types;
  std::vector<std::string> roles_claim;  // a path: "realm_access.roles" -> {"realm_access","roles"}
  std::vector<std::string> claims;       // passed to the host in the result's "claims"
  std::int64_t clock_skew_s = 60;
  std::int64_t logout_max_age_s = 300;
  std::int64_t dpop_max_age_s = 60;
  std::size_t dpop_proofs_per_user = 4096;  // unexpired proof ids one user (iss, sub) may hold in the replay cache
  std::chrono::seconds jwks_cache{600};
  std::chrono::seconds jwks_refetch_interval{60};
  std::size_t max_token_bytes = 8192;
  bool https_only = false;  // production: discovered URLs too
};

// One issuer's keys and their fetching. Shared with in-flight HTTP callbacks (weakly).
struct Issuer {
  IssuerConfig config;
  // Called once the key for a token is known: the key, or null with why and the status to fail with.
  using Continuation = std::function<void(const jose::Jwk*, bl_status, const std::string&)>;
  struct Waiter {
    std::string kid;
    jose::Alg alg;
    Continuation next;
  };

  std::mutex mutex;
  std::shared_ptr<const std::vector<jose::Jwk>> keys;  // null until the first successful fetch
  Clock::time_point fetched_at{}, last_attempt{}, last_kid_refetch{};
  bool fetching = false;
  bool attempted = false;      // a fetch was ever started
  bool kid_refetched = false;  // a fetch was ever started for an unknown kid
  std::string last_error;
  std::vector<Waiter> waiters;
};

// The key of `keys` for (kid, alg): by kid, or the only fitting key when the token names none.
const jose::Jwk* find_key(const std::vector<jose::Jwk>& keys, const std::string& kid, jose::Alg alg,
                          std::string* why) {
  if (kid.empty()) {
    const jose::Jwk* only = nullptr;
    for (const auto& k : keys) {
      if (!k.fits(alg)) continue;
      if (only) {
        *why = "the token names no key (kid) and the issuer has several";
        return nullptr;
      }
      only = &k;
    }
    if (!only) *why = "no key of the issuer fits " + std::string(jose::alg_name(alg));
    return only;
  }
  for (const auto& k : keys) {
    if (k.kid != kid) continue;
    if (k.fits(alg)) return &k;
    *why = "key \"" + kid + "\" does not fit " + std::string(jose::alg_name(alg));
    return nullptr;
  }
  *why = "unknown key id";
  return nullptr;
}

class IdentityOidc final : public sdk::IdentityPlugin {
 public:
  explicit IdentityOidc(const sdk::CreateContext& ctx) : IdentityPlugin(ctx) {
    json::object settings = parse_object(ctx.settings);
    for (const auto& entry : settings.at("issuers").as_array()) {
      auto issuer = std::make_shared<Issuer>();
      issuer->config = read_issuer(entry.as_object(), ctx.environment);
      if (!issuers_.emplace(issuer->config.issuer, issuer).second)
        throw sdk::Error(BL_INVALID_ARGUMENT, "issuer '" + issuer->config.issuer + "' is configured twice");
      // Before the issuer is known, a token may be as large as the most generous issuer allows.
      max_token_bytes_ = std::max(max_token_bytes_, issuer->config.max_token_bytes);
    }
    // Fetch every issuer's keys now, so the first token does not wait for them.
    for (auto& [name, issuer] : issuers_) {
      {
        std::lock_guard lock(issuer->mutex);
        mark_fetching(*issuer);
      }
      begin_fetch(issuer);
    }
    host().log(BL_LOG_INFO, "identity-oidc ready: " + std::to_string(issuers_.size()) + " issuer(s)");
  }

  ~IdentityOidc() override {
    // HTTP callbacks hold weak references, and the host answers or cancels every outstanding
    // request before it destroys an instance (abi.h), so none runs after this. Waiters hold their
    // issuer (a cycle): drop them, which completes each Call (BL_INTERNAL) unless already answered.
    alive_.reset();
    for (auto& [name, issuer] : issuers_) {
      std::vector<Issuer::Waiter> waiters;
      {
        std::lock_guard lock(issuer->mutex);
        waiters.swap(issuer->waiters);
      }
    }
  }

  void validate_token(sdk::Call call) override {
    json::object body = parse_object(call.body());
    auto token = std::make_shared<std::string>(required_string(body, "token", 65536));
    std::string scheme = optional_string(body, "scheme", 16);
    if (scheme.empty()) scheme = "Bearer";
    if (scheme != "Bearer" && scheme != "DPoP") throw sdk::Error(BL_INVALID_ARGUMENT, "scheme must be Bearer or DPoP");
    json::object dpop;
    if (auto it = body.find("dpop"); it != body.end() && it->value().is_object()) dpop = it->value().as_object();

    auto [issuer, jws] = open(*token);
    const IssuerConfig& config = issuer->config;
    const std::string& typ = jws->typ;
    if (std::none_of(config.access_token_types.begin(), config.access_token_types.end(),
                     [&](const std::string& t) { return equal_ignoring_case(t, typ); }))
      refuse("not an access token (typ \"" + typ.substr(0, 32) + "\")");
    jose::Alg alg = allowed_alg(config, jws->alg);

    with_key(issuer, jws->kid, alg,
             [this, call, issuer, jws, alg, token, scheme, dpop](const jose::Jwk* key, bl_status status,
                                                                 const std::string& why) mutable {
               answer(call, [&] {
                 if (!key) throw sdk::Error(status, why);
                 if (!jose::verify(*jws, alg, *key)) refuse("bad signature");
                 return access_result(issuer->config, jws->payload, *token, scheme, dpop);
               });
             });
  }

  void validate_logout(sdk::Call call) override {
    json::object body = parse_object(call.body());
    std::string token = required_string(body, "logout_token", 65536);
    auto [issuer, jws] = open(token);
    if (!equal_ignoring_case(jws->typ, "logout+jwt") && !equal_ignoring_case(jws->typ, "application/logout+jwt"))
      refuse("not a logout token (typ \"" + jws->typ.substr(0, 32) + "\")");
    jose::Alg alg = allowed_alg(issuer->config, jws->alg);
    with_key(issuer, jws->kid, alg,
             [this, call, issuer, jws, alg](const jose::Jwk* key, bl_status status, const std::string& why) mutable {
               answer(call, [&] {
                 if (!key) throw sdk::Error(status, why);
                 if (!jose::verify(*jws, alg, *key)) refuse("bad signature");
                 return logout_result(issuer->config, jws->payload);
               });
             });
  }

 private:
  static bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  }

  IssuerConfig read_issuer(const json::object& o, std::string_view environment) {
    IssuerConfig c;
    c.issuer = required_string(o, "issuer", 512);
    c.jwks_uri = optional_string(o, "jwks_uri", 2048);
    c.discovery_url = optional_string(o, "discovery_url", 2048);
    if (c.jwks_uri.empty() && c.discovery_url.empty()) {
      std::string base = c.issuer;
      if (!base.empty() && base.back() == '/') base.pop_back();
      c.discovery_url = base + "/.well-known/openid-configuration";
    }
    if (!c.jwks_uri.empty()) c.discovery_url.clear();
    c.https_only = environment == "production";
    if (c.https_only) {
      for (const std::string* url : {&c.issuer, &c.jwks_uri, &c.discovery_url})
        if (!url->empty() && url->rfind("https://", 0) != 0)
          throw sdk::Error(BL_FAILED_PRECONDITION, "issuer '" + c.issuer + "': " + *url +
                                                       " is not https (production fetches keys over TLS only)");
    }
    c.audiences = string_list(o, "audiences", 64);
    c.client_ids = string_list(o, "client_ids", 64);
    if (c.audiences.empty()) throw sdk::Error(BL_INVALID_ARGUMENT, "issuer '" + c.issuer + "': audiences is required");
    for (const auto& name : string_list(o, "algorithms", 64)) {
      auto alg = jose::alg_from_name(name);
      if (!alg) throw sdk::Error(BL_INVALID_ARGUMENT, "issuer '" + c.issuer + "': algorithm " + name + " is not allowed");
      c.algorithms.push_back(*alg);
    }
    if (c.algorithms.empty()) c.algorithms = jose::all_algs();
    c.access_token_types = string_list(o, "access_token_types", 64);
    if (c.access_token_types.empty()) c.access_token_types = {"at+jwt", "application/at+jwt"};
    std::string roles = optional_string(o, "roles_claim", 128);
    if (roles.empty()) roles = "roles";
    for (std::size_t start = 0;;) {
      std::size_t dot = roles.find('.', start);
      c.roles_claim.push_back(roles.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    c.claims = string_list(o, "claims", 64);
    c.clock_skew_s = optional_integer(o, "clock_skew_s", 60, 0, 300);
    c.logout_max_age_s = optional_integer(o, "logout_token_max_age_s", 300, 10, 3600);
    c.dpop_max_age_s = optional_integer(o, "dpop_proof_max_age_s", 60, 5, 600);
    c.dpop_proofs_per_user = static_cast<std::size_t>(optional_integer(o, "dpop_proofs_per_user", 4096, 16, 20000));
    c.jwks_cache = std::chrono::seconds(optional_integer(o, "jwks_cache_s", 600, 10, 86400));
    c.jwks_refetch_interval = std::chrono::seconds(optional_integer(o, "jwks_refetch_interval_s", 60, 1, 3600));
    c.max_token_bytes = static_cast<std::size_t>(optional_integer(o, "max_token_bytes", 8192, 1024, 65536));
    return c;
  }

  // Parses a token far enough to pick its issuer; refuses what no issuer could accept.
  std::pair<std::shared_ptr<Issuer>, std::shared_ptr<jose::Jws>> open(const std::string& token) {
    auto jws = std::make_shared<jose::Jws>();
    try {
      *jws = jose::parse_jws(token, max_token_bytes_);
    } catch (const jose::JoseError& e) {
      refuse(e.what());
    }
    std::string iss = short_string(jws->payload, "iss", 512);
    auto it = issuers_.find(iss);
    if (iss.empty() || it == issuers_.end()) refuse("unknown issuer");
    if (token.size() > it->second->config.max_token_bytes) refuse("token too large for its issuer");
    return {it->second, jws};
  }

  static jose::Alg allowed_alg(const IssuerConfig& config, const std::string& name) {
    auto alg = jose::alg_from_name(name);
    if (!alg || std::find(config.algorithms.begin(), config.algorithms.end(), *alg) == config.algorithms.end())
      refuse("algorithm \"" + name.substr(0, 16) + "\" not allowed for this issuer");
    return *alg;
  }

  // Checks shared by access and logout tokens: the time window and the audience.
  static void check_times(const IssuerConfig& c, const json::object& claims, std::int64_t now, bool exp_required) {
    std::int64_t exp = date(claims, "exp", exp_required);
    if (exp >= 0 && now > exp + c.clock_skew_s) refuse("expired");
    std::int64_t nbf = date(claims, "nbf", false);
    if (nbf >= 0 && nbf > now + c.clock_skew_s) refuse("not valid yet (nbf)");
    std::int64_t iat = date(claims, "iat", false);
    if (iat >= 0 && iat > now + c.clock_skew_s) refuse("issued in the future (iat)");
  }

  std::string access_result(const IssuerConfig& c, const json::object& claims, const std::string& token,
                            const std::string& scheme, const json::object& dpop) {
    std::int64_t now = now_s();
    check_times(c, claims, now, /*exp_required=*/true);
    if (!audience_matches(claims, c.audiences)) refuse("wrong audience");
    // Whatever typ an operator allows ("JWT" for some IdPs), a logout token or an ID token is not
    // an access token.
    if (claims.contains("events") || claims.contains("nonce")) refuse("not an access token (a logout or ID token)");
    std::string subject = short_string(claims, "sub");
    if (subject.empty()) refuse("no subject (sub)");
    std::string client = short_string(claims, "azp");
    if (client.empty()) client = short_string(claims, "client_id");
    if (!client.empty() && !c.client_ids.empty() &&
        std::find(c.client_ids.begin(), c.client_ids.end(), client) == c.client_ids.end())
      refuse("token issued to an unknown client (azp)");

    json::object result{{"subject", subject}, {"issuer", c.issuer}, {"expires_at", date(claims, "exp", true)}};
    if (!client.empty()) result["client_id"] = client;
    if (auto sid = short_string(claims, "sid"); !sid.empty()) result["session_id"] = sid;
    if (auto jti = short_string(claims, "jti"); !jti.empty()) result["token_id"] = jti;
    if (std::int64_t iat = date(claims, "iat", false); iat >= 0) result["issued_at"] = iat;
    if (std::int64_t auth_time = date(claims, "auth_time", false); auth_time >= 0) result["auth_time"] = auth_time;
    if (auto acr = short_string(claims, "acr"); !acr.empty()) result["acr"] = acr;
    result["amr"] = string_claim_list(claims, {"amr"});
    result["roles"] = string_claim_list(claims, c.roles_claim);
    json::object passed;
    for (const auto& name : c.claims) {
      auto it = claims.find(name);
      if (it == claims.end()) continue;
      // Plain values only, bounded: what a policy condition can compare.
      const json::value& v = it->value();
      if ((v.is_string() && v.as_string().size() <= 256) || v.is_bool() || v.is_int64()) passed[name] = v;
      else if (v.is_array()) passed[name] = string_claim_list(claims, {name});
    }
    result["claims"] = std::move(passed);

    std::string jkt;
    if (auto cnf = claims.find("cnf"); cnf != claims.end()) {
      if (!cnf->value().is_object()) refuse("malformed cnf claim");
      jkt = short_string(cnf->value().as_object(), "jkt", 128);
      // A confirmation we cannot check (mTLS x5t#S256, a raw jwk) is refused rather than ignored.
      if (jkt.empty()) refuse("the token is bound to a key by a method this host does not check");
    }
    if (!jkt.empty() && scheme != "DPoP") refuse("a DPoP-bound token presented as a bearer token");
    if (jkt.empty() && scheme == "DPoP") refuse("DPoP scheme with a token that is not DPoP-bound");
    if (!jkt.empty()) {
      // The proof-id quota is the user's (issuer and subject), whatever key: signing in again for
      // a new key does not get a new share.
      check_dpop_proof(c, dpop, token, jkt, c.issuer + "|" + std::string(result.at("subject").as_string()), now);
      result["confirmation"] = json::object{{"jkt", jkt}, {"method", "dpop"}};
    }
    return json::serialize(result);
  }

  // A list of strings at a claim path: an array (non-strings skipped) or a space-separated string.
  static json::array string_claim_list(const json::object& claims, const std::vector<std::string>& path) {
    const json::value* v = nullptr;
    const json::object* at = &claims;
    for (std::size_t i = 0; i < path.size(); ++i) {
      auto it = at->find(path[i]);
      if (it == at->end()) return {};
      v = &it->value();
      if (i + 1 < path.size()) {
        if (!v->is_object()) return {};
        at = &v->as_object();
      }
    }
    json::array out;
    auto add = [&](std::string_view s) {
      if (!s.empty() && s.size() <= 64 && out.size() < 64) out.push_back(json::string(s));
    };
    if (v && v->is_array()) {
      for (const auto& item : v->as_array())
        if (item.is_string()) add(item.as_string());
    } else if (v && v->is_string()) {
      std::string_view s = v->as_string();
      for (std::size_t start = 0; start <= s.size();) {
        std::size_t space = std::min(s.find(' ', start), s.size());
        add(s.substr(start, space - start));
        start = space + 1;
      }
    }
    return out;
  }

  // RFC 9449 4.3: the proof's checks, in the order that keeps the replay cache clean (a proof's
  // jti is remembered only once everything else about it holds).
  void check_dpop_proof(const IssuerConfig& c, const json::object& dpop, const std::string& token,
                        const std::string& jkt, const std::string& user, std::int64_t now) {
    std::string proof = optional_string(dpop, "proof", kMaxProofBytes);
    std::string method = optional_string(dpop, "method", 16);
    std::string url = optional_string(dpop, "url", 4096);
    if (proof.empty() || method.empty() || url.empty()) refuse_proof("DPoP proof missing");
    jose::Jws jws;
    try {
      jws = jose::parse_jws(proof, kMaxProofBytes);
    } catch (const jose::JoseError& e) {
      refuse_proof(std::string("DPoP proof: ") + e.what());
    }
    if (!equal_ignoring_case(jws.typ, "dpop+jwt")) refuse_proof("DPoP proof: typ is not dpop+jwt");
    auto alg = jose::alg_from_name(jws.alg);
    if (!alg) refuse_proof("DPoP proof: algorithm not allowed");
    auto header_jwk = jws.header.find("jwk");
    if (header_jwk == jws.header.end() || !header_jwk->value().is_object()) refuse_proof("DPoP proof: no jwk");
    jose::Jwk key;
    try {
      key = jose::parse_jwk(header_jwk->value().as_object());
    } catch (const jose::JoseError& e) {
      refuse_proof(std::string("DPoP proof: ") + e.what());
    }
    if (key.has_private) refuse_proof("DPoP proof: the jwk carries a private key");
    if (!jose::verify(jws, *alg, key)) refuse_proof("DPoP proof: bad signature");
    // The key binding is the token's: RFC 9449 7.1 answers it invalid_token, not a proof error
    // (a client holding another key's token cannot mend it with a new proof).
    if (key.thumbprint != jkt) refuse("DPoP proof: signed by a key other than the token's (cnf.jkt)");
    const json::object& p = jws.payload;
    if (short_string(p, "htm", 16) != method) refuse_proof("DPoP proof: for another method (htm)");
    if (without_query(short_string(p, "htu", 4096)) != without_query(url)) refuse_proof("DPoP proof: for another URL (htu)");
    std::int64_t iat = date(p, "iat", true);
    if (iat > now + c.clock_skew_s || iat < now - c.dpop_max_age_s - c.clock_skew_s) refuse_proof("DPoP proof: stale or future iat");
    std::string ath = short_string(p, "ath", 128);
    if (ath.empty() || ath != jose::sha256_b64url(token)) refuse_proof("DPoP proof: for another token (ath)");
    std::string jti = short_string(p, "jti", 255);
    if (jti.empty()) refuse_proof("DPoP proof: no jti");
    // Remembered while a proof of that iat could still pass: iat <= now + skew, and a proof passes
    // until its iat is dpop_max_age_s + skew old. Counted from now, not from iat, so that
    // expiries only grow and no client's future-dated iat keeps everyone's ids longer.
    if (!dpop_seen_.first_use(jkt + "|" + jti, now + c.dpop_max_age_s + 2 * c.clock_skew_s, now, user,
                              c.dpop_proofs_per_user))
      refuse_proof("DPoP proof replayed (jti)");
  }

  // OpenID Connect Back-Channel Logout 1.0, 2.6.
  std::string logout_result(const IssuerConfig& c, const json::object& claims) {
    std::int64_t now = now_s();
    check_times(c, claims, now, /*exp_required=*/true);  // required since Back-Channel Logout 1.0 final
    const std::vector<std::string>& audiences = c.client_ids.empty() ? c.audiences : c.client_ids;
    if (!audience_matches(claims, audiences)) refuse("wrong audience");
    std::int64_t iat = date(claims, "iat", true);
    if (iat < now - c.logout_max_age_s - c.clock_skew_s) refuse("logout token too old (iat)");
    auto events = claims.find("events");
    if (events == claims.end() || !events->value().is_object() ||
        !events->value().as_object().contains(kBackchannelLogoutEvent) ||
        !events->value().as_object().at(kBackchannelLogoutEvent).is_object())
      refuse("no back-channel logout event (events)");
    if (claims.contains("nonce")) refuse("a logout token must not carry a nonce");
    std::string sid = short_string(claims, "sid"), sub = short_string(claims, "sub");
    if (sid.empty() && sub.empty()) refuse("logout token names neither sid nor sub");
    std::string jti = short_string(claims, "jti");
    if (jti.empty()) refuse("logout token has no jti");
    // The same logout again (same jti, time and session: the provider's retry after a lost answer
    // or a 503) is told as a repeat, not refused, so that the host answers it 200; it reaches no
    // further than the first, being dated by the same iat. Another logout under a used jti is
    // refused.
    std::string what = json::serialize(json::array{iat, sid, sub});
    ReplayCache::Seen seen =
        logout_seen_.see(c.issuer + "|" + jti, what, iat + c.logout_max_age_s + 2 * c.clock_skew_s + 10, now);
    if (seen == ReplayCache::Seen::reused) refuse("logout token id reused by another logout (jti)");
    bool replayed = seen == ReplayCache::Seen::again;
    json::object result{{"issuer", c.issuer}, {"token_id", jti}, {"issued_at", iat}};
    if (replayed) result["replayed"] = true;
    if (!sub.empty()) result["subject"] = sub;
    if (!sid.empty()) result["session_id"] = sid;
    return json::serialize(result);
  }

  // ---- keys ----

  // Runs `next` with the issuer's key for (kid, alg): now when it is cached, else after a fetch
  // (one at a time per issuer, refetches on an unknown kid at most once per interval).
  void with_key(const std::shared_ptr<Issuer>& issuer, const std::string& kid, jose::Alg alg, Issuer::Continuation next) {
    enum class Then { answer_from_cache, wait, fail } then = Then::answer_from_cache;
    std::shared_ptr<const std::vector<jose::Jwk>> keys;
    bl_status status = BL_UNAUTHENTICATED;
    std::string why;
    bool fetch = false;
    {
      std::lock_guard lock(issuer->mutex);
      keys = issuer->keys;
      Clock::time_point now = Clock::now();
      const jose::Jwk* key = keys ? find_key(*keys, kid, alg, &why) : nullptr;
      bool unknown_kid = keys && !key && why == "unknown key id";
      if (key || (keys && !unknown_kid)) {
        // Answered from the cache; a stale cache is refreshed in the background.
        // A failing IdP is retried at most once per refetch interval, not on every token.
        fetch = !issuer->fetching && now - issuer->fetched_at >= issuer->config.jwks_cache &&
                now - issuer->last_attempt >= issuer->config.jwks_refetch_interval;
      } else if (issuer->fetching ||
                 (!keys && (!issuer->attempted || now - issuer->last_attempt >= issuer->config.jwks_refetch_interval)) ||
                 (unknown_kid && (!issuer->kid_refetched ||
                                  now - issuer->last_kid_refetch >= issuer->config.jwks_refetch_interval))) {
        // Keys never fetched (retried at most once per interval after a failure), or a kid we do
        // not know: one refetch per interval, counted apart from the scheduled refreshes so that
        // a rotation right after a refresh is still picked up.
        if (issuer->waiters.size() >= kMaxWaiters) {
          then = Then::fail, status = BL_UNAVAILABLE, why = "too many tokens waiting for the provider's keys";
        } else {
          then = Then::wait;
          issuer->waiters.push_back({kid, alg, std::move(next)});
          fetch = !issuer->fetching;
          if (fetch && unknown_kid) issuer->kid_refetched = true, issuer->last_kid_refetch = now;
        }
      } else if (!keys) {
        then = Then::fail, status = BL_UNAVAILABLE, why = "the provider's keys cannot be fetched: " + issuer->last_error;
      } else {
        // Fail closed while throttled: random kids must not turn into requests to the IdP.
        then = Then::fail, why = "unknown key id (key refresh throttled)";
      }
      if (fetch) mark_fetching(*issuer);
    }
    // Outside the lock: a fetch the host refuses at once ends (and answers waiters) on this thread.
    if (fetch) begin_fetch(issuer);
    if (then == Then::answer_from_cache) next(find_key(*keys, kid, alg, &why), BL_UNAUTHENTICATED, why);
    else if (then == Then::fail) next(nullptr, status, why);
  }

  static void mark_fetching(Issuer& issuer) {  // with issuer.mutex held
    issuer.fetching = true;
    issuer.attempted = true;
    issuer.last_attempt = Clock::now();
  }

  // Discovery (when configured), then the JWKS. Called without issuer->mutex, after mark_fetching.
  void begin_fetch(const std::shared_ptr<Issuer>& issuer) {
    if (issuer->config.discovery_url.empty()) return fetch_jwks(issuer, issuer->config.jwks_uri);
    get(issuer, issuer->config.discovery_url, [this](const std::shared_ptr<Issuer>& i, std::string body) {
      json::error_code ec;
      json::value doc = json::parse(body, ec);
      if (ec || !doc.is_object()) return finish_fetch(i, nullptr, "discovery document is not a JSON object");
      const json::object& d = doc.as_object();
      // OpenID Connect Discovery 4.3: the document must name exactly the issuer we asked for.
      auto issuer_member = d.find("issuer");
      if (issuer_member == d.end() || !issuer_member->value().is_string() ||
          issuer_member->value().as_string() != i->config.issuer)
        return finish_fetch(i, nullptr, "discovery document names another issuer");
      auto jwks = d.find("jwks_uri");
      if (jwks == d.end() || !jwks->value().is_string() || jwks->value().as_string().size() > 2048)
        return finish_fetch(i, nullptr, "discovery document has no jwks_uri");
      if (i->config.https_only && jwks->value().as_string().subview(0, 8) != "https://")
        return finish_fetch(i, nullptr, "discovery document names a jwks_uri that is not https");
      fetch_jwks(i, std::string(jwks->value().as_string()));
    });
  }

  void fetch_jwks(const std::shared_ptr<Issuer>& issuer, const std::string& uri) {
    get(issuer, uri, [this](const std::shared_ptr<Issuer>& i, std::string body) {
      jose::JwkSet set;
      try {
        set = jose::parse_jwks(body);
      } catch (const jose::JoseError& e) {
        return finish_fetch(i, nullptr, std::string("JWKS: ") + e.what());
      }
      for (const auto& skipped : set.skipped)
        host().log(BL_LOG_WARN, "identity-oidc: issuer " + i->config.issuer + ": key skipped: " + skipped);
      finish_fetch(i, std::make_shared<const std::vector<jose::Jwk>>(std::move(set.keys)), "", std::move(set.skipped));
    });
  }

  // GET `url`; on a 200 with a body of bounded size runs `then`, else ends the fetch with the error.
  // Never called with issuer->mutex held: a request the host refuses at once ends the fetch here.
  void get(const std::shared_ptr<Issuer>& issuer, const std::string& url,
           std::function<void(const std::shared_ptr<Issuer>&, std::string)> then) {
    std::weak_ptr<Issuer> weak = issuer;
    std::weak_ptr<bool> alive = alive_;
    bl_status status = host().http(
        "GET", url, {{"Accept", "application/json"}}, "",
        [this, weak, alive, url, then](sdk::Host::HttpResult r) {
          auto i = weak.lock();
          if (!i || alive.expired()) return;
          if (r.status != BL_OK) return finish_fetch(i, nullptr, url + ": " + r.message);
          if (r.http_status != 200) return finish_fetch(i, nullptr, url + ": HTTP " + std::to_string(r.http_status));
          if (r.body.size() > kMaxJwksBytes) return finish_fetch(i, nullptr, url + ": document too large");
          try {
            then(i, std::move(r.body));
          } catch (const std::exception& e) {  // never leave the issuer "fetching" forever
            finish_fetch(i, nullptr, url + ": " + e.what());
          }
        },
        10000);
    if (status != BL_OK)
      finish_fetch(issuer, nullptr, url + ": refused by the host (outbound HTTP policy or shutdown), status " +
                                        std::to_string(status));
  }

  void finish_fetch(const std::shared_ptr<Issuer>& issuer, std::shared_ptr<const std::vector<jose::Jwk>> keys,
                    const std::string& error, std::vector<std::string> skipped = {}) {
    std::vector<Issuer::Waiter> waiters;
    std::shared_ptr<const std::vector<jose::Jwk>> current;
    bool changed = false;
    {
      std::lock_guard lock(issuer->mutex);
      issuer->fetching = false;
      if (keys) {
        changed = !issuer->keys || fingerprint(*issuer->keys) != fingerprint(*keys);
        issuer->keys = keys;
        issuer->fetched_at = Clock::now();
        issuer->last_error.clear();
      } else {
        issuer->last_error = error;
      }
      current = issuer->keys;
      waiters.swap(issuer->waiters);
    }
    if (!keys) host().log(BL_LOG_WARN, "identity-oidc: issuer " + issuer->config.issuer + ": key fetch failed: " + error);
    if (changed) audit_keys(issuer->config.issuer, *keys, skipped);
    for (auto& w : waiters) {
      if (!current) {
        w.next(nullptr, BL_UNAVAILABLE, "the provider's keys cannot be fetched: " + error);
        continue;
      }
      std::string why;
      const jose::Jwk* key = find_key(*current, w.kid, w.alg, &why);
      w.next(key, BL_UNAUTHENTICATED, why);
    }
  }

  // What identifies a key set: every key's kid and thumbprint (new material under an old kid counts).
  static std::string fingerprint(const std::vector<jose::Jwk>& keys) {
    std::string out;
    for (const auto& k : keys) out += k.kid + '=' + k.thumbprint + ';';
    return out;
  }

  static json::array kid_list(const std::vector<jose::Jwk>& keys) {
    json::array kids;
    for (const auto& k : keys) kids.push_back(json::string(k.kid.empty() ? k.thumbprint : k.kid));
    return kids;
  }

  void audit_keys(const std::string& issuer, const std::vector<jose::Jwk>& keys, const std::vector<std::string>& skipped) {
    json::array skipped_list;
    for (const auto& s : skipped) skipped_list.push_back(json::string(s));
    json::object entry{{"action", "identity.keys.updated"},
                       {"outcome", "success"},
                       {"actor", json::object{{"principal", "plugin:identity-oidc"}}},
                       {"resource", json::object{{"type", "jwks"}, {"id", issuer}}},
                       {"kids", kid_list(keys)},
                       {"skipped", std::move(skipped_list)}};
    host().audit(json::serialize(entry));
    host().log(BL_LOG_INFO, "identity-oidc: issuer " + issuer + ": " + std::to_string(keys.size()) + " signing key(s)");
  }

  std::map<std::string, std::shared_ptr<Issuer>> issuers_;
  std::size_t max_token_bytes_ = 0;
  ReplayCache dpop_seen_, logout_seen_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

BRANCHLINE_PLUGIN(IdentityOidc)
