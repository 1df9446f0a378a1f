// authenticator: see authenticator.hpp.
#include "api/authenticator.hpp"

#include "common/log.hpp"
#include "common/unix_time.hpp"
#include "common/sha256.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace json = boost::json;

namespace branchline::api {
namespace {

constexpr std::size_t kMaxResultBytes = 64 * 1024;
constexpr std::size_t kMaxRoles = 256;
// The algorithms a DPoP proof may use: those the JOSE toolkit of the bundled plugins verifies.
constexpr const char* kDpopAlgs = "ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA";

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// RFC 7235 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_token68(std::string_view t) {
  std::size_t i = 0;
  while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || std::string_view("-._~+/").find(t[i]) != std::string_view::npos))
    ++i;
  if (i == 0) return false;
  while (i < t.size() && t[i] == '=') ++i;
  return i == t.size();
}

// Text that can stand inside a quoted-string of a header: printable ASCII without '"' and '\'.
std::string header_safe(std::string_view text, std::size_t max = 160) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max) break;
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : ' ';
  }
  return out;
}

// No control characters: the value ends up in logs, audit entries and policy entity ids.
std::string checked_text(const json::value& v, std::string_view name, std::size_t max, bool required) {
  if (!v.is_string()) throw std::invalid_argument("'" + std::string(name) + "' is not a string");
  const json::string& s = v.as_string();
  if (s.size() > max) throw std::invalid_argument("'" + std::string(name) + "' is longer than " + std::to_string(max));
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) throw std::invalid_argument("'" + std::string(name) + "' holds a control character");
  if (required && s.empty()) throw std::invalid_argument("'" + std::string(name) + "' is empty");
  return std::string(s);
}

std::string checked_text(const json::object& o, std::string_view name, std::size_t max, bool required) {
  auto it = o.find(name);
  if (it == o.end() || it->value().is_null()) {
    if (required) throw std::invalid_argument("'" + std::string(name) + "' is missing");
    return {};
  }
  return checked_text(it->value(), name, max, required);
}

std::optional<std::int64_t> checked_time(const json::object& o, std::string_view name, bool required) {
  auto it = o.find(name);
  if (it == o.end() || it->value().is_null()) {
    if (required) throw std::invalid_argument("'" + std::string(name) + "' is missing");
    return std::nullopt;
  }
  const json::value& v = it->value();
  // Whole seconds within 1970..9999, as the plugins' numeric_date gives them.
  if (v.is_int64() && v.as_int64() >= 0 && v.as_int64() <= 253402300799) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= 253402300799u) return static_cast<std::int64_t>(v.as_uint64());
  throw std::invalid_argument("'" + std::string(name) + "' is not a time in whole seconds");
}

std::vector<std::string> checked_strings(const json::object& o, std::string_view name) {
  std::vector<std::string> out;
  auto it = o.find(name);
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_array() || it->value().as_array().size() > kMaxRoles)
    throw std::invalid_argument("'" + std::string(name) + "' is not a list of at most " + std::to_string(kMaxRoles) + " strings");
  for (const auto& item : it->value().as_array()) out.push_back(checked_text(item, name, 256, true));
  return out;
}

// A plugin's result: a JSON object of bounded size.
json::value parse_result(std::string_view result) {
  if (result.size() > kMaxResultBytes) throw std::invalid_argument("the result is larger than 64 KiB");
  boost::system::error_code ec;
  json::value v = json::parse(result, ec);
  if (ec || !v.is_object()) throw std::invalid_argument("the result is not a JSON object");
  return v;
}

// The result's issuer, or the plugin's default one. "<issuer>|<subject>" must name one pair only.
std::string issuer_of(const json::object& result, const std::string& default_issuer) {
  std::string issuer = checked_text(result, "issuer", 2048, false);
  if (issuer.empty()) issuer = default_issuer;
  if (issuer.find('|') != std::string::npos) throw std::invalid_argument("'issuer' holds a '|'");
  return issuer;
}

// The URL the client called, as a DPoP proof's htu names it: scheme, authority and path.
std::string request_url(const HttpRequest& request, const AuthOptions& options) {
  if (!options.public_url.empty()) return options.public_url + request.path;
  std::string_view host = request.header("host");
  if (host.empty() || host.size() > 255) return {};
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view(".-:[]").find(c) != std::string_view::npos))
      return {};
  return "https://" + std::string(host) + request.path;
}

void add_challenges(HttpResponse& response, const std::string& realm, bool dpop, std::string_view error,
                    std::string_view description, std::string_view extra) {
  auto params = [&](bool used) {
    std::string p = "realm=\"" + realm + "\"";
    if (used && !error.empty()) {
      p += ", error=\"" + std::string(error) + "\"";
      if (!description.empty()) p += ", error_description=\"" + header_safe(description) + "\"";
      if (!extra.empty()) p += ", " + std::string(extra);
    }
    return p;
  };
  response.headers.emplace_back("WWW-Authenticate", "Bearer " + params(!dpop));
  response.headers.emplace_back("WWW-Authenticate", "DPoP " + params(dpop) + ", algs=\"" + kDpopAlgs + "\"");
}

}  // namespace

std::string Principal::claim(std::string_view name) const {
  auto it = claims.find(name);
  return it != claims.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}

Authenticator::Authenticator(std::shared_ptr<IdentityProvider> identity, std::shared_ptr<SessionRegistry> sessions,
                             AuthOptions options)
    : identity_(std::move(identity)),
      sessions_(std::move(sessions)),
      options_(std::move(options)),
      cache_(std::make_shared<TokenCache>(options_.token_cache_ttl, options_.token_cache_entries)) {}

void Authenticator::challenge(HttpResponse& response, bool dpop, std::string_view error, std::string_view description,
                              std::string_view extra_params) const {
  add_challenges(response, options_.realm, dpop, error, description, extra_params);
}

Principal Authenticator::principal_from_result(std::string_view result, const std::string& default_issuer) {
  const json::value v = parse_result(result);
  const json::object& o = v.as_object();
  Principal p;
  p.issuer = issuer_of(o, default_issuer);
  p.subject = checked_text(o, "subject", 1024, true);
  p.session_id = checked_text(o, "session_id", 1024, false);
  p.roles = checked_strings(o, "roles");
  p.acr = checked_text(o, "acr", 1024, false);
  p.amr = checked_strings(o, "amr");
  p.expires_at = *checked_time(o, "expires_at", true);
  p.issued_at = checked_time(o, "issued_at", false);
  p.auth_time = checked_time(o, "auth_time", false);
  p.client_id = checked_text(o, "client_id", 1024, false);
  p.token_id = checked_text(o, "token_id", 1024, false);
  if (auto it = o.find("confirmation"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) throw std::invalid_argument("'confirmation' is not an object");
    p.dpop_jkt = checked_text(it->value().as_object(), "jkt", 128, true);
  }
  if (auto it = o.find("claims"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) throw std::invalid_argument("'claims' is not an object");
    p.claims = it->value().as_object();
  }
  return p;
}

Logout Authenticator::logout_from_result(std::string_view result, const std::string& default_issuer, std::int64_t now_s,
                                         std::int64_t clock_skew_s) {
  const json::value v = parse_result(result);
  const json::object& o = v.as_object();
  Logout logout;
  logout.issuer = issuer_of(o, default_issuer);
  if (std::string subject = checked_text(o, "subject", 1024, false); !subject.empty()) logout.subject = subject;
  if (std::string sid = checked_text(o, "session_id", 1024, false); !sid.empty()) logout.session_id = sid;
  if (!logout.subject && !logout.session_id) throw std::invalid_argument("the result names neither a subject nor a session");
  std::optional<std::int64_t> issued_at;
  if (auto it = o.find("issued_at"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_int64() || it->value().as_int64() < 0) throw std::invalid_argument("'issued_at' is not a time");
    issued_at = it->value().as_int64();
  }
  logout.at = logout_time(issued_at, now_s, clock_skew_s);
  if (auto it = o.find("replayed"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_bool()) throw std::invalid_argument("'replayed' is not a boolean");
    logout.replayed = it->value().as_bool();
  }
  if (logout.replayed && !issued_at) throw std::invalid_argument("a replayed logout names no time of its own (issued_at)");
  return logout;
}

namespace {

// What the host refuses of a token the plugin accepted, whatever the plugin said ("" when
// nothing): on every request, cached or not.
std::string host_refusal(const Principal& principal, bool dpop, const AuthOptions& options, SessionRegistry& sessions,
                         std::int64_t now) {
  if (!principal.dpop_jkt.empty() && !dpop) return "a token bound to a key was presented as a bearer token";
  if (principal.dpop_jkt.empty() && dpop) return "the DPoP proof was not checked by the identity plugin";
  if (principal.expires_at + options.clock_skew_s < now) return "the token has expired";
  if (principal.expires_at - now > options.max_token_lifetime.count() + options.clock_skew_s)
    return "the token stays valid longer than the API accepts (api.auth.max_token_lifetime_s)";
  if (sessions.logged_out({principal.issuer, principal.subject, principal.session_id}, principal.issued_at))
    return "the session was ended by logout";
  return {};
}

}  // namespace

void Authenticator::authenticate(const HttpRequest& request, std::function<void(AuthResult)> done) const {
  auto refuse = [realm = options_.realm](int status, std::string reason, bool dpop, std::string_view error,
                         std::string_view token = {}) {
    AuthResult r;
    r.reason = std::move(reason);
    // Only a refusal needs the fingerprint (a bearer token is hashed once more for the token cache's key).
    if (!token.empty()) r.token_fingerprint = sha256_hex(token).substr(0, 16);
    r.refusal = HttpResponse::problem(status, status == 401 || status == 400 || status == 429 ? r.reason : std::string_view());
    if (status == 401) add_challenges(r.refusal, realm, dpop, error, r.reason, {});
    // A DPoP challenge always lists the algorithms a proof may use (RFC 9449 7.1), so that a
    // client that sent a malformed one knows what to sign with.
    if (status == 400 && !error.empty())
      r.refusal.headers.emplace_back("WWW-Authenticate",
                                     std::string(dpop ? "DPoP" : "Bearer") + " realm=\"" + realm + "\", error=\"" +
                                         std::string(error) + "\"" +
                                         (dpop ? std::string(", algs=\"") + kDpopAlgs + "\"" : std::string()));
    if (status == 503) r.refusal.set("Retry-After", "5");
    if (status == 429) r.refusal.set("Retry-After", "1");  // unless the plugin says when (below)
    return r;
  };

  std::vector<std::string_view> authorization, proofs;
  for (const auto& [name, value] : request.headers) {
    if (name == "authorization") authorization.push_back(value);
    else if (name == "dpop") proofs.push_back(value);
  }
  if (authorization.empty()) return done(refuse(401, "no access token", false, {}));
  if (authorization.size() > 1) return done(refuse(400, "more than one Authorization header", false, "invalid_request"));
  std::string_view header = authorization.front();
  std::size_t space = header.find(' ');
  std::string_view scheme = header.substr(0, space);
  std::string_view token = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  bool dpop = iequal(scheme, "DPoP");
  if (!dpop && !iequal(scheme, "Bearer")) return done(refuse(401, "the authentication scheme is not Bearer or DPoP", false, {}));
  if (token.size() > options_.max_token_bytes)
    return done(refuse(401, "the token is larger than " + std::to_string(options_.max_token_bytes) + " bytes", dpop,
                       "invalid_token", token));
  if (!is_token68(token)) return done(refuse(400, "the token is not in token68 syntax", dpop, "invalid_request", token));
  if (dpop && proofs.size() != 1)
    return done(refuse(400, proofs.empty() ? "a DPoP token needs a DPoP proof header" : "more than one DPoP proof header",
                       true, "invalid_request", token));
  if (!identity_) return done(refuse(503, "no identity plugin is configured for the API", dpop, {}, token));

  // A bearer token checked moments ago is not checked again (token_cache.hpp); the host's own
  // checks below still run.
  std::string cache_key;
  if (!dpop && cache_->enabled()) {
    cache_key = TokenCache::key_of(token);
    std::int64_t now = unix_seconds();
    if (auto cached = cache_->find(cache_key, now)) {
      if (std::string why = host_refusal(*cached, dpop, options_, *sessions_, now); !why.empty())
        return done(refuse(401, std::move(why), dpop, "invalid_token", token));
      AuthResult r;
      r.principal = std::move(cached);
      return done(std::move(r));
    }
  }

  json::object body{{"token", token}, {"scheme", dpop ? "DPoP" : "Bearer"}};
  if (dpop)
    body["dpop"] = json::object{{"proof", proofs.front()}, {"method", request.method}, {"url", request_url(request, options_)}};
  identity_->validate_token(
      json::serialize(body),
      [done = std::move(done), refuse, dpop, token = std::string(token), sessions = sessions_, options = options_,
       cache = cache_, cache_key = std::move(cache_key),
       default_issuer = identity_->default_issuer()](bl_status status, std::string text, PluginErrorDocument error) mutable {
        if (status == BL_UNAUTHENTICATED || status == BL_INVALID_ARGUMENT || status == BL_PERMISSION_DENIED) {
          // RFC 9449 7.1: a proof at fault (as the plugin says) is not a bad token.
          std::string_view challenge = dpop && status == BL_UNAUTHENTICATED && error.code == "invalid_dpop_proof"
                                           ? "invalid_dpop_proof"
                                           : "invalid_token";
          return done(refuse(401, text.empty() ? "the token was refused" : text, dpop, challenge, token));
        }
        // Over a quota of the plugin's (a user's DPoP proofs in the replay window): the client slows down.
        // Retry-After: when the plugin says (its error document's retry_after_s), else 1.
        if (status == BL_RESOURCE_EXHAUSTED) {
          AuthResult r = refuse(429, text.empty() ? "too many requests for this token" : text, dpop, {}, token);
          if (error.retry_after_s > 0) r.refusal.set("Retry-After", std::to_string(error.retry_after_s));
          return done(std::move(r));
        }
        if (status != BL_OK)
          return done(refuse(503, "the identity provider could not check the token: " + text, dpop, {}, token));
        auto principal = std::make_shared<Principal>();
        try {
          *principal = principal_from_result(text, default_issuer);
        } catch (const std::invalid_argument& e) {
          log::error("api", std::string("the identity plugin returned a malformed result: ") + e.what());
          AuthResult r;
          r.reason = std::string("malformed identity result: ") + e.what();
          r.token_fingerprint = sha256_hex(token).substr(0, 16);
          r.refusal = HttpResponse::problem(500);
          return done(std::move(r));
        }
        std::int64_t now = unix_seconds();
        if (std::string why = host_refusal(*principal, dpop, options, *sessions, now); !why.empty())
          return done(refuse(401, std::move(why), dpop, "invalid_token", token));
        if (!cache_key.empty()) cache->insert(std::move(cache_key), principal, now);
        AuthResult r;
        r.principal = std::move(principal);
        done(std::move(r));
      });
}

}  // namespace branchline::api
