// identity-oidc through the real host, against an HTTPS identity provider's discovery and JWKS
// endpoints (served by the API's own server on loopback, with keys this test holds): access
// tokens of every algorithm, the attack tokens, key rotation, the throttled refetch on an unknown
// kid, several issuers, DPoP-bound tokens and back-channel logout tokens. The same plugin against
// the real npm oidc-provider is tests/interop/oidc_provider_test.
#include "reference_fixture.hpp"

#include "../../../plugins/common/jose.hpp"
#include "../../support/test_idp.hpp"
#include "api/http_server.hpp"
#include "api/tls_context.hpp"
#include "host/load_error.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>

namespace branchline::test {
namespace {

namespace json = boost::json;
namespace jose = plugins::jose;
class IdentityOidc : public ReferencePlugin {
 protected:
  void SetUp() override {
    ReferencePlugin::SetUp();
    tls_ = api::ensure_development_certificate(data_dir_ / "idp-tls");
    a_.path = "/a";
    b_.path = "/b";
    for (Provider* p : {&a_, &b_}) {
      p->add("rs-1", make_key("RSA", "2048"), jose::Alg::RS256);
      p->add("es-1", make_key("EC", "P-256"), jose::Alg::ES256);
    }
    api::Router router;
    for (Provider* p : {&a_, &b_}) {
      router.add("GET", p->path + "/.well-known/openid-configuration", [this, p](const api::HttpRequest&, api::Respond r) {
        ++p->discovery_fetches;
        std::lock_guard lock(mutex_);
        r(api::HttpResponse::json(200, json::object{{"issuer", p->discovery_issuer.empty() ? p->issuer : p->discovery_issuer},
                                                    {"jwks_uri", p->discovery_jwks_uri.empty() ? base_ + p->path + "/jwks"
                                                                                               : p->discovery_jwks_uri}}));
      });
      router.add("GET", p->path + "/jwks", [this, p](const api::HttpRequest&, api::Respond r) {
        ++p->jwks_fetches;
        std::lock_guard lock(mutex_);
        json::object body = p->jwks();
        if (jwks_delay_.count() == 0) return r(api::HttpResponse::json(200, body));
        // A slow IdP: answer from another thread later, so that tokens pile up waiting.
        slow_.emplace_back([r, body, delay = jwks_delay_] {
          std::this_thread::sleep_for(delay);
          r(api::HttpResponse::json(200, body));
        });
      });
    }
    api::ServerOptions options;
    options.port = 0;
    server_ = std::make_unique<api::HttpServer>(io_, options, std::make_shared<api::TlsContextHolder>(tls_), std::move(router));
    server_->start();
    base_ = "https://127.0.0.1:" + std::to_string(server_->port());
    a_.issuer = base_ + "/a";
    b_.issuer = base_ + "/b";
  }
  void TearDown() override {
    instance_.reset();
    for (auto& t : slow_) t.join();
    server_->shutdown(std::chrono::milliseconds(500));
    ReferencePlugin::TearDown();
  }

  std::string issuer_settings(const Provider& p, const std::string& extra = "") const {
    return R"({"issuer":")" + p.issuer + R"(","audiences":["branchline-api"],"client_ids":["advisor-console"],)" +
           R"("claims":["region"],"jwks_refetch_interval_s":60)" + extra + "}";
  }
  host::PluginInstance& start_oidc(const std::string& settings) {
    auto library = host::PluginLibrary::load(std::filesystem::path(REFERENCE_PLUGIN_DIR) / "identity-oidc.so",
                                             BL_KIND_IDENTITY);
    host::InstanceConfig config;
    config.id = "oidc-1";
    config.settings = json::parse(settings);
    config.http.ca_file = tls_.cert_file.string();
    instance_ = host::PluginInstance::create(library, std::move(config), env_);
    return *instance_;
  }
  host::PluginInstance& start_oidc() { return start_oidc(R"({"issuers":[)" + issuer_settings(a_) + "]}"); }

  host::CallResult validate(const std::string& token, const json::object& extra = {}) {
    json::object body{{"token", token}};
    for (const auto& m : extra) body[m.key()] = m.value();
    return call(*instance_, &bl_identity_api::validate_token, json::serialize(body));
  }
  host::CallResult logout(const std::string& token) {
    return call(*instance_, &bl_identity_api::validate_logout, json::serialize(json::object{{"logout_token", token}}));
  }
  static json::object parsed(const host::CallResult& r) { return json::parse(r.result).as_object(); }

  std::mutex mutex_;
  std::chrono::milliseconds jwks_delay_{0};
  std::vector<std::thread> slow_;
  api::TlsSettings tls_;
  std::unique_ptr<api::HttpServer> server_;
  std::string base_;
  Provider a_, b_;
  std::unique_ptr<host::PluginInstance> instance_;
};

#define EXPECT_REFUSED(result, why)                                               \
  do {                                                                            \
    host::CallResult r_ = (result);                                               \
    EXPECT_EQ(r_.status, BL_UNAUTHENTICATED) << r_.message;                       \
    EXPECT_NE(r_.message.find(why), std::string::npos) << r_.message;             \
  } while (0)

TEST_F(IdentityOidc, AnAccessTokenGivesTheIssuerSubjectRolesAndAuthenticationContext) {
  start_oidc();
  for (const char* kid : {"rs-1", "es-1"}) {
    host::CallResult r = validate(a_.token(a_.claims(), kid));
    ASSERT_EQ(r.status, BL_OK) << r.message;
    json::object p = parsed(r);
    EXPECT_EQ(p.at("issuer"), json::value(a_.issuer));
    EXPECT_EQ(p.at("subject"), "advisor-1");
    EXPECT_EQ(p.at("roles"), (json::array{"advisor"}));
    EXPECT_EQ(p.at("session_id"), "sid-advisor-1");
    EXPECT_EQ(p.at("acr"), "urn:branchline:loa:2");
    EXPECT_EQ(p.at("amr"), (json::array{"pwd", "otp"}));
    EXPECT_EQ(p.at("client_id"), "advisor-console");
    EXPECT_TRUE(p.at("auth_time").is_int64());
    EXPECT_EQ(p.at("claims"), (json::object{{"region", "north"}}));
  }
  EXPECT_EQ(a_.discovery_fetches.load(), 1);
  EXPECT_EQ(a_.jwks_fetches.load(), 1);  // fetched once at start, then cached
  // The key set was audited when it was first fetched.
  json::object keys = audited("identity.keys.updated");
  EXPECT_EQ(keys.at("resource").at("id"), json::value(a_.issuer));
}

TEST_F(IdentityOidc, EveryAttackTokenIsRefused) {
  a_.add("weak", make_key("RSA", "1024"), jose::Alg::RS256, /*publish=*/false);
  {
    json::object weak = jose::public_jwk(a_.keys.at("weak").first.get());
    weak["kid"] = "weak";
    a_.extra_jwks.push_back(weak);
  }
  a_.add("ps-1", make_key("RSA", "2048"), jose::Alg::PS256);
  start_oidc(R"({"issuers":[)" + issuer_settings(a_, R"(,"algorithms":["RS256","ES256"])") + "]}");
  ASSERT_EQ(validate(a_.token()).status, BL_OK);

  auto claims = [&](auto change) {
    json::object c = a_.claims();
    change(c);
    return c;
  };
  auto b64 = [](std::string_view s) { return jose::base64url_encode(s); };
  std::string good = a_.token();
  std::size_t dot1 = good.find('.'), dot2 = good.find('.', dot1 + 1);

  // alg none, with and without a trailing signature part.
  std::string none_header = b64(R"({"alg":"none","typ":"at+jwt"})");
  std::string payload = good.substr(dot1 + 1, dot2 - dot1 - 1);
  EXPECT_REFUSED(validate(none_header + "." + payload + "."), "empty");
  EXPECT_REFUSED(validate(none_header + "." + payload + ".c2ln"), "algorithm \"none\" not allowed");
  // HS256 with the RSA public key's PEM as the secret.
  EXPECT_REFUSED(validate(hs256_keyed_with_public_pem(a_.keys.at("rs-1").first.get(), "rs-1", payload)),
                 "algorithm \"HS256\" not allowed");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["aud"] = "another-api"; }))), "wrong audience");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["aud"] = json::array{"x", "y"}; }))), "wrong audience");
  EXPECT_REFUSED(validate(a_.token(claims([&](json::object& c) { c["iss"] = a_.issuer + "/"; }))), "unknown issuer");
  EXPECT_REFUSED(validate(a_.token(claims([&](json::object& c) { c["iss"] = b_.issuer; }))), "unknown issuer");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["exp"] = now() - 120; }))), "expired");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c.erase("exp"); }))), "\"exp\" is required");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["exp"] = 1e300; }))), "between 1970 and 9999");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["nbf"] = now() + 600; }))), "not valid yet");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["iat"] = now() + 600; }))), "issued in the future");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["azp"] = "some-other-app"; }))), "unknown client");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c.erase("sub"); }))), "no subject");
  // An ID token's or a logout token's claims under an access token's typ.
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["nonce"] = "n-1"; }))), "not an access token");
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["events"] = json::object{}; }))), "not an access token");
  // An ID token (typ JWT) is not an access token.
  EXPECT_REFUSED(validate(a_.token(a_.claims(), "rs-1", "JWT")), "not an access token");
  // Unknown kid: a key the provider never published.
  a_.add("rogue", make_key("RSA", "2048"), jose::Alg::RS256, /*publish=*/false);
  EXPECT_REFUSED(validate(a_.token(a_.claims(), "rogue")), "unknown key id");
  // Tampered payload, same signature.
  std::string tampered = b64(json::serialize(claims([](json::object& c) { c["roles"] = json::array{"auditor"}; })));
  EXPECT_REFUSED(validate(good.substr(0, dot1 + 1) + tampered + good.substr(dot2)), "bad signature");
  // An algorithm the issuer does not allow, with a key that would verify it.
  EXPECT_REFUSED(validate(a_.token(a_.claims(), "ps-1")), "algorithm \"PS256\" not allowed");
  // The kid of an EC key with an RSA algorithm.
  {
    json::object header{{"alg", "RS256"}, {"typ", "at+jwt"}, {"kid", "es-1"}};
    EXPECT_REFUSED(validate(jose::sign(header, a_.claims(), a_.keys.at("rs-1").first.get(), jose::Alg::RS256)),
                   "does not fit RS256");
  }
  // Oversized.
  EXPECT_REFUSED(validate(a_.token(claims([](json::object& c) { c["pad"] = std::string(9000, 'x'); }))), "larger than");
  // Signed by a weak key the JWKS published: that key was skipped, so its kid is unknown.
  EXPECT_REFUSED(validate(a_.token(a_.claims(), "weak")), "unknown key id");
  json::object keys = audited("identity.keys.updated");
  ASSERT_EQ(keys.at("skipped").as_array().size(), 1u);
  EXPECT_NE(std::string(keys.at("skipped").as_array()[0].as_string()).find("1024 bits"), std::string::npos);
}

TEST_F(IdentityOidc, AnUnknownKidRefetchesOnceAndThenFailsClosedUntilTheIntervalPasses) {
  start_oidc();
  ASSERT_EQ(validate(a_.token()).status, BL_OK);
  ASSERT_EQ(a_.jwks_fetches.load(), 1);
  // The provider rotates: a new key is published and signs from now on.
  {
    std::lock_guard lock(mutex_);
    a_.add("es-2", make_key("EC", "P-256"), jose::Alg::ES256);
  }
  host::CallResult rotated = validate(a_.token(a_.claims(), "es-2"));
  EXPECT_EQ(rotated.status, BL_OK) << rotated.message;
  EXPECT_EQ(a_.jwks_fetches.load(), 2);
  // Random kids now: each would be a request to the IdP; the interval (60 s) forbids it.
  for (int i = 0; i < 20; ++i) {
    json::object header{{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", "random-" + std::to_string(i)}};
    EXPECT_REFUSED(validate(jose::sign(header, a_.claims(), a_.keys.at("es-2").first.get(), jose::Alg::ES256)),
                   "throttled");
  }
  EXPECT_EQ(a_.jwks_fetches.load(), 2);
  // Known keys keep working while throttled.
  EXPECT_EQ(validate(a_.token()).status, BL_OK);
}

TEST_F(IdentityOidc, TokensArrivingDuringAFetchWaitForItAndShareIt) {
  jwks_delay_ = std::chrono::milliseconds(300);
  start_oidc();
  std::vector<std::promise<host::CallResult>> answers(32);
  for (auto& answer : answers)
    instance_->call(&bl_identity_api::validate_token, json::serialize(json::object{{"token", a_.token()}}), "{}",
                    std::chrono::milliseconds(10000), io_.get_executor(),
                    [&answer](host::CallResult r) { answer.set_value(std::move(r)); });
  for (auto& answer : answers) {
    auto f = answer.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(f.get().status, BL_OK);
  }
  EXPECT_EQ(a_.jwks_fetches.load(), 1);
}

TEST_F(IdentityOidc, TwoIssuersAtOnceEachWithItsOwnKeys) {
  start_oidc(R"({"issuers":[)" + issuer_settings(a_) + "," + issuer_settings(b_) + "]}");
  json::object from_a = parsed(validate(a_.token()));
  json::object from_b = parsed(validate(b_.token(b_.claims("advisor-1"))));
  EXPECT_EQ(from_a.at("subject"), from_b.at("subject"));  // the same sub ...
  EXPECT_NE(from_a.at("issuer"), from_b.at("issuer"));    // ... is another principal
  // b's claims signed with a's key under a's kid name: b's key set has an "rs-1" too, another key.
  EXPECT_REFUSED(validate(a_.token(b_.claims(), "rs-1")), "bad signature");
}

TEST_F(IdentityOidc, ADiscoveryDocumentNamingAnotherIssuerYieldsNoKeys) {
  a_.discovery_issuer = "https://idp.attacker.example";
  start_oidc();
  host::CallResult r = validate(a_.token());
  EXPECT_EQ(r.status, BL_UNAVAILABLE);
  EXPECT_NE(r.message.find("names another issuer"), std::string::npos) << r.message;
}

TEST_F(IdentityOidc, ProductionRefusesAPlainHttpKeySetNamedByDiscovery) {
  env_.environment = "production";
  a_.discovery_jwks_uri = "http://127.0.0.1:1/jwks";
  start_oidc();
  host::CallResult r = validate(a_.token());
  EXPECT_EQ(r.status, BL_UNAVAILABLE);
  EXPECT_NE(r.message.find("not https"), std::string::npos) << r.message;
}

TEST_F(IdentityOidc, AnUnreachableProviderIsUnavailableNotUnauthenticated) {
  std::string dead = "https://127.0.0.1:1/idp";
  start_oidc(R"({"issuers":[{"issuer":")" + dead + R"(","audiences":["branchline-api"]}]})");
  json::object claims = a_.claims();
  claims["iss"] = dead;
  host::CallResult r = validate(a_.token(claims));
  EXPECT_EQ(r.status, BL_UNAVAILABLE) << r.message;
}

TEST_F(IdentityOidc, ProductionRefusesAPlainHttpProvider) {
  env_.environment = "production";
  EXPECT_THROW(start_oidc(R"({"issuers":[{"issuer":"http://idp.example","audiences":["api"]}]})"), host::LoadError);
}

// ---- DPoP ----

TEST_F(IdentityOidc, ADpopBoundTokenNeedsAFreshProofOfItsKeyForThisRequest) {
  start_oidc();
  DpopClient client, thief;
  json::object claims = a_.claims();
  claims["cnf"] = json::object{{"jkt", client.jkt()}};
  std::string token = a_.token(claims);
  const std::string url = "https://branchline.example/api/v1/me";
  auto dpop = [&](const std::string& proof, const std::string& method = "GET", const std::string& u = "") {
    return json::object{{"scheme", "DPoP"},
                        {"dpop", json::object{{"proof", proof}, {"method", method}, {"url", u.empty() ? url : u}}}};
  };

  EXPECT_REFUSED(validate(token), "DPoP-bound token presented as a bearer token");
  std::string proof = client.proof("GET", url, token);
  host::CallResult ok = validate(token, dpop(proof, "GET", url + "?page=2"));  // the query is not part of htu
  ASSERT_EQ(ok.status, BL_OK) << ok.message;
  EXPECT_EQ(parsed(ok).at("confirmation").at("jkt"), json::value(client.jkt()));
  EXPECT_REFUSED(validate(token, dpop(proof)), "replayed");
  EXPECT_REFUSED(validate(token, dpop(client.proof("POST", url, token))), "another method");
  EXPECT_REFUSED(validate(token, dpop(client.proof("GET", url + "/x", token))), "another URL");
  EXPECT_REFUSED(validate(token, dpop(client.proof("GET", url, "another-token"))), "another token");
  EXPECT_REFUSED(validate(token, dpop(client.proof("GET", url, token, now() - 3600))), "stale");
  EXPECT_REFUSED(validate(token, dpop(thief.proof("GET", url, token))), "key other than the token's");
  EXPECT_REFUSED(validate(token, json::object{{"scheme", "DPoP"}}), "proof missing");
  // A proof at fault says so in the error document (RFC 9449 7.1's invalid_dpop_proof); a token
  // at fault does not.
  EXPECT_EQ(validate(token, dpop(client.proof("POST", url, token))).result, R"({"error":"invalid_dpop_proof"})");
  EXPECT_EQ(validate(token, dpop(client.proof("GET", url, token, now() - 3600))).result, R"({"error":"invalid_dpop_proof"})");
  EXPECT_EQ(validate(token, dpop(thief.proof("GET", url, token))).result, "");  // the key binding is the token's
  EXPECT_EQ(validate(token).result, "");
  // A DPoP proof with a plain bearer token.
  std::string bearer = a_.token();
  EXPECT_REFUSED(validate(bearer, dpop(client.proof("GET", url, bearer))), "not DPoP-bound");
  // A binding this host cannot check is refused, not ignored.
  json::object mtls = a_.claims();
  mtls["cnf"] = json::object{{"x5t#S256", "abc"}};
  EXPECT_REFUSED(validate(a_.token(mtls)), "does not check");
}

TEST_F(IdentityOidc, OneUserHoldsAtMostTheirQuotaOfProofIdsWhateverTheKeyAndOthersAreNotHeldBack) {
  start_oidc(R"({"issuers":[)" + issuer_settings(a_, R"(,"dpop_proofs_per_user":16)") + "]}");
  DpopClient busy, busy_again, other;
  auto bound_to = [&](const DpopClient& client, const std::string& subject) {
    json::object claims = a_.claims(subject);
    claims["cnf"] = json::object{{"jkt", client.jkt()}};
    return a_.token(claims);
  };
  const std::string url = "https://branchline.example/api/v1/me";
  auto with = [&](const DpopClient& client, const std::string& token) {
    return json::object{{"scheme", "DPoP"},
                        {"dpop", json::object{{"proof", client.proof("GET", url, token)}, {"method", "GET"}, {"url", url}}}};
  };
  std::string busy_token = bound_to(busy, "advisor-1");
  for (int i = 0; i < 16; ++i) ASSERT_EQ(validate(busy_token, with(busy, busy_token)).status, BL_OK) << i;
  // The 17th proof of that user within the window is over the quota: not refused as bad, held back.
  host::CallResult r = validate(busy_token, with(busy, busy_token));
  EXPECT_EQ(r.status, BL_RESOURCE_EXHAUSTED) << r.message;
  EXPECT_NE(r.message.find("too many DPoP proofs by one user"), std::string::npos) << r.message;
  // Its error document says when the oldest of them leaves the window (180 s with the defaults).
  json::object document = json::parse(r.result).as_object();
  EXPECT_EQ(document.at("error"), "dpop_proof_quota");
  EXPECT_GE(document.at("retry_after_s").as_int64(), 170);
  EXPECT_LE(document.at("retry_after_s").as_int64(), 181);
  // Signing in again with a new key gets no new share; another user is not held back.
  std::string again_token = bound_to(busy_again, "advisor-1");
  EXPECT_EQ(validate(again_token, with(busy_again, again_token)).status, BL_RESOURCE_EXHAUSTED);
  std::string other_token = bound_to(other, "advisor-2");
  EXPECT_EQ(validate(other_token, with(other, other_token)).status, BL_OK);
  // A replay is still a replay, not a quota matter (and is not counted).
  std::string replayed = other.proof("GET", url, other_token);
  json::object once{{"scheme", "DPoP"}, {"dpop", json::object{{"proof", replayed}, {"method", "GET"}, {"url", url}}}};
  EXPECT_EQ(validate(other_token, once).status, BL_OK);
  EXPECT_REFUSED(validate(other_token, once), "replayed");
}

// ---- back-channel logout ----

TEST_F(IdentityOidc, ALogoutTokenNamesTheSessionAndItsRepeatIsToldAsSuch) {
  start_oidc();
  std::string token = a_.token(logout_claims(a_, "lo-1"), "es-1", "logout+jwt");
  host::CallResult r = logout(token);
  ASSERT_EQ(r.status, BL_OK) << r.message;
  json::object p = parsed(r);
  EXPECT_EQ(p.at("issuer"), json::value(a_.issuer));
  EXPECT_EQ(p.at("session_id"), "sid-advisor-1");
  EXPECT_EQ(p.at("subject"), "advisor-1");
  EXPECT_FALSE(p.contains("replayed"));
  // The same token again (the provider's retry) is told as a repeat of the same logout, not refused.
  host::CallResult again = logout(token);
  ASSERT_EQ(again.status, BL_OK) << again.message;
  json::object q = parsed(again);
  EXPECT_EQ(q.at("replayed"), true);
  EXPECT_EQ(q.at("issued_at"), p.at("issued_at"));  // dated as the first: it reaches no further
  EXPECT_EQ(q.at("session_id"), p.at("session_id"));

  auto changed = [&](const std::string& jti, auto change) {
    json::object c = logout_claims(a_, jti);
    change(c);
    return a_.token(c, "es-1", "logout+jwt");
  };
  EXPECT_REFUSED(logout(a_.token(logout_claims(a_, "lo-2"), "es-1", "at+jwt")), "not a logout token");
  EXPECT_REFUSED(logout(changed("lo-3", [](json::object& c) { c["nonce"] = "n"; })), "nonce");
  EXPECT_REFUSED(logout(changed("lo-4", [](json::object& c) { c.erase("events"); })), "events");
  EXPECT_REFUSED(logout(changed("lo-5", [](json::object& c) { c.erase("sid"), c.erase("sub"); })), "neither sid nor sub");
  EXPECT_REFUSED(logout(changed("lo-6", [](json::object& c) { c["aud"] = "branchline-api"; })), "wrong audience");
  EXPECT_REFUSED(logout(changed("lo-7", [](json::object& c) { c["iat"] = now() - 3600; })), "too old");
  EXPECT_REFUSED(logout(changed("", [](json::object& c) { c.erase("jti"); })), "no jti");
  EXPECT_REFUSED(logout(changed("lo-8", [](json::object& c) { c.erase("exp"); })), "\"exp\" is required");
  // A refused token's jti is not remembered: the provider's retry of a fixed token still counts.
  EXPECT_EQ(logout(a_.token(logout_claims(a_, "lo-3"), "es-1", "logout+jwt")).status, BL_OK);
}

}  // namespace
}  // namespace branchline::test
