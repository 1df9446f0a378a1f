// identity-local through the host: sign-in, token checks (forged, altered, expired, wrong
// algorithm), key persistence, and its refusal to run in production.
#include "reference_fixture.hpp"

#include "host/load_error.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

namespace branchline::test {
namespace {

using IdentityLocal = ReferencePlugin;
namespace json = boost::json;

// The password of both users is "branchline-dev" (the embedded default's demo hash).
const std::string kSettings = R"({"users":[
  {"username":"advisor","roles":["advisor"],
   "password_hash":"pbkdf2-sha256$100000$qWr4F/b3wVI7cLwX9Ec3Jg==$CL+pihPwv0uUe5UIiGkFrv7jmW4IXWcPtnK1O2n4SjI="},
  {"username":"customer","roles":["customer"],"subject":"c-1001",
   "password_hash":"pbkdf2-sha256$100000$kLaDD3C5hWJMl1GaRL9YqQ==$spYeYJFEtJWWiiSuh17Y0MoobJziPKTwKyUG9yu5Q2c="}]})";

std::string b64url(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Signs header.claims with the plugin's own stored key (what an attacker who stole it could do;
// here it lets the test make tokens the plugin would otherwise never issue).
std::string sign_es256(const std::filesystem::path& pem_file, const std::string& header, const std::string& claims) {
  std::ifstream in(pem_file);
  std::stringstream pem;
  pem << in.rdbuf();
  std::string text = pem.str();
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  std::string input = b64url(header) + "." + b64url(claims);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  std::size_t length = 0;
  EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(md, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::vector<unsigned char> der(length);
  EVP_DigestSign(md, der.data(), &length, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length));
  unsigned char raw[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
  ECDSA_SIG_free(sig);
  return input + "." + b64url(std::string_view(reinterpret_cast<char*>(raw), 64));
}

class IdentityLocalTokens : public IdentityLocal {
 protected:
  std::string login(host::PluginInstance& id, const std::string& user = "advisor") {
    json::value r = ok(id, &bl_identity_api::authenticate, R"({"username":")" + user + R"(","password":"branchline-dev"})");
    return std::string(r.at("token").as_string());
  }
  bl_status check(host::PluginInstance& id, const std::string& token) {
    return call(id, &bl_identity_api::validate_token, json::serialize(json::object{{"token", token}})).status;
  }
  std::string header() {
    std::string token = login(*id_);
    return token.substr(0, token.find('.'));
  }
  std::filesystem::path key_file() { return data_dir_ / "plugins/ref-1/signing-key.pem"; }
  std::string kid() {
    std::string token = login(*id_);
    std::string h = token.substr(0, token.find('.'));
    while (h.size() % 4) h += '=';
    for (char& c : h) c = c == '-' ? '+' : c == '_' ? '/' : c;
    std::string decoded(h.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                            reinterpret_cast<const unsigned char*>(h.data()), static_cast<int>(h.size()));
    decoded.resize(static_cast<std::size_t>(n));
    while (!decoded.empty() && decoded.back() != '}') decoded.pop_back();
    return std::string(json::parse(decoded).at("kid").as_string());
  }
  void SetUp() override {
    IdentityLocal::SetUp();
    id_ = start("identity-local", BL_KIND_IDENTITY, kSettings);
  }
  void TearDown() override {
    id_.reset();
    IdentityLocal::TearDown();
  }
  std::unique_ptr<host::PluginInstance> id_;
};

TEST_F(IdentityLocalTokens, SignInIssuesAnAccessTokenThatValidates) {
  json::value r = ok(*id_, &bl_identity_api::authenticate, R"({"username":"customer","password":"branchline-dev"})");
  EXPECT_GT(r.at("expires_at").as_int64(), now());
  json::value claims = ok(*id_, &bl_identity_api::validate_token,
                          json::serialize(json::object{{"token", r.at("token")}}));
  EXPECT_EQ(claims.at("subject").as_string(), "c-1001");
  EXPECT_EQ(json::serialize(claims.at("roles")), R"(["customer"])");
  EXPECT_EQ(json::serialize(claims.at("amr")), R"(["pwd"])");
  EXPECT_FALSE(claims.at("session_id").as_string().empty());
  // The members identity.h documents, as identity-oidc gives them: the API needs no special case.
  EXPECT_EQ(claims.at("issuer"), "urn:branchline:identity-local");
  EXPECT_TRUE(claims.at("issued_at").is_int64());
  EXPECT_TRUE(claims.at("auth_time").is_int64());
  EXPECT_FALSE(claims.at("token_id").as_string().empty());
  EXPECT_EQ(claims.at("claims"), (json::object{{"customer", "c-1001"}}));
}

TEST_F(IdentityLocalTokens, WrongPasswordAndUnknownUserAreTheSameRefusal) {
  host::CallResult wrong = call(*id_, &bl_identity_api::authenticate, R"({"username":"advisor","password":"nope"})");
  host::CallResult unknown = call(*id_, &bl_identity_api::authenticate, R"({"username":"mallory","password":"nope"})");
  EXPECT_EQ(wrong.status, BL_UNAUTHENTICATED);
  EXPECT_EQ(unknown.status, BL_UNAUTHENTICATED);
  EXPECT_EQ(wrong.message, unknown.message);
}

TEST_F(IdentityLocalTokens, SignInsAreAuditedAndAFailedOneKeepsOnlyAHashOfTheNameTried) {
  ok(*id_, &bl_identity_api::authenticate, R"({"username":"advisor","password":"branchline-dev"})");
  json::object in = audited("auth.sign_in");
  ASSERT_FALSE(in.empty());
  EXPECT_EQ(in.at("outcome"), "success");
  EXPECT_EQ(in.at("auth").at("method"), "password");
  EXPECT_EQ(call(*id_, &bl_identity_api::authenticate, R"({"username":"mallory-typed-this","password":"nope"})").status,
            BL_UNAUTHENTICATED);
  json::object denied;
  for (int i = 0; i < 500 && denied.empty(); ++i) {
    for (auto& e : ledger_entries(data_dir_ / "audit.db"))
      if (e.at("action") == "auth.sign_in" && e.at("outcome") == "denied") denied = e;
    if (denied.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(denied.empty());
  EXPECT_EQ(denied.at("resource").at("attempted_user_sha256").as_string().size(), 64u);
  for (const auto& e : ledger_entries(data_dir_ / "audit.db")) {
    EXPECT_EQ(json::serialize(e).find("mallory-typed-this"), std::string::npos);
    EXPECT_EQ(json::serialize(e).find("branchline-dev"), std::string::npos);  // no password, ever
  }
}

TEST_F(IdentityLocalTokens, AlteredOrForgedTokensAreRefused) {
  std::string token = login(*id_);
  std::string altered = token;
  altered[token.find('.') + 5] = altered[token.find('.') + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(check(*id_, altered), BL_UNAUTHENTICATED);
  std::string claims = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  // alg none, and HS256 keyed with anything: the token never chooses the algorithm.
  EXPECT_EQ(check(*id_, b64url(R"({"alg":"none","typ":"at+jwt"})") + "." + claims + "."), BL_UNAUTHENTICATED);
  std::string hs_input = b64url(R"({"alg":"HS256","typ":"at+jwt","kid":")" + kid() + R"("})") + "." + claims;
  unsigned char mac[32];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), "secret", 6, reinterpret_cast<const unsigned char*>(hs_input.data()), hs_input.size(), mac,
       &mac_length);
  EXPECT_EQ(check(*id_, hs_input + "." + b64url(std::string_view(reinterpret_cast<char*>(mac), mac_length))),
            BL_UNAUTHENTICATED);
  EXPECT_EQ(check(*id_, "a.b"), BL_UNAUTHENTICATED);
  EXPECT_EQ(check(*id_, std::string(9000, 'a')), BL_INVALID_ARGUMENT);
}

TEST_F(IdentityLocalTokens, ExpiredWrongIssuerWrongAudienceAndWrongTypeAreRefused) {
  std::string h = R"({"alg":"ES256","typ":"at+jwt","kid":")" + kid() + R"("})";
  auto claims = [&](const std::string& iss, const std::string& aud, std::int64_t exp) {
    return R"({"iss":")" + iss + R"(","aud":")" + aud + R"(","sub":"advisor","exp":)" + std::to_string(exp) + "}";
  };
  const std::string iss = "urn:branchline:identity-local";
  EXPECT_EQ(check(*id_, sign_es256(key_file(), h, claims(iss, "branchline", now() + 600))), BL_OK);  // control
  EXPECT_EQ(check(*id_, sign_es256(key_file(), h, claims(iss, "branchline", now() - 3600))), BL_UNAUTHENTICATED);
  EXPECT_EQ(check(*id_, sign_es256(key_file(), h, claims("https://evil", "branchline", now() + 600))), BL_UNAUTHENTICATED);
  EXPECT_EQ(check(*id_, sign_es256(key_file(), h, claims(iss, "other", now() + 600))), BL_UNAUTHENTICATED);
  std::string id_token_header = R"({"alg":"ES256","typ":"JWT","kid":")" + kid() + R"("})";
  EXPECT_EQ(check(*id_, sign_es256(key_file(), id_token_header, claims(iss, "branchline", now() + 600))),
            BL_UNAUTHENTICATED);
}

TEST_F(IdentityLocalTokens, TheSigningKeyIsKeptAcrossRestarts) {
  std::string token = login(*id_);
  id_.reset();
  id_ = start("identity-local", BL_KIND_IDENTITY, kSettings);
  EXPECT_EQ(check(*id_, token), BL_OK);
  EXPECT_EQ(std::filesystem::status(key_file()).permissions() & std::filesystem::perms::group_all,
            std::filesystem::perms::none);
}

TEST_F(IdentityLocal, RefusesToRunInProduction) {
  env_.environment = "production";
  try {
    start("identity-local", BL_KIND_IDENTITY, kSettings);
    FAIL() << "loaded in production";
  } catch (const host::LoadError& e) {
    EXPECT_EQ(e.failure(), host::LoadFailure::InitFailed);
    EXPECT_NE(std::string(e.what()).find("refuses to run when the host's environment is production"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace branchline::test
