// identity-oidc against the real npm oidc-provider (tests/peers/oidc-provider.mjs), over HTTPS on
// loopback: discovery and JWKS, tokens from a whole authorization-code + PKCE login at both
// levels of assurance, a DPoP-bound token, the provider's key rotation, and back-channel logout
// tokens sent by the provider itself to a receiver that hands them to the plugin.
// OidcProviderAtTheApi: the same provider in front of the API itself (the gate, the policies, the
// ledger): a login used at the API, step-up, and the provider's back-channel logout posted to the
// API's own endpoint, ending the session and its live sessions.
#include "../unit/plugins/reference_fixture.hpp"

#include "../../plugins/common/jose.hpp"
#include "../support/api_on_loopback.hpp"
#include "../support/ledger_entries.hpp"
#include "../support/oidc_peer.hpp"
#include "../support/test_idp.hpp"
#include "../support/wss_client.hpp"
#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "api/http_server.hpp"
#include "api/plugin_ports.hpp"
#include "api/session_registry.hpp"
#include "api/tls_context.hpp"

#include <boost/asio/post.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <condition_variable>

namespace branchline::test {
namespace {

namespace json = boost::json;
namespace jose = plugins::jose;

constexpr const char* kLoa1 = "urn:branchline:loa:1";
constexpr const char* kLoa2 = "urn:branchline:loa:2";

class OidcProvider : public ReferencePlugin {
 protected:
  void SetUp() override {
    ReferencePlugin::SetUp();
    tls_ = api::ensure_development_certificate(data_dir_ / "tls");
    // The receiver of back-channel logout: what branchlined's endpoint does, minus the sessions.
    api::Router router;
    router.add("POST", "/bcl", [this](const api::HttpRequest& request, api::Respond respond) {
      std::string token;
      std::string_view body = request.body;
      if (body.rfind("logout_token=", 0) == 0) token = std::string(body.substr(13, body.find('&') - 13));
      instance_->call(&bl_identity_api::validate_logout, json::serialize(json::object{{"logout_token", token}}), "{}",
                      std::chrono::milliseconds(5000), io_.get_executor(), [this, respond](host::CallResult r) {
                        {
                          std::lock_guard lock(mutex_);
                          logouts_.push_back(r);
                        }
                        logout_arrived_.notify_all();
                        respond(r.status == BL_OK ? api::HttpResponse::json(200, json::object{})
                                                  : api::HttpResponse::problem(400, r.message));
                      });
    });
    api::ServerOptions options;
    options.port = 0;
    receiver_ = std::make_unique<api::HttpServer>(io_, options, std::make_shared<api::TlsContextHolder>(tls_), std::move(router));
    receiver_->start();
    peer_ = std::make_unique<OidcPeer>(data_dir_ / "idp", tls_.cert_file, tls_.key_file,
                                       "https://127.0.0.1:" + std::to_string(receiver_->port()) + "/bcl");
    auto library = host::PluginLibrary::load(std::filesystem::path(REFERENCE_PLUGIN_DIR) / "identity-oidc.so",
                                             BL_KIND_IDENTITY);
    host::InstanceConfig config;
    config.id = "oidc-1";
    config.settings = json::parse(R"({"issuers":[{"issuer":")" + peer_->issuer() +
                                  R"(","audiences":["branchline-api"],"client_ids":["advisor-console"],)"
                                  R"("claims":["region","branch"],"jwks_refetch_interval_s":5}]})");
    config.http.ca_file = tls_.cert_file.string();
    instance_ = host::PluginInstance::create(library, std::move(config), env_);
  }
  void TearDown() override {
    peer_.reset();
    receiver_->shutdown(std::chrono::milliseconds(500));
    instance_.reset();
    ReferencePlugin::TearDown();
  }

  host::CallResult validate(const std::string& token, const json::object& extra = {}) {
    json::object body{{"token", token}};
    for (const auto& m : extra) body[m.key()] = m.value();
    return call(*instance_, &bl_identity_api::validate_token, json::serialize(body));
  }

  api::TlsSettings tls_;
  std::unique_ptr<api::HttpServer> receiver_;
  std::unique_ptr<OidcPeer> peer_;
  std::unique_ptr<host::PluginInstance> instance_;
  std::mutex mutex_;
  std::condition_variable logout_arrived_;
  std::vector<host::CallResult> logouts_;
};

TEST_F(OidcProvider, ALoginAtEachLevelGivesAnAccessTokenThePluginAccepts) {
  for (const char* level : {kLoa1, kLoa2}) {
    SCOPED_TRACE(level);
    json::object tokens = peer_->login("advisor-1", level);
    EXPECT_EQ(tokens.at("token_type"), "Bearer");
    host::CallResult r = validate(std::string(tokens.at("access_token").as_string()));
    ASSERT_EQ(r.status, BL_OK) << r.message;
    json::object p = json::parse(r.result).as_object();
    EXPECT_EQ(p.at("issuer"), json::value(peer_->issuer()));
    EXPECT_EQ(p.at("subject"), "advisor-1");
    EXPECT_EQ(p.at("roles"), (json::array{"advisor"}));
    EXPECT_EQ(p.at("acr"), level);
    EXPECT_EQ(p.at("amr"), (std::string_view(level) == kLoa2 ? json::array{"pwd", "otp"} : json::array{"pwd"}));
    EXPECT_TRUE(p.at("auth_time").is_int64());
    EXPECT_FALSE(p.at("session_id").as_string().empty());
    EXPECT_EQ(p.at("client_id"), "advisor-console");
    EXPECT_EQ(p.at("claims"), (json::object{{"region", "north"}, {"branch", "b-12"}}));
    // The ID token is not an access token, whatever its signature.
    EXPECT_EQ(validate(std::string(tokens.at("id_token").as_string())).status, BL_UNAUTHENTICATED);
  }
}

TEST_F(OidcProvider, ADpopBoundTokenWorksOnlyWithAProofOfItsKey) {
  std::shared_ptr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  json::object jwk = jose::public_jwk(key.get());
  BIGNUM* d = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
  std::string d_bytes(32, '\0');
  BN_bn2binpad(d, reinterpret_cast<unsigned char*>(d_bytes.data()), 32);
  BN_free(d);
  json::object private_jwk = jwk;
  private_jwk["d"] = jose::base64url_encode(d_bytes);

  json::object tokens = peer_->login("advisor-1", kLoa1, private_jwk);
  ASSERT_EQ(tokens.at("token_type"), "DPoP");
  std::string token(tokens.at("access_token").as_string());
  EXPECT_EQ(validate(token).status, BL_UNAUTHENTICATED);  // presented as a bearer token

  const std::string url = "https://127.0.0.1:8443/api/v1/me";
  json::object header{{"alg", "ES256"}, {"typ", "dpop+jwt"}, {"jwk", jwk}};
  json::object claims{{"htm", "GET"}, {"htu", url}, {"iat", std::time(nullptr)}, {"jti", "proof-1"},
                      {"ath", jose::sha256_b64url(token)}};
  std::string proof = jose::sign(header, claims, key.get(), jose::Alg::ES256);
  host::CallResult r = validate(token, {{"scheme", "DPoP"},
                                        {"dpop", json::object{{"proof", proof}, {"method", "GET"}, {"url", url}}}});
  ASSERT_EQ(r.status, BL_OK) << r.message;
  EXPECT_EQ(json::parse(r.result).at("confirmation").at("jkt"), json::value(jose::sha256_b64url(json::serialize(jwk))));
}

TEST_F(OidcProvider, AfterTheProviderRotatesItsKeyNewAndOldTokensAreAccepted) {
  std::string before(peer_->login("advisor-1").at("access_token").as_string());
  ASSERT_EQ(validate(before).status, BL_OK);
  std::string kid = peer_->rotate();
  std::string after(peer_->login("advisor-1").at("access_token").as_string());
  EXPECT_EQ(jose::parse_jws(after, 8192).kid, kid);  // signed with the new key
  host::CallResult r = validate(after);              // an unknown kid: one refetch
  EXPECT_EQ(r.status, BL_OK) << r.message;
  EXPECT_EQ(validate(before).status, BL_OK);  // the old key is still published
}

TEST_F(OidcProvider, TheProvidersBackChannelLogoutNamesTheSessionOfTheAccessToken) {
  json::object tokens = peer_->login("advisor-1", kLoa2);
  host::CallResult access = validate(std::string(tokens.at("access_token").as_string()));
  ASSERT_EQ(access.status, BL_OK) << access.message;
  std::string sid(json::parse(access.result).at("session_id").as_string());

  auto started = std::chrono::steady_clock::now();
  peer_->logout(std::string(tokens.at("browser").as_string()));
  std::unique_lock lock(mutex_);
  ASSERT_TRUE(logout_arrived_.wait_for(lock, std::chrono::seconds(10), [&] { return !logouts_.empty(); }));
  auto elapsed = std::chrono::steady_clock::now() - started;
  host::CallResult logout = logouts_.front();
  lock.unlock();
  ASSERT_EQ(logout.status, BL_OK) << logout.message;
  json::object named = json::parse(logout.result).as_object();
  EXPECT_EQ(named.at("issuer"), json::value(peer_->issuer()));
  EXPECT_EQ(named.at("session_id"), json::value(sid));
  EXPECT_EQ(named.at("subject"), "advisor-1");
  // The provider saw its delivery accepted.
  for (int i = 0; i < 50 && peer_->events().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  json::array events = peer_->events();
  ASSERT_EQ(events.size(), 1u) << json::serialize(events);
  EXPECT_EQ(events[0].at("event"), "backchannel.success");
  std::cout << "logout delivered " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
            << " ms after the user confirmed it\n";
}


class OidcProviderAtTheApi : public ReferencePlugin {
 protected:
  void SetUp() override {
    ReferencePlugin::SetUp();
    tls_ = api::ensure_development_certificate(data_dir_ / "tls");
    // The API first (as branchlined starts it), its identity plugin bound once it runs.
    identity_ = std::make_shared<api::PluginIdentity>("oidc-1", io_.get_executor(), std::chrono::milliseconds(10000));
    sessions_ = std::make_shared<api::SessionRegistry>(std::chrono::seconds(3660));
    api::AccessOptions options;
    options.node = "node-1";
    options.post = [this](std::function<void()> work) { boost::asio::post(io_, std::move(work)); };
    api::AuthOptions auth;
    auth.max_token_bytes = 6144;  // below the test client's 8 KiB header cap, so that "oversized" reaches the server
    gate_ = std::make_shared<api::AccessGate>(
        std::make_shared<api::Authenticator>(identity_, sessions_, auth),
        std::make_shared<const policy::PolicySet>(policy::PolicySet::embedded_default()), env_.audit, options);
    api::ApiContext context;
    context.gate = gate_;
    api_ = serve_api_on_loopback(io_, tls_, std::move(context));
    base_ = loopback_url(*api_);
    peer_ = std::make_unique<OidcPeer>(data_dir_ / "idp", tls_.cert_file, tls_.key_file, base_ + "/api/v1/auth/backchannel-logout");
    auto library = host::PluginLibrary::load(std::filesystem::path(REFERENCE_PLUGIN_DIR) / "identity-oidc.so",
                                             BL_KIND_IDENTITY);
    host::InstanceConfig config;
    config.id = "oidc-1";
    config.settings = json::parse(R"({"issuers":[{"issuer":")" + peer_->issuer() +
                                  R"(","audiences":["branchline-api"],"client_ids":["advisor-console"],"claims":["region","branch"]}]})");
    config.http.ca_file = tls_.cert_file.string();
    instance_ = host::PluginInstance::create(library, std::move(config), env_);
    identity_->bind(instance_.get());
    client_policy_.ca_file = tls_.cert_file.string();
  }
  void TearDown() override {
    peer_.reset();
    api_->shutdown(std::chrono::milliseconds(500));
    identity_->unbind();
    instance_.reset();
    ReferencePlugin::TearDown();
  }

  net::HttpResponse me(const std::string& token) {
    net::HttpResponse r = https_call(client_, client_policy_, "GET", base_ + "/api/v1/me", {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(r.status, BL_OK) << r.message;
    return r;
  }

  // The principal the gate makes of a token, as a route would get it.
  std::shared_ptr<const api::Principal> principal(const std::string& token) {
    api::HttpRequest request;
    request.method = "GET";
    request.path = "/api/v1/me";
    request.headers = {{"authorization", "Bearer " + token}};
    std::promise<std::shared_ptr<const api::Principal>> got;
    gate_->authenticate(request, [&got](api::HttpResponse) { got.set_value(nullptr); },
                        [&got](std::shared_ptr<const api::Principal> p) { got.set_value(std::move(p)); });
    return got.get_future().get();
  }

  api::TlsSettings tls_;
  std::shared_ptr<api::PluginIdentity> identity_;
  std::shared_ptr<api::SessionRegistry> sessions_;
  std::shared_ptr<api::AccessGate> gate_;
  std::unique_ptr<api::HttpServer> api_;
  std::string base_;
  std::unique_ptr<OidcPeer> peer_;
  std::unique_ptr<host::PluginInstance> instance_;
  net::HttpClient client_;
  net::HttpPolicy client_policy_;
};

TEST_F(OidcProviderAtTheApi, TheProvidersLogoutEndsTheSessionAtTheApiWithinASecond) {
  json::object tokens = peer_->login("advisor-1", kLoa1);
  std::string token(tokens.at("access_token").as_string());
  net::HttpResponse r = me(token);
  ASSERT_EQ(r.http_status, 200) << r.body;
  json::object who = json::parse(r.body).as_object();
  EXPECT_EQ(who.at("principal"), json::value(peer_->issuer() + "|advisor-1"));
  EXPECT_EQ(who.at("acr"), kLoa1);
  EXPECT_EQ(who.at("attributes"), (json::object{{"region", "north"}, {"branch", "b-12"}}));
  std::string sid(who.at("session_id").as_string());

  // A live session of that sign-in: the live channel, a real WebSocket opened with the provider's token.
  WssClient live(tls_.cert_file.string());
  ASSERT_EQ(live.connect(api_->port(), "/api/v1/live", {{"Authorization", "Bearer " + token}}), 101) << live.error();
  auto hello = live.read();
  ASSERT_TRUE(hello);
  EXPECT_EQ(json::parse(*hello).at("session_id"), json::value(sid));

  auto started = std::chrono::steady_clock::now();
  peer_->logout(std::string(tokens.at("browser").as_string()));  // the user signs out at the provider
  EXPECT_FALSE(live.read(std::chrono::seconds(10)));  // the close frame, sent by the host on the provider's logout
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(live.closed());
  EXPECT_EQ(live.close_code(), 1008);
  EXPECT_LT(took, std::chrono::seconds(1));
  std::printf("single logout from the real provider: the WebSocket was closed %.0f ms after the user signed out\n",
              std::chrono::duration<double, std::milli>(took).count());

  r = me(token);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_NE(r.body.find("ended by logout"), std::string::npos) << r.body;
  json::object entry = ledger_entry(data_dir_ / "audit.db", "auth.logout");
  EXPECT_EQ(entry.at("outcome"), "success");
  EXPECT_EQ(entry.at("resource").at("id"), json::value(sid));
  EXPECT_EQ(entry.at("closed"), 1);
  for (int i = 0; i < 50 && peer_->events().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(peer_->events().at(0).at("event"), "backchannel.success");  // the provider saw our 200
  // A new sign-in is a new session.
  EXPECT_EQ(me(std::string(peer_->login("advisor-1", kLoa1).at("access_token").as_string())).http_status, 200);
}

// The attack suite against the real provider: its own token altered, tokens it "signed" with its
// own keys but wrong claims (made by its /test/sign helper), HS256 keyed with its published RSA
// key, an unknown key. Each is refused 401 at the API and audited, and the genuine token passes.
TEST_F(OidcProviderAtTheApi, EveryAttackTokenMadeFromTheRealProvidersTokenAndKeysIs401AndAudited) {
  std::string good(peer_->login("advisor-1", kLoa1).at("access_token").as_string());
  ASSERT_EQ(me(good).http_status, 200);
  std::size_t dot1 = good.find('.'), dot2 = good.find('.', dot1 + 1);
  std::string payload_b64 = good.substr(dot1 + 1, dot2 - dot1 - 1);
  json::object claims = json::parse(*jose::base64url_decode(payload_b64)).as_object();
  auto b64 = [](std::string_view s) { return jose::base64url_encode(s); };
  auto signed_with = [&](const std::string& kid, auto change) {
    json::object c = claims;
    change(c);
    return peer_->sign(kid, {{"typ", "at+jwt"}}, c);
  };
  auto now_s = [] { return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(); };
  // The provider's RSA key as it publishes it, for the HMAC confusion.
  jose::JwkSet published = jose::parse_jwks(peer_->jwks_text());
  const jose::Jwk* rsa = nullptr;
  for (const auto& k : published.keys)
    if (k.kty == "RSA") rsa = &k;
  ASSERT_NE(rsa, nullptr);
  Key rogue = make_key("EC", "P-256");
  // The control: the helper's signature with the claims unchanged is a token the API accepts, so
  // each refusal below is for what was changed.
  ASSERT_EQ(me(signed_with("es-1", [](json::object&) {})).http_status, 200);

  std::vector<std::pair<std::string, std::string>> attacks = {
      {"alg none", b64(R"({"alg":"none","typ":"at+jwt"})") + "." + payload_b64 + ".c2ln"},
      {"HS256 keyed with the RSA public key", hs256_keyed_with_public_pem(rsa->key.get(), rsa->kid, payload_b64)},
      {"wrong audience", signed_with("es-1", [](json::object& c) { c["aud"] = "another-api"; })},
      {"wrong issuer", signed_with("es-1", [&](json::object& c) { c["iss"] = peer_->issuer() + "/"; })},
      {"expired", signed_with("es-1", [&](json::object& c) { c["exp"] = now_s() - 120; })},
      {"not yet valid", signed_with("es-1", [&](json::object& c) { c["nbf"] = now_s() + 600; })},
      {"unknown kid", jose::sign({{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", "rogue"}}, claims, rogue.get(), jose::Alg::ES256)},
      {"tampered payload", good.substr(0, dot1 + 1) + b64(json::serialize([&] {
                             json::object c = claims;
                             c["roles"] = json::array{"auditor"};
                             return c;
                           }())) + good.substr(dot2)},
      {"oversized", signed_with("es-1", [](json::object& c) { c["pad"] = std::string(5000, 'x'); })},
      {"not an access token (typ)", peer_->sign("es-1", {{"typ", "JWT"}}, claims)},
  };
  for (const auto& [name, token] : attacks) {
    SCOPED_TRACE(name);
    net::HttpResponse r = me(token);
    EXPECT_EQ(r.http_status, 401) << r.body;
  }
  std::size_t refused = 0;
  for (const auto& e : ledger_entries(data_dir_ / "audit.db"))
    if (e.at("action") == "auth.token") {
      ++refused;
      EXPECT_EQ(e.at("outcome"), "denied");
      EXPECT_EQ(e.at("status"), 401);
    }
  EXPECT_EQ(refused, attacks.size());
  EXPECT_EQ(me(good).http_status, 200);
}

TEST_F(OidcProviderAtTheApi, MovingMoneyAsksForAStepUpThatASecondFactorSignInMeets) {
  auto ask_transfer = [&](const api::Principal& p) {
    api::HttpRequest request;
    request.method = "POST";
    request.path = "/api/v1/customers/c-1001/operations";
    api::Question q;
    q.action = "core.operation.transfer";
    q.resource = {"Customer", "c-1001"};
    q.entities.add({q.resource, {{"region", policy::Value("north")}}, {}});
    q.durable = true;
    std::promise<int> status;
    gate_->authorize(request, p, std::move(q), [&status](api::HttpResponse r) {
      std::string challenge;
      for (const auto& [k, v] : r.headers)
        if (k == "WWW-Authenticate" && v.rfind("Bearer", 0) == 0) challenge = v;
      EXPECT_NE(challenge.find("error=\"insufficient_user_authentication\""), std::string::npos) << challenge;
      EXPECT_NE(challenge.find("acr_values=\"urn:branchline:loa:2\", max_age=300"), std::string::npos) << challenge;
      status.set_value(r.status);
    }, [&status](api::Verdict) { status.set_value(200); });
    return status.get_future().get();
  };
  auto password_only = principal(std::string(peer_->login("advisor-1", kLoa1).at("access_token").as_string()));
  ASSERT_TRUE(password_only);
  EXPECT_EQ(ask_transfer(*password_only), 401);
  // The client signs in again as the challenge asks (acr_values=urn:branchline:loa:2): now with a second factor.
  auto second_factor = principal(std::string(peer_->login("advisor-1", kLoa2).at("access_token").as_string()));
  ASSERT_TRUE(second_factor);
  EXPECT_EQ(second_factor->amr, (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(ask_transfer(*second_factor), 200);
}

}  // namespace
}  // namespace branchline::test
