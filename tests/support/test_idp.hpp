// test_idp: an OpenID Provider's signing side for tests that need tokens the test controls (the
// attack tokens, every algorithm, rotation): keys, a JWKS document, claims and signed tokens. The
// tests serve `jwks()` and a discovery document over HTTPS with the API's own server. The real
// provider (npm oidc-provider) is tests/support/oidc_peer.hpp.
#pragma once

#include "../../plugins/common/jose.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace branchline::test {

namespace idp_json = boost::json;
using Key = std::shared_ptr<EVP_PKEY>;

inline std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline Key make_key(const char* type, const char* param = nullptr) {
  EVP_PKEY* key = std::string_view(type) == "RSA"  ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", (size_t)std::atoi(param))
                  : std::string_view(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param)
                                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  return Key(key, EVP_PKEY_free);
}

inline std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

// The key-confusion attack: a token of `payload` (base64url claims) with header alg HS256 and
// `kid`, its MAC keyed with the PEM of the RSA public key that kid names.
inline std::string hs256_keyed_with_public_pem(EVP_PKEY* rsa_public, const std::string& kid, const std::string& payload) {
  std::string input = plugins::jose::base64url_encode(R"({"alg":"HS256","typ":"at+jwt","kid":")" + kid + "\"}") + "." + payload;
  std::string pem = public_pem(rsa_public);
  unsigned char mac[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &n);
  return input + "." + plugins::jose::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), n));
}

// One identity provider: an issuer path on the test server, its signing keys and its JWKS.
struct Provider {
  std::string path;  // "/a"
  std::string issuer;
  std::map<std::string, std::pair<Key, plugins::jose::Alg>> keys;  // kid -> key
  std::vector<std::string> published;                      // kids in the JWKS, in order
  idp_json::array extra_jwks;                                  // further raw JWKs (weak keys, ...)
  std::string discovery_issuer;                            // "" : the issuer
  std::string discovery_jwks_uri;                          // "" : this server's /jwks
  std::atomic<int> discovery_fetches{0}, jwks_fetches{0};

  void add(const std::string& kid, Key key, plugins::jose::Alg alg, bool publish = true) {
    keys[kid] = {std::move(key), alg};
    if (publish) published.push_back(kid);
  }
  idp_json::object jwks() const {
    idp_json::array list;
    for (const auto& kid : published) {
      idp_json::object jwk = plugins::jose::public_jwk(keys.at(kid).first.get());
      jwk["kid"] = kid;
      jwk["use"] = "sig";
      list.push_back(jwk);
    }
    for (const auto& raw : extra_jwks) list.push_back(raw);
    return {{"keys", list}};
  }
  idp_json::object claims(const std::string& sub = "advisor-1") const {
    std::int64_t t = now();
    return {{"iss", issuer},     {"sub", sub},        {"aud", "branchline-api"}, {"azp", "advisor-console"},
            {"iat", t},          {"exp", t + 300},    {"jti", "at-" + std::to_string(t)},
            {"sid", "sid-" + sub}, {"auth_time", t - 30}, {"acr", "urn:branchline:loa:2"},
            {"amr", idp_json::array{"pwd", "otp"}}, {"roles", idp_json::array{"advisor"}}, {"region", "north"},
            {"scope", "openid roles"}};
  }
  std::string token(const idp_json::object& claims, const std::string& kid = "", const std::string& typ = "at+jwt") const {
    const std::string& use = kid.empty() ? published.front() : kid;
    const auto& [key, alg] = keys.at(use);
    idp_json::object header{{"alg", plugins::jose::alg_name(alg)}, {"typ", typ}, {"kid", use}};
    return plugins::jose::sign(header, claims, key.get(), alg);
  }
  std::string token() const { return token(claims()); }
};

// The claims of a back-channel logout token of `p` for advisor-1's session.
inline idp_json::object logout_claims(const Provider& p, const std::string& jti) {
  return {{"iss", p.issuer}, {"aud", "advisor-console"}, {"iat", now()}, {"exp", now() + 120}, {"jti", jti},
          {"sid", "sid-advisor-1"}, {"sub", "advisor-1"},
          {"events", idp_json::object{{"http://schemas.openid.net/event/backchannel-logout", idp_json::object{}}}}};
}

// A client holding a DPoP key: proofs for a request and a token (RFC 9449).
struct DpopClient {
  Key key = make_key("EC", "P-256");
  std::string jkt() const {
    return plugins::jose::sha256_b64url(idp_json::serialize(plugins::jose::public_jwk(key.get())));
  }
  std::string proof(const std::string& method, const std::string& url, const std::string& token,
                    std::int64_t iat = now(), const std::string& jti = "") const {
    static std::atomic<int> counter{0};
    idp_json::object header{{"alg", "ES256"}, {"typ", "dpop+jwt"}, {"jwk", plugins::jose::public_jwk(key.get())}};
    idp_json::object claims{{"htm", method}, {"htu", url}, {"iat", iat},
                        {"jti", jti.empty() ? "p-" + std::to_string(++counter) : jti},
                        {"ath", plugins::jose::sha256_b64url(token)}};
    return plugins::jose::sign(header, claims, key.get(), plugins::jose::Alg::ES256);
  }
};

}  // namespace branchline::test
