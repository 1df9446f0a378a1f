// identity-local: users and roles from the configuration, ES256-signed access tokens, for
// development and staging. It refuses to start when the host's environment is production: a real
// deployment federates with the bank's identity provider (identity-oidc).
//
//  - authenticate {"username","password"} checks a PBKDF2-SHA256 password hash (on the plugin's
//    worker thread; a missing user costs the same as a wrong password) and issues a JWT access
//    token: header {"alg":"ES256","typ":"at+jwt","kid"}, claims iss, sub, aud, iat, nbf, exp, jti,
//    sid, auth_time, amr ["pwd"], roles.
//  - validate_token accepts only what this instance issued: ES256 with its own key (kid), typ
//    at+jwt, its issuer and audience, not expired (60 s clock skew), bounded in size.
//  - The signing key (EC P-256) is the secret `signing_key` (PEM) when granted; otherwise one is
//    made on first start and kept in the instance's data directory (mode 0600), so tokens survive
//    a restart.
#include "../common/audit.hpp"
#include "../common/ids.hpp"
#include "../common/json.hpp"
#include "../common/worker.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

namespace {

using namespace branchline;
using namespace branchline::plugins;

constexpr std::size_t kMaxTokenBytes = 8 * 1024;
constexpr std::int64_t kClockSkewS = 60;

// ---- encodings ----

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string base64url(std::string_view data) {
  std::string out = base64(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

// Decodes standard base64 (with padding); nullopt when malformed.
std::optional<std::string> unbase64(std::string text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  while (!text.empty() && text.back() == '=') text.pop_back(), ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return std::nullopt;
  }
  while (s.size() % 4) s += '=';
  return unbase64(s);
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  return base64url(raw);
}

// ---- passwords ----

struct PasswordHash {
  int iterations = 0;
  std::string salt, key;
};

std::optional<PasswordHash> parse_hash(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, '$');) parts.push_back(part);
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") return std::nullopt;
  PasswordHash h;
  h.iterations = std::stoi(parts[1]);
  auto salt = unbase64(parts[2]);
  auto key = unbase64(parts[3]);
  if (!salt || !key || key->size() != 32 || h.iterations < 1000) return std::nullopt;
  h.salt = *salt;
  h.key = *key;
  return h;
}

bool password_matches(const PasswordHash& h, std::string_view password) {
  unsigned char derived[32];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(h.salt.data()), static_cast<int>(h.salt.size()),
                        h.iterations, EVP_sha256(), sizeof derived, derived) != 1)
    return false;
  return CRYPTO_memcmp(derived, h.key.data(), sizeof derived) == 0;
}

// ---- keys ----

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Key read_key(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) throw sdk::Error(BL_INVALID_ARGUMENT, "the signing key is not a PEM private key");
  char group[64] = {};
  std::size_t length = 0;
  if (!EVP_PKEY_is_a(key.get(), "EC") ||
      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1 ||
      std::string_view(group) != "prime256v1")
    throw sdk::Error(BL_INVALID_ARGUMENT, "the signing key must be an EC P-256 key (ES256)");
  return key;
}

std::string write_key(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// RFC 7638 JWK thumbprint of the public key: the kid.
std::string thumbprint(EVP_PKEY* key) {
  auto coordinate = [&](const char* name) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key, name, &bn);
    unsigned char bytes[32];
    BN_bn2binpad(bn, bytes, sizeof bytes);
    BN_free(bn);
    return base64url(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
  };
  std::string jwk = R"({"crv":"P-256","kty":"EC","x":")" + coordinate(OSSL_PKEY_PARAM_EC_PUB_X) + R"(","y":")" +
                    coordinate(OSSL_PKEY_PARAM_EC_PUB_Y) + R"("})";
  unsigned char digest[32];
  unsigned int n = 0;
  EVP_Digest(jwk.data(), jwk.size(), digest, &n, EVP_sha256(), nullptr);
  return base64url(std::string_view(reinterpret_cast<char*>(digest), n));
}

class IdentityLocal final : public sdk::IdentityPlugin {
 public:
  explicit IdentityLocal(const sdk::CreateContext& ctx) : IdentityPlugin(ctx), key_(nullptr, EVP_PKEY_free) {
    if (ctx.environment == "production") {
      throw sdk::Error(BL_FAILED_PRECONDITION,
                       "identity-local is a development identity provider and refuses to run when the host's "
                       "environment is production; configure identity-oidc with the bank's identity provider");
    }
    json::object settings = parse_object(ctx.settings);
    issuer_ = optional_string(settings, "issuer");
    if (issuer_.empty()) issuer_ = "urn:branchline:identity-local";
    audience_ = optional_string(settings, "audience");
    if (audience_.empty()) audience_ = "branchline";
    ttl_s_ = optional_integer(settings, "token_ttl_s", 3600, 60, 86400);
    for (const auto& u : settings.at("users").as_array()) {
      const json::object& user = u.as_object();
      User entry;
      std::string name = required_string(user, "username", 64);
      auto hash = parse_hash(required_string(user, "password_hash", 200));
      if (!hash) throw sdk::Error(BL_INVALID_ARGUMENT, "user '" + name + "': password_hash is not a PBKDF2-SHA256 hash");
      entry.hash = *hash;
      entry.roles = string_list(user, "roles", 32);
      entry.subject = optional_string(user, "subject", 128);
      if (entry.subject.empty()) entry.subject = name;
      entry.region = optional_string(user, "region", 63);
      entry.branch = optional_string(user, "branch", 63);
      if (!users_.emplace(name, std::move(entry)).second)
        throw sdk::Error(BL_INVALID_ARGUMENT, "user '" + name + "' is listed twice");
    }
    load_or_make_key(std::string(ctx.data_dir));
    // A user that does not exist costs as much as a wrong password: no username probing by timing.
    decoy_ = users_.empty() ? PasswordHash{100000, std::string(16, 's'), std::string(32, 'k')}
                            : users_.begin()->second.hash;
    host().log(BL_LOG_INFO, "identity-local ready: " + std::to_string(users_.size()) + " users, key " + kid_);
  }

  void authenticate(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      std::string username = required_string(body, "username", 64);
      std::string password = required_string(body, "password", 1024);
      auto it = users_.find(username);
      bool ok = password_matches(it == users_.end() ? decoy_ : it->second.hash, password) && it != users_.end();
      OPENSSL_cleanse(password.data(), password.size());
      // A failed sign-in is recorded with a hash of the name tried, not the name: enough to see a
      // guessing attack on one account, without writing what someone typed into the ledger.
      json::object entry = audit_entry(call, "auth.sign_in", {{"type", "user"}}, ok ? "success" : "denied");
      entry["auth"] = json::object{{"method", "password"}, {"issuer", issuer_}};
      if (ok) {
        entry["resource"].as_object()["id"] = it->second.subject;
      } else {
        entry["reason"] = "unknown user or wrong password";
        entry["resource"].as_object()["attempted_user_sha256"] = sha256_hex(issuer_ + '\n' + username);
      }
      audit(host(), entry);
      if (!ok) throw sdk::Error(BL_UNAUTHENTICATED, "unknown user or wrong password");
      std::int64_t now = now_s();
      std::int64_t exp = now + ttl_s_;
      json::array roles;
      for (const auto& r : it->second.roles) roles.push_back(json::string(r));
      json::object claims{{"iss", issuer_},  {"sub", it->second.subject}, {"aud", audience_},
                          {"iat", now},      {"nbf", now},               {"exp", exp},
                          {"jti", random_token(16)}, {"sid", random_token(12)}, {"auth_time", now},
                          {"amr", json::array{"pwd"}}, {"roles", std::move(roles)}};
      if (!it->second.region.empty()) claims["region"] = it->second.region;
      if (!it->second.branch.empty()) claims["branch"] = it->second.branch;
      std::string token = sign(claims);
      return json::serialize(json::object{{"token", token}, {"expires_at", exp}});
    });
  }

  void validate_token(sdk::Call call) override {
    json::object body = parse_object(call.body());
    std::string token = required_string(body, "token", kMaxTokenBytes);
    json::object claims = verify(token);  // throws BL_UNAUTHENTICATED
    json::value roles = claims.contains("roles") ? claims.at("roles") : json::value(json::array());
    json::object result{{"issuer", claims.at("iss")},
                        {"subject", claims.at("sub")},
                        {"roles", roles},
                        {"expires_at", claims.at("exp")},
                        {"amr", claims.contains("amr") ? claims.at("amr") : json::value(json::array())}};
    constexpr std::pair<const char*, const char*> kMembers[] = {
        {"iat", "issued_at"}, {"auth_time", "auth_time"}, {"sid", "session_id"}, {"jti", "token_id"}};
    for (auto [claim, member] : kMembers)
      if (claims.contains(claim)) result[member] = claims.at(claim);
    // A customer signs in as themself: the policies see their own customer record as theirs.
    json::object extra;
    for (const char* name : {"region", "branch"})
      if (auto* value = claims.if_contains(name); value && value->is_string()) extra[name] = *value;
    for (const auto& role : roles.as_array())
      if (role == "customer") extra["customer"] = claims.at("sub");
    result["claims"] = std::move(extra);
    call.ok(json::serialize(result));
  }

 private:
  struct User {
    PasswordHash hash;
    std::vector<std::string> roles;
    std::string subject;
    std::string region, branch;  // claims the policies decide on (empty: none)
  };

  void load_or_make_key(const std::string& data_dir) {
    std::string pem;
    try {
      pem = host().secret("signing_key");
    } catch (const sdk::Error&) {
      std::string path = data_dir + "/signing-key.pem";
      std::ifstream in(path);
      if (in) {
        std::stringstream s;
        s << in.rdbuf();
        pem = s.str();
      } else {
        Key fresh(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
        if (!fresh) throw sdk::Error(BL_INTERNAL, "cannot generate a signing key");
        pem = write_key(fresh.get());
        // Created 0600 from the start (O_EXCL, no symlink followed): never readable by others,
        // not even for a moment, and without touching the process-wide umask.
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        bool stored = fd >= 0 && ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) &&
                      ::fsync(fd) == 0;
        if (fd >= 0) ::close(fd);
        if (!stored) throw sdk::Error(BL_UNAVAILABLE, "cannot store the signing key in " + path);
        host().log(BL_LOG_INFO, "identity-local made a new signing key in " + path);
      }
    }
    key_ = read_key(pem);
    OPENSSL_cleanse(pem.data(), pem.size());
    kid_ = thumbprint(key_.get());
  }

  std::string sign(const json::object& claims) const {
    std::string input = base64url(json::serialize(json::object{{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", kid_}})) +
                        "." + base64url(json::serialize(claims));
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t der_length = 0;
    if (EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &der_length, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
      throw sdk::Error(BL_INTERNAL, "signing failed");
    std::vector<unsigned char> der(der_length);
    if (EVP_DigestSign(md.get(), der.data(), &der_length, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1)
      throw sdk::Error(BL_INTERNAL, "signing failed");
    // JWS wants r || s, 32 bytes each (RFC 7518 3.4), not DER.
    const unsigned char* p = der.data();
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_length)),
                                                              ECDSA_SIG_free);
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw + 32, 32);
    return input + "." + base64url(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  }

  [[noreturn]] static void reject(const std::string& why) { throw sdk::Error(BL_UNAUTHENTICATED, why); }

  json::object verify(const std::string& token) const {
    std::size_t first = token.find('.');
    std::size_t second = first == std::string::npos ? first : token.find('.', first + 1);
    if (second == std::string::npos || token.find('.', second + 1) != std::string::npos) reject("not a JWS compact token");
    auto header_text = unbase64url(std::string_view(token).substr(0, first));
    auto claims_text = unbase64url(std::string_view(token).substr(first + 1, second - first - 1));
    auto signature = unbase64url(std::string_view(token).substr(second + 1));
    if (!header_text || !claims_text || !signature) reject("malformed base64url");
    json::error_code ec;
    json::value header = json::parse(*header_text, ec);
    if (ec || !header.is_object()) reject("malformed header");
    const json::object& h = header.as_object();
    // The algorithm is ours to choose, never the token's: ES256 with this instance's key only.
    auto field = [&](const json::object& o, const char* name) -> std::string {
      auto it = o.find(name);
      return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
    };
    if (field(h, "alg") != "ES256") reject("algorithm not allowed");
    if (field(h, "typ") != "at+jwt") reject("not an access token (typ)");
    if (field(h, "kid") != kid_) reject("unknown key");
    if (signature->size() != 64) reject("bad signature");
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
    const auto* raw = reinterpret_cast<const unsigned char*>(signature->data());
    ECDSA_SIG_set0(sig.get(), BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int der_length = i2d_ECDSA_SIG(sig.get(), &der);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    const std::string input = token.substr(0, second);
    bool valid = der_length > 0 && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
                 EVP_DigestVerify(md.get(), der, static_cast<std::size_t>(der_length),
                                  reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    OPENSSL_free(der);
    if (!valid) reject("bad signature");

    json::value claims = json::parse(*claims_text, ec);
    if (ec || !claims.is_object()) reject("malformed claims");
    const json::object& c = claims.as_object();
    if (field(c, "iss") != issuer_) reject("wrong issuer");
    auto aud = c.find("aud");
    bool audience_ok = aud != c.end() && ((aud->value().is_string() && aud->value().as_string() == audience_) ||
                                          (aud->value().is_array() &&
                                           std::any_of(aud->value().as_array().begin(), aud->value().as_array().end(),
                                                       [&](const json::value& a) { return a.is_string() && a.as_string() == audience_; })));
    if (!audience_ok) reject("wrong audience");
    if (field(c, "sub").empty()) reject("no subject");
    auto number = [&](const char* name) -> std::optional<std::int64_t> {
      auto it = c.find(name);
      if (it == c.end() || !it->value().is_int64()) return std::nullopt;
      return it->value().as_int64();
    };
    std::int64_t now = now_s();
    auto exp = number("exp");
    if (!exp) reject("no expiry");
    if (*exp + kClockSkewS < now) reject("expired");
    if (auto nbf = number("nbf"); nbf && *nbf - kClockSkewS > now) reject("not valid yet");
    return c;
  }

  std::string issuer_, audience_;
  std::int64_t ttl_s_ = 3600;
  std::map<std::string, User> users_;
  PasswordHash decoy_;
  Key key_;
  std::string kid_;
  Worker worker_;  // declared last: destroyed first
};

}  // namespace

BRANCHLINE_PLUGIN(IdentityLocal)
