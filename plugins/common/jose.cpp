// jose: see jose.hpp.
#include "jose.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <array>
#include <cmath>

namespace branchline::plugins::jose {

namespace {

constexpr std::size_t kMaxJwkMemberBytes = 2048;  // an 8192-bit modulus is 1366 characters
constexpr std::int64_t kMaxNumericDate = 253402300799;  // 9999-12-31T23:59:59Z

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

Key own(EVP_PKEY* key) { return Key(key, EVP_PKEY_free); }

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

struct AlgInfo {
  Alg alg;
  std::string_view name;
  std::string_view kty;
  std::string_view crv;  // EC/OKP: the curve; RSA: ""
  const EVP_MD* (*md)();  // nullptr for EdDSA
  bool pss;
  std::size_t ec_size;  // bytes per coordinate of r and s
};

const EVP_MD* no_md() { return nullptr; }

constexpr std::array<AlgInfo, 10> kAlgs{{
    {Alg::RS256, "RS256", "RSA", "", EVP_sha256, false, 0},
    {Alg::RS384, "RS384", "RSA", "", EVP_sha384, false, 0},
    {Alg::RS512, "RS512", "RSA", "", EVP_sha512, false, 0},
    {Alg::PS256, "PS256", "RSA", "", EVP_sha256, true, 0},
    {Alg::PS384, "PS384", "RSA", "", EVP_sha384, true, 0},
    {Alg::PS512, "PS512", "RSA", "", EVP_sha512, true, 0},
    {Alg::ES256, "ES256", "EC", "P-256", EVP_sha256, false, 32},
    {Alg::ES384, "ES384", "EC", "P-384", EVP_sha384, false, 48},
    {Alg::ES512, "ES512", "EC", "P-521", EVP_sha512, false, 66},
    {Alg::EdDSA, "EdDSA", "OKP", "Ed25519", no_md, false, 0},
}};

const AlgInfo& info(Alg alg) { return kAlgs[static_cast<std::size_t>(alg)]; }

struct Curve {
  std::string_view jwk_name, openssl_name;
  std::size_t size;
};
constexpr std::array<Curve, 3> kCurves{{{"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}}};

const Curve* curve_by_jwk_name(std::string_view name) {
  for (const auto& c : kCurves)
    if (c.jwk_name == name) return &c;
  return nullptr;
}

// A base64url member of a JWK, decoded; JoseError when missing or malformed.
std::string member_bytes(const json::object& jwk, std::string_view name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->value().is_string()) throw JoseError("member \"" + std::string(name) + "\" missing");
  const json::string& s = it->value().as_string();
  if (s.size() > kMaxJwkMemberBytes) throw JoseError("member \"" + std::string(name) + "\" too long");
  auto decoded = base64url_decode(s);
  if (!decoded || decoded->empty()) throw JoseError("member \"" + std::string(name) + "\" is not base64url");
  return *decoded;
}

std::string string_member(const json::object& o, std::string_view name, std::size_t max = 256) {
  auto it = o.find(name);
  if (it == o.end()) return {};
  if (!it->value().is_string() || it->value().as_string().size() > max)
    throw JoseError("member \"" + std::string(name) + "\" is not a short string");
  return std::string(it->value().as_string());
}

Key rsa_key(const std::string& n, const std::string& e) {
  if (e.size() > 8) throw JoseError("RSA exponent too large");
  Bignum bn_n(BN_bin2bn(bytes(n), static_cast<int>(n.size()), nullptr));
  Bignum bn_e(BN_bin2bn(bytes(e), static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e || !BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) throw JoseError("bad RSA exponent");
  ParamBuilder bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    throw JoseError("cannot build an RSA key");
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    throw JoseError("not an RSA public key");
  return own(key);
}

Key ec_key(const Curve& curve, const std::string& x, const std::string& y) {
  // RFC 7518 6.2.1.2: each coordinate is exactly the field size, leading zeros kept.
  if (x.size() != curve.size || y.size() != curve.size) throw JoseError("EC coordinate of the wrong length");
  std::string point = "\x04" + x + y;
  ParamBuilder bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.openssl_name.data(), 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    throw JoseError("cannot build an EC key");
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    throw JoseError("not an EC public key");
  Key key = own(raw);
  // The point must be on the curve (invalid-curve attacks); fromdata alone does not promise it.
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) throw JoseError("EC point not on its curve");
  return key;
}

std::string bn_bytes(EVP_PKEY* key, const char* name, std::size_t pad = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) throw JoseError("cannot read a key parameter");
  Bignum bn(raw);
  std::size_t n = pad ? pad : static_cast<std::size_t>(BN_num_bytes(bn.get()));
  std::string out(n, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) < 0)
    throw JoseError("key parameter too large");
  return out;
}

// ECDSA's JWS form r || s (RFC 7518 3.4) to DER for OpenSSL; "" when malformed.
std::string raw_to_der(std::string_view raw, std::size_t size) {
  if (raw.size() != 2 * size) return {};
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), static_cast<int>(size), nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + size, static_cast<int>(size), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(sig.get(), &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string der_to_raw(std::string_view der, std::size_t size) {
  const unsigned char* p = bytes(der);
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) throw JoseError("signing failed");
  std::string out(2 * size, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, static_cast<int>(size)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + size, static_cast<int>(size)) < 0)
    throw JoseError("signing failed");
  return out;
}

// Sets up md for sign or verify with alg's digest and padding.
bool init(EVP_MD_CTX* md, const AlgInfo& a, EVP_PKEY* key, bool signing) {
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* digest = a.md();
  int ok = signing ? EVP_DigestSignInit(md, &pctx, digest, nullptr, key)
                   : EVP_DigestVerifyInit(md, &pctx, digest, nullptr, key);
  if (ok != 1) return false;
  if (a.pss) {
    // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)
      return false;
  } else if (a.kty == "RSA") {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  }
  return true;
}

json::object parse_part(std::string_view encoded, const char* what) {
  auto text = base64url_decode(encoded);
  if (!text) throw JoseError(std::string(what) + " is not base64url");
  json::parse_options options;
  options.max_depth = 16;
  json::error_code ec;
  json::value v = json::parse(*text, ec, {}, options);
  if (ec || !v.is_object()) throw JoseError(std::string(what) + " is not a JSON object");
  return std::move(v.as_object());
}

}  // namespace

// ---- base64url ----

std::string base64url_encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kAlphabet[(v >> 18) & 63], out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63], out += kAlphabet[v & 63];
  }
  if (in.size() - i == 1) {
    unsigned v = b(i) << 16;
    out += kAlphabet[(v >> 18) & 63], out += kAlphabet[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    unsigned v = (b(i) << 16) | (b(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63], out += kAlphabet[(v >> 12) & 63], out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // The bits left over must be zero: one spelling per byte string (RFC 4648 3.5).
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// ---- algorithms ----

std::optional<Alg> alg_from_name(std::string_view name) {
  for (const auto& a : kAlgs)
    if (a.name == name) return a.alg;
  return std::nullopt;
}

std::string_view alg_name(Alg alg) { return info(alg).name; }

const std::vector<Alg>& all_algs() {
  static const std::vector<Alg> all = [] {
    std::vector<Alg> v;
    for (const auto& a : kAlgs) v.push_back(a.alg);
    return v;
  }();
  return all;
}

bool Jwk::fits(Alg a) const {
  const AlgInfo& i = info(a);
  if (!key || kty != i.kty || (this->alg && *this->alg != a)) return false;
  if (kty == "RSA") return true;
  return crv == i.crv;
}

// ---- keys ----

Jwk parse_jwk(const json::object& o) {
  Jwk jwk;
  jwk.kty = string_member(o, "kty", 8);
  jwk.kid = string_member(o, "kid", 256);
  std::string use = string_member(o, "use", 16);
  if (!use.empty() && use != "sig") throw JoseError("not a signature key (use \"" + use + "\")");
  if (auto ops = o.find("key_ops"); ops != o.end()) {
    bool verifies = false;
    if (ops->value().is_array())
      for (const auto& op : ops->value().as_array()) verifies = verifies || (op.is_string() && op.as_string() == "verify");
    if (!verifies) throw JoseError("key_ops does not include verify");
  }
  std::string alg = string_member(o, "alg", 16);
  if (!alg.empty()) {
    jwk.alg = alg_from_name(alg);
    if (!jwk.alg) throw JoseError("algorithm \"" + alg + "\" is not an allowed signature algorithm");
  }
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "k"}) jwk.has_private = jwk.has_private || o.contains(priv);

  json::object canonical;  // RFC 7638: the required members only, in lexical order
  if (jwk.kty == "RSA") {
    std::string n = member_bytes(o, "n"), e = member_bytes(o, "e");
    jwk.key = rsa_key(n, e);
    jwk.bits = EVP_PKEY_get_bits(jwk.key.get());
    if (jwk.bits < 2048) throw JoseError("RSA key of " + std::to_string(jwk.bits) + " bits (2048 at least)");
    if (jwk.bits > 8192) throw JoseError("RSA key of " + std::to_string(jwk.bits) + " bits (8192 at most)");
    canonical = {{"e", o.at("e")}, {"kty", "RSA"}, {"n", o.at("n")}};
  } else if (jwk.kty == "EC") {
    jwk.crv = string_member(o, "crv", 16);
    const Curve* curve = curve_by_jwk_name(jwk.crv);
    if (!curve) throw JoseError("EC curve \"" + jwk.crv + "\" not supported");
    jwk.key = ec_key(*curve, member_bytes(o, "x"), member_bytes(o, "y"));
    jwk.bits = EVP_PKEY_get_bits(jwk.key.get());
    canonical = {{"crv", jwk.crv}, {"kty", "EC"}, {"x", o.at("x")}, {"y", o.at("y")}};
  } else if (jwk.kty == "OKP") {
    jwk.crv = string_member(o, "crv", 16);
    if (jwk.crv != "Ed25519") throw JoseError("OKP curve \"" + jwk.crv + "\" not supported");
    std::string x = member_bytes(o, "x");
    if (x.size() != 32) throw JoseError("Ed25519 key of the wrong length");
    EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(x), x.size());
    if (!raw) throw JoseError("not an Ed25519 public key");
    jwk.key = own(raw);
    jwk.bits = 256;
    canonical = {{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", o.at("x")}};
  } else if (jwk.kty == "oct") {
    throw JoseError("symmetric key (kty oct) never used to verify");
  } else {
    throw JoseError("key type \"" + jwk.kty + "\" not supported");
  }
  if (jwk.alg && !jwk.fits(*jwk.alg)) throw JoseError("the key's alg does not match its type");
  jwk.thumbprint = sha256_b64url(json::serialize(canonical));
  return jwk;
}

JwkSet parse_jwks(std::string_view text, std::size_t max_keys) {
  json::parse_options options;
  options.max_depth = 8;
  json::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec || !v.is_object()) throw JoseError("the JWKS is not a JSON object");
  auto keys = v.as_object().find("keys");
  if (keys == v.as_object().end() || !keys->value().is_array()) throw JoseError("the JWKS has no \"keys\" array");
  if (keys->value().as_array().size() > max_keys)
    throw JoseError("the JWKS has more than " + std::to_string(max_keys) + " keys");
  JwkSet set;
  for (const auto& k : keys->value().as_array()) {
    std::string label = "key";
    try {
      if (!k.is_object()) throw JoseError("not an object");
      if (auto kid = k.as_object().find("kid"); kid != k.as_object().end() && kid->value().is_string())
        label = "kid \"" + std::string(kid->value().as_string().subview(0, std::min<std::size_t>(64, kid->value().as_string().size()))) + "\"";
      set.keys.push_back(parse_jwk(k.as_object()));
    } catch (const JoseError& e) {
      set.skipped.push_back(label + ": " + e.what());
    }
  }
  return set;
}

// ---- JWS ----

Jws parse_jws(std::string_view compact, std::size_t max_bytes) {
  if (compact.size() > max_bytes) throw JoseError("token larger than " + std::to_string(max_bytes) + " bytes");
  std::size_t first = compact.find('.');
  std::size_t second = first == std::string_view::npos ? first : compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos)
    throw JoseError("not a compact JWS (three parts)");
  if (first == 0 || second == first + 1 || second + 1 == compact.size())
    throw JoseError("a part of the JWS is empty (unsigned tokens are refused)");
  Jws jws;
  jws.header = parse_part(compact.substr(0, first), "the header");
  jws.payload = parse_part(compact.substr(first + 1, second - first - 1), "the payload");
  auto signature = base64url_decode(compact.substr(second + 1));
  if (!signature) throw JoseError("the signature is not base64url");
  jws.signature = std::move(*signature);
  jws.signing_input = std::string(compact.substr(0, second));
  jws.alg = string_member(jws.header, "alg", 16);
  jws.kid = string_member(jws.header, "kid", 256);
  jws.typ = string_member(jws.header, "typ", 64);
  if (jws.alg.empty()) throw JoseError("the header names no algorithm");
  // RFC 7515 4.1.11: an extension we do not understand must not be ignored; we understand none.
  if (jws.header.contains("crit")) throw JoseError("critical header extensions are not supported");
  return jws;
}

bool verify(const Jws& jws, Alg alg, const Jwk& key) {
  if (!key.fits(alg)) return false;
  const AlgInfo& a = info(alg);
  std::string der;
  std::string_view signature = jws.signature;
  if (a.ec_size) {
    der = raw_to_der(signature, a.ec_size);
    if (der.empty()) return false;
    signature = der;
  }
  MdCtx md(EVP_MD_CTX_new());
  return md && init(md.get(), a, key.key.get(), false) &&
         EVP_DigestVerify(md.get(), bytes(signature), signature.size(), bytes(jws.signing_input),
                          jws.signing_input.size()) == 1;
}

std::string sign(const json::object& header, const json::object& payload, EVP_PKEY* private_key, Alg alg) {
  const AlgInfo& a = info(alg);
  // The key must fit the algorithm exactly as a verifier would require (type and curve), and the
  // header must name that algorithm: no mislabelled signatures.
  json::object pub = private_key ? public_jwk(private_key) : json::object();
  auto member = [&](const char* name) { return pub.contains(name) ? std::string_view(pub.at(name).as_string()) : ""; };
  if (!private_key || member("kty") != a.kty || member("crv") != a.crv)
    throw JoseError("the key does not fit " + std::string(a.name));
  if (auto named = header.find("alg"); named == header.end() || !named->value().is_string() || named->value().as_string() != a.name)
    throw JoseError("the header's alg is not " + std::string(a.name));
  std::string input = base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(payload));
  MdCtx md(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!md || !init(md.get(), a, private_key, true) ||
      EVP_DigestSign(md.get(), nullptr, &length, bytes(input), input.size()) != 1)
    throw JoseError("signing failed");
  std::string signature(length, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes(input),
                     input.size()) != 1)
    throw JoseError("signing failed");
  signature.resize(length);
  if (a.ec_size) signature = der_to_raw(signature, a.ec_size);
  return input + "." + base64url_encode(signature);
}

json::object public_jwk(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA"))
    return {{"e", base64url_encode(bn_bytes(key, OSSL_PKEY_PARAM_RSA_E))},
            {"kty", "RSA"},
            {"n", base64url_encode(bn_bytes(key, OSSL_PKEY_PARAM_RSA_N))}};
  if (EVP_PKEY_is_a(key, "ED25519")) {
    std::string x(32, '\0');
    std::size_t n = x.size();
    if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(x.data()), &n) != 1 || n != 32)
      throw JoseError("cannot read the Ed25519 key");
    return {{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", base64url_encode(x)}};
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[32] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1)
      throw JoseError("cannot read the EC curve");
    for (const auto& c : kCurves) {
      if (c.openssl_name != group) continue;
      return {{"crv", c.jwk_name},
              {"kty", "EC"},
              {"x", base64url_encode(bn_bytes(key, OSSL_PKEY_PARAM_EC_PUB_X, c.size))},
              {"y", base64url_encode(bn_bytes(key, OSSL_PKEY_PARAM_EC_PUB_Y, c.size))}};
    }
    throw JoseError("EC curve not supported");
  }
  throw JoseError("key type not supported");
}

std::optional<std::int64_t> numeric_date(const json::object& claims, std::string_view name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  const json::value& v = it->value();
  auto bad = [&] { return JoseError("claim \"" + std::string(name) + "\" is not a date between 1970 and 9999"); };
  if (v.is_int64()) {
    if (v.as_int64() < 0 || v.as_int64() > kMaxNumericDate) throw bad();
    return v.as_int64();
  }
  if (v.is_uint64()) throw bad();  // above INT64_MAX, so far beyond 9999
  if (v.is_double()) {
    double d = v.as_double();
    if (!std::isfinite(d) || d < 0 || d > static_cast<double>(kMaxNumericDate)) throw bad();
    return static_cast<std::int64_t>(std::floor(d));
  }
  throw bad();
}

std::string sha256_b64url(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr) != 1 || n != 32)
    throw JoseError("SHA-256 failed");
  return base64url_encode(std::string_view(reinterpret_cast<char*>(digest), n));
}

}  // namespace branchline::plugins::jose
