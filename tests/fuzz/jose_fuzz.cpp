// Fuzz target: the JOSE parsers the identity plugins run on what arrives from outside (a bearer
// token, a DPoP proof, a provider's JWKS). The first byte chooses what the rest is: 0, a compact
// JWS (parsed, then verified with a fixed key under each algorithm); 1, a JWKS document; 2, one
// JWK (parsed, thumbprinted); 3, claims whose dates are read. Every input must end in a result or
// a JoseError: never a crash, a hang or any other exception.
#include "../../plugins/common/jose.hpp"

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

namespace jose = branchline::plugins::jose;
namespace json = boost::json;

const std::vector<jose::Jwk>& keys() {
  static const std::vector<jose::Jwk> all = [] {
    std::vector<jose::Jwk> v;
    for (EVP_PKEY* k : {EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"),
                        EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))}) {
      v.push_back(jose::parse_jwk(jose::public_jwk(k)));
      EVP_PKEY_free(k);
    }
    return v;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0: {
        jose::Jws jws = jose::parse_jws(text, 16384);
        for (jose::Alg alg : jose::all_algs())
          for (const auto& key : keys()) (void)jose::verify(jws, alg, key);
        (void)jose::numeric_date(jws.payload, "exp");
        break;
      }
      case 1: {
        jose::JwkSet set = jose::parse_jwks(text);
        for (const auto& k : set.keys) (void)k.fits(jose::Alg::ES256);
        break;
      }
      case 2: {
        json::error_code ec;
        json::value v = json::parse(text, ec);
        if (!ec && v.is_object()) (void)jose::parse_jwk(v.as_object());
        break;
      }
      default: {
        json::error_code ec;
        json::value v = json::parse(text, ec);
        if (!ec && v.is_object())
          for (const char* claim : {"exp", "nbf", "iat", "auth_time"}) (void)jose::numeric_date(v.as_object(), claim);
        (void)jose::base64url_decode(text);
        break;
      }
    }
  } catch (const jose::JoseError&) {
  }
  return 0;
}
