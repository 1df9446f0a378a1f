// jose: the identity plugins' JWS toolkit on its own: strict base64url, JWK parsing and key
// hygiene, algorithm/key matching, signatures of every supported algorithm, and the refusals
// (none, HMAC with a public key, crit, tampering, absurd dates).
#include "../../../plugins/common/jose.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace branchline::test {
namespace {

namespace jose = plugins::jose;
namespace json = boost::json;

std::shared_ptr<EVP_PKEY> make_key(const char* type, const char* param) {
  EVP_PKEY* key = std::string_view(type) == "RSA"  ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", (size_t)std::atoi(param))
                  : std::string_view(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param)
                                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

jose::Jwk public_of(EVP_PKEY* key, const char* kid = "k1") {
  json::object jwk = jose::public_jwk(key);
  jwk["kid"] = kid;
  return jose::parse_jwk(jwk);
}

TEST(Jose, Base64urlHasExactlyOneSpellingPerByteString) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00\x01", 4)})
    EXPECT_EQ(jose::base64url_decode(jose::base64url_encode(s)), s);
  EXPECT_EQ(jose::base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(jose::base64url_decode("Zm9v="));   // padding
  EXPECT_FALSE(jose::base64url_decode("+/8"));     // the other alphabet
  EXPECT_FALSE(jose::base64url_decode("Zm9vY"));   // a length no encoding has
  EXPECT_FALSE(jose::base64url_decode("Zh"));      // "Zg" re-spelt with stray low bits
  EXPECT_TRUE(jose::base64url_decode("Zg"));
  EXPECT_FALSE(jose::base64url_decode("Zm 9v"));
}

TEST(Jose, ThumbprintIsRfc7638s) {
  // RFC 7638 section 3.1's example key and thumbprint.
  json::object jwk{
      {"kty", "RSA"},
      {"n", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjh"
            "Mstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL"
            "5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  jose::Jwk key = jose::parse_jwk(jwk);
  EXPECT_EQ(key.thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(key.kid, "2011-04-29");
  EXPECT_EQ(key.bits, 2048);
  EXPECT_TRUE(key.fits(jose::Alg::RS256));
  EXPECT_FALSE(key.fits(jose::Alg::PS256));  // the JWK's own alg pins it
}

TEST(Jose, EverySupportedAlgorithmSignsAndVerifiesAndOnlyWithItsOwnKeyType) {
  struct Case {
    jose::Alg alg;
    std::shared_ptr<EVP_PKEY> key;
  };
  auto rsa = make_key("RSA", "2048");
  auto p256 = make_key("EC", "P-256"), p384 = make_key("EC", "P-384"), p521 = make_key("EC", "P-521");
  auto ed = make_key("ED25519", nullptr);
  std::vector<Case> cases{{jose::Alg::RS256, rsa}, {jose::Alg::RS384, rsa},  {jose::Alg::RS512, rsa},
                          {jose::Alg::PS256, rsa}, {jose::Alg::PS384, rsa},  {jose::Alg::PS512, rsa},
                          {jose::Alg::ES256, p256}, {jose::Alg::ES384, p384}, {jose::Alg::ES512, p521},
                          {jose::Alg::EdDSA, ed}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(jose::alg_name(c.alg)));
    json::object header{{"alg", jose::alg_name(c.alg)}, {"kid", "k1"}, {"typ", "at+jwt"}};
    std::string token = jose::sign(header, {{"sub", "alice"}}, c.key.get(), c.alg);
    jose::Jws jws = jose::parse_jws(token, 16384);
    EXPECT_EQ(jws.alg, jose::alg_name(c.alg));
    EXPECT_EQ(jws.typ, "at+jwt");
    EXPECT_EQ(jws.payload.at("sub"), "alice");
    jose::Jwk jwk = public_of(c.key.get());
    EXPECT_TRUE(jose::verify(jws, c.alg, jwk));
    // The key fits exactly the algorithms of its type (an RSA key without "alg": RS* and PS*;
    // an EC key: its curve's one; Ed25519: EdDSA), and verifies under no other.
    for (jose::Alg other : jose::all_algs()) {
      char family = jose::alg_name(other)[0];
      bool expected = jwk.kty == "RSA" ? (family == 'R' || family == 'P') : other == c.alg;
      EXPECT_EQ(jwk.fits(other), expected) << jose::alg_name(other);
      if (!expected) {
        EXPECT_FALSE(jose::verify(jws, other, jwk)) << jose::alg_name(other);
      }
    }
    // Tampering with the payload breaks the signature.
    std::string tampered = jose::base64url_encode(R"({"sub":"mallory"})");
    std::size_t first = token.find('.'), second = token.find('.', first + 1);
    jose::Jws bad = jose::parse_jws(token.substr(0, first + 1) + tampered + token.substr(second), 16384);
    EXPECT_FALSE(jose::verify(bad, c.alg, jwk));
    // Another key of the same type does not verify it.
    std::shared_ptr<EVP_PKEY> stranger = c.key == rsa ? make_key("RSA", "2048") : c.key == ed ? make_key("ED25519", nullptr)
                                                                                             : make_key("EC", jwk.crv.c_str());
    EXPECT_FALSE(jose::verify(jws, c.alg, public_of(stranger.get())));
  }
}

TEST(Jose, SigningRefusesAMislabelledSignature) {
  auto p256 = make_key("EC", "P-256");
  json::object payload{{"sub", "x"}};
  EXPECT_THROW(jose::sign({{"alg", "ES384"}}, payload, p256.get(), jose::Alg::ES384), jose::JoseError);  // wrong curve
  EXPECT_THROW(jose::sign({{"alg", "RS256"}}, payload, p256.get(), jose::Alg::RS256), jose::JoseError);  // wrong type
  EXPECT_THROW(jose::sign({{"alg", "ES384"}}, payload, p256.get(), jose::Alg::ES256), jose::JoseError);  // header lies
  EXPECT_NO_THROW(jose::sign({{"alg", "ES256"}}, payload, p256.get(), jose::Alg::ES256));
}

TEST(Jose, UnsignedAndSymmetricTokensAreNotRepresentable) {
  EXPECT_FALSE(jose::alg_from_name("none"));
  EXPECT_FALSE(jose::alg_from_name("HS256"));
  EXPECT_FALSE(jose::alg_from_name("rs256"));
  // alg "none": the third part is empty.
  std::string none = jose::base64url_encode(R"({"alg":"none"})") + "." + jose::base64url_encode(R"({"sub":"x"})") + ".";
  EXPECT_THROW(jose::parse_jws(none, 8192), jose::JoseError);

  // HS256 keyed with the RSA public key's PEM (the classic confusion): whatever the header says,
  // the RSA key only verifies RSA signatures, and this is not one.
  auto rsa = make_key("RSA", "2048");
  jose::Jwk jwk = public_of(rsa.get());
  std::string input = jose::base64url_encode(R"({"alg":"RS256","kid":"k1"})") + "." + jose::base64url_encode(R"({"sub":"x"})");
  std::string pem = "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n";
  unsigned char mac[32];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &mac_length);
  std::string token = input + "." + jose::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), mac_length));
  EXPECT_FALSE(jose::verify(jose::parse_jws(token, 8192), jose::Alg::RS256, jwk));
}

TEST(Jose, MalformedTokensAreRefusedWithAReason) {
  auto head = [](std::string_view h) { return jose::base64url_encode(h); };
  std::string body = jose::base64url_encode(R"({"sub":"x"})");
  for (const std::string& bad : {std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
                                 "." + body + ".c2ln", head(R"({"alg":"RS256"})") + "..c2ln",
                                 head("[1]") + "." + body + ".c2ln", head(R"({"typ":"JWT"})") + "." + body + ".c2ln",
                                 head(R"({"alg":"RS256","crit":["exp"]})") + "." + body + ".c2ln",
                                 head(R"({"alg":"RS256"})") + "." + body + ".c2l=",
                                 head(R"({"alg":"RS256"})") + "." + head("not json") + ".c2ln"}) {
    EXPECT_THROW(jose::parse_jws(bad, 8192), jose::JoseError) << bad;
  }
  std::string big = head(R"({"alg":"RS256"})") + "." + std::string(9000, 'A') + ".c2ln";
  try {
    jose::parse_jws(big, 8192);
    ADD_FAILURE();
  } catch (const jose::JoseError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than 8192"), std::string::npos);
  }
}

TEST(Jose, KeysThatMustNotVerifyAreRefusedOrSkipped) {
  auto weak = make_key("RSA", "1024");
  json::object weak_jwk = jose::public_jwk(weak.get());
  EXPECT_THROW(jose::parse_jwk(weak_jwk), jose::JoseError);

  auto p256 = make_key("EC", "P-256");
  json::object ec = jose::public_jwk(p256.get());
  json::object off_curve = ec;
  std::string y = *jose::base64url_decode(ec.at("y").as_string());
  y[31] ^= 1;
  off_curve["y"] = jose::base64url_encode(y);
  EXPECT_THROW(jose::parse_jwk(off_curve), jose::JoseError);
  json::object short_x = ec;
  short_x["x"] = jose::base64url_encode(jose::base64url_decode(ec.at("x").as_string())->substr(1));
  EXPECT_THROW(jose::parse_jwk(short_x), jose::JoseError);

  json::object encryption = ec;
  encryption["use"] = "enc";
  json::object mismatched = ec;
  mismatched["alg"] = "RS256";
  json::object wrapping = ec;
  wrapping["key_ops"] = json::array{"wrapKey"};
  json::object symmetric{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}};
  json::object with_private = ec;
  with_private["d"] = "AAAA";

  json::array keys{weak_jwk, off_curve, encryption, mismatched, wrapping, symmetric, ec, with_private};
  jose::JwkSet set = jose::parse_jwks(json::serialize(json::object{{"keys", keys}}));
  ASSERT_EQ(set.keys.size(), 2u);  // the good key, and the one that carries a private part
  EXPECT_FALSE(set.keys[0].has_private);
  EXPECT_TRUE(set.keys[1].has_private);
  EXPECT_EQ(set.skipped.size(), 6u);
  EXPECT_NE(set.skipped[0].find("1024 bits"), std::string::npos) << set.skipped[0];

  EXPECT_THROW(jose::parse_jwks("[]"), jose::JoseError);
  EXPECT_THROW(jose::parse_jwks(R"({"keys":{}})"), jose::JoseError);
  json::array many(101, ec);
  EXPECT_THROW(jose::parse_jwks(json::serialize(json::object{{"keys", many}})), jose::JoseError);
}

TEST(Jose, DatesAreClampedToWholeSecondsBetween1970And9999) {
  auto claims = [](std::string_view text) { return json::parse(text).as_object(); };
  EXPECT_EQ(jose::numeric_date(claims(R"({"exp":1700000000})"), "exp"), 1700000000);
  EXPECT_EQ(jose::numeric_date(claims(R"({"exp":1700000000.9})"), "exp"), 1700000000);
  EXPECT_EQ(jose::numeric_date(claims(R"({})"), "exp"), std::nullopt);
  for (const char* bad : {R"({"exp":1e300})", R"({"exp":-1})", R"({"exp":"1700000000"})", R"({"exp":null})",
                          R"({"exp":18446744073709551615})", R"({"exp":253402300800})", R"({"exp":true})"})
    EXPECT_THROW(jose::numeric_date(claims(bad), "exp"), jose::JoseError) << bad;
}

}  // namespace
}  // namespace branchline::test
