// jose: the JSON Web Signature toolkit of the identity plugins (RFC 7515 compact JWS, RFC 7517
// JWK, RFC 7518 algorithms, RFC 7638 thumbprints), on OpenSSL 3's EVP interface.
//
// Why our own: Debian 12's libjwt 1.10 trusts the algorithm named in the token's own header and
// parses no JWKs (libjwt#33, #200), and nothing else is packaged.
//
// Contract:
//  - Everything here reads untrusted input: a token, a JWKS document, a DPoP proof's header. Sizes
//    are bounded by the caller (parse_jws's max_bytes) and by fixed caps here; malformed input is a
//    JoseError with a reason fit for a log line (never the token itself), never a crash.
//  - Only asymmetric algorithms exist here: RS256/384/512, PS256/384/512, ES256/384/512 and EdDSA
//    (Ed25519). "none" and the HMAC family are not representable, so no setting can let them in.
//  - A key verifies only the algorithms of its own type and size (fits()): the token's alg picks
//    the algorithm from the caller's allow-list, the kid picks the key, and both must agree. A
//    public key is never used as an HMAC secret because there is no HMAC.
//  - RSA keys are 2048 to 8192 bits; EC keys are P-256/P-384/P-521 points on their curve; OKP
//    keys are Ed25519. A JWK with "use" other than "sig", or "key_ops" without "verify", is not
//    a verification key (parse_jwks skips it and says why).
//  - base64url is strict: no padding, no other alphabet, no stray bits (a token has exactly one
//    spelling), so a cache keyed by the token's text cannot be bypassed by re-spelling it.
#pragma once

#include "json.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace branchline::plugins::jose {

class JoseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

enum class Alg { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };
std::optional<Alg> alg_from_name(std::string_view name);  // nullopt for none, HS*, unknown
std::string_view alg_name(Alg alg);
const std::vector<Alg>& all_algs();

using Key = std::shared_ptr<EVP_PKEY>;

struct Jwk {
  std::string kty;           // RSA | EC | OKP
  std::string crv;           // EC/OKP curve
  std::string kid;           // "" when the JWK has none
  std::optional<Alg> alg;    // the JWK's own "alg", when it names one
  int bits = 0;              // RSA modulus / EC field size
  bool has_private = false;  // carried a private member ("d", "p", ...)
  std::string thumbprint;    // RFC 7638, SHA-256, base64url
  Key key;
  bool fits(Alg alg) const;  // the key's type (and curve) is the algorithm's, and its "alg" agrees
};

// One JWK object (a public key; private members are noted, never used). Throws JoseError.
Jwk parse_jwk(const json::object& jwk);

struct JwkSet {
  std::vector<Jwk> keys;
  std::vector<std::string> skipped;  // "kid …: why", one per key left out
};
// A JWKS document ({"keys":[...]}), at most max_keys keys. Keys that are not usable signature
// keys (weak, symmetric, encryption-only, unknown type) are skipped with a reason; a document that
// is not a JWKS at all throws JoseError.
JwkSet parse_jwks(std::string_view text, std::size_t max_keys = 100);

struct Jws {
  json::object header;
  json::object payload;
  std::string signing_input;  // base64url(header) "." base64url(payload)
  std::string signature;      // the decoded signature bytes
  std::string alg, kid, typ;  // header members ("" when absent)
};
// Splits and decodes a compact JWS (three non-empty parts, both JSON objects, "alg" present, no
// "crit"); does not verify it. Throws JoseError.
Jws parse_jws(std::string_view compact, std::size_t max_bytes);

// True when the signature is `key`'s over the signing input under `alg`. The caller has chosen
// `alg` from its allow-list; false (never a throw) when the key does not fit the algorithm.
bool verify(const Jws& jws, Alg alg, const Jwk& key);

// Signs a compact JWS with a private key of the algorithm's type (tests, identity-local, DPoP
// clients). Throws JoseError when the key does not fit.
std::string sign(const json::object& header, const json::object& payload, EVP_PKEY* private_key, Alg alg);

// The public JWK of a key (RSA, EC P-256/384/521, Ed25519), members in RFC 7638 order.
json::object public_jwk(EVP_PKEY* key);

// A NumericDate claim (RFC 7519 §2) as whole seconds, clamped to [0, 253402300799] (year 9999):
// nullopt when absent; JoseError when not a number or out of that range ("exp": 1e300).
std::optional<std::int64_t> numeric_date(const json::object& claims, std::string_view name);

// SHA-256 of `data`, base64url (DPoP's "ath", thumbprints).
std::string sha256_b64url(std::string_view data);

}  // namespace branchline::plugins::jose
