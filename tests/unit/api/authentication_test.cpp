// The API's way in, end to end on loopback: a real HTTPS client (libcurl) calls the API server,
// which asks the real identity-oidc plugin (through the real host) about tokens signed by an
// identity provider this test holds (its discovery and JWKS served over HTTPS), decides with the
// built-in policy, and writes the real audit ledger. The attack tokens, the challenges, DPoP,
// single logout, step-up, the per-principal limit and failing closed.
#include "../../support/api_stack.hpp"
#include "../../support/scoped_tmpfs.hpp"

#include "api/logout_record.hpp"
#include "common/sha256.hpp"


#include <fstream>
#include <set>

namespace branchline::test {
namespace {

namespace json = boost::json;
namespace jose = plugins::jose;
using namespace std::chrono_literals;

constexpr const char* kLoa1 = "urn:branchline:loa:1";

using ApiAuthentication = ApiStack;

TEST_F(ApiAuthentication, ASignedInAdvisorReadsTheirOwnSessionAndTheDecisionIsAudited) {
  start_api();
  std::string token = idp_.token();
  net::HttpResponse r = me(token);
  ASSERT_EQ(r.http_status, 200) << r.body;
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("principal"), json::value(idp_.issuer + "|advisor-1"));
  EXPECT_EQ(body.at("roles"), (json::array{"advisor"}));
  EXPECT_EQ(body.at("session_id"), "sid-advisor-1");
  EXPECT_EQ(body.at("acr"), "urn:branchline:loa:2");
  EXPECT_EQ(body.at("amr"), (json::array{"pwd", "otp"}));
  EXPECT_EQ(body.at("attributes"), (json::object{{"region", "north"}}));
  EXPECT_EQ(body.at("token_binding"), "bearer");

  json::object entry = ledger_entry(data_dir_ / "audit.db", "policy.decide");  // an allow is not waited for
  ASSERT_FALSE(entry.empty());
  EXPECT_EQ(entry.at("outcome"), "success");
  EXPECT_EQ(entry.at("policy_decision"), body.at("decision_id"));
  const json::object& decision = entry.at("decision").as_object();
  EXPECT_EQ(decision.at("id"), body.at("decision_id"));
  EXPECT_EQ(decision.at("action"), "session.me.read");
  EXPECT_EQ(decision.at("result"), "allow");
  EXPECT_EQ(decision.at("rules"), (json::array{"everyone-reads-own-session"}));
  EXPECT_EQ(decision.at("policy_hash"), json::value(policies_->hash()));
  EXPECT_EQ(entry.at("actor").at("principal"), json::value(idp_.issuer + "|advisor-1"));
  EXPECT_EQ(entry.at("actor").at("role"), "advisor");
  EXPECT_EQ(entry.at("actor").at("session"), "sid-advisor-1");
  EXPECT_EQ(entry.at("correlation_id"), json::value(header(r, "X-Request-Id")));
  EXPECT_EQ(json::serialize(entry).find(token.substr(token.rfind('.') + 1)), std::string::npos);  // no token
}

TEST_F(ApiAuthentication, WithoutATokenTheAnswerIsAChallengeForBothSchemesAndIsAudited) {
  start_api();
  net::HttpResponse r = send("GET", "/api/v1/me", {});
  EXPECT_EQ(r.http_status, 401);
  EXPECT_EQ(header(r, "Content-Type"), "application/problem+json");
  std::vector<std::string> challenges = header_values(r, "WWW-Authenticate");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0], "Bearer realm=\"branchline\"");  // no error code without a token (RFC 6750 §3.1)
  EXPECT_EQ(challenges[1].rfind("DPoP realm=\"branchline\", algs=\"ES256 ", 0), 0u) << challenges[1];
  std::vector<json::object> refused = entries("auth.token");
  ASSERT_EQ(refused.size(), 1u);  // durable before the answer
  EXPECT_EQ(refused[0].at("outcome"), "denied");
  EXPECT_EQ(refused[0].at("reason"), "no access token");
  EXPECT_EQ(refused[0].at("resource"), (json::object{{"type", "api_route"}, {"id", "GET /api/v1/me"}}));
  EXPECT_EQ(refused[0].at("status"), 401);
}

TEST_F(ApiAuthentication, EveryAttackTokenIsAnswered401AndAudited) {
  start_api();
  auto claims = [&](auto change) {
    json::object c = idp_.claims();
    change(c);
    return c;
  };
  auto b64 = [](std::string_view s) { return jose::base64url_encode(s); };
  std::string good = idp_.token(idp_.claims(), "rs-1");
  std::size_t dot1 = good.find('.'), dot2 = good.find('.', dot1 + 1);
  std::string payload = good.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string hs256 = hs256_keyed_with_public_pem(idp_.keys.at("rs-1").first.get(), "rs-1", payload);
  idp_.add("rogue", make_key("EC", "P-256"), jose::Alg::ES256, /*publish=*/false);
  std::vector<std::pair<std::string, std::string>> attacks = {
      {"alg none", b64(R"({"alg":"none","typ":"at+jwt"})") + "." + payload + ".c2ln"},
      {"HS256 keyed with the RSA public key", hs256},
      {"wrong audience", idp_.token(claims([](json::object& c) { c["aud"] = "another-api"; }))},
      {"wrong issuer", idp_.token(claims([&](json::object& c) { c["iss"] = idp_.issuer + "/"; }))},
      {"expired", idp_.token(claims([](json::object& c) { c["exp"] = now() - 120; }))},
      {"not yet valid", idp_.token(claims([](json::object& c) { c["nbf"] = now() + 600; }))},
      {"unknown kid", idp_.token(idp_.claims(), "rogue")},
      {"tampered payload",
       good.substr(0, dot1 + 1) + b64(json::serialize(claims([](json::object& c) { c["roles"] = json::array{"auditor"}; }))) +
           good.substr(dot2)},
      {"oversized", idp_.token(claims([](json::object& c) { c["pad"] = std::string(5000, 'x'); }))},
      {"signed by a weak key of the key set", idp_.token(idp_.claims(), "weak")},
  };
  std::set<std::string> fingerprints;
  for (const auto& [name, token] : attacks) {
    SCOPED_TRACE(name);
    net::HttpResponse r = me(token);
    EXPECT_EQ(r.http_status, 401) << r.body;
    std::vector<std::string> challenges = header_values(r, "WWW-Authenticate");
    ASSERT_EQ(challenges.size(), 2u);
    EXPECT_EQ(challenges[0].rfind("Bearer realm=\"branchline\", error=\"invalid_token\", error_description=\"", 0), 0u)
        << challenges[0];
    fingerprints.insert(sha256_hex(token).substr(0, 16));
  }
  // Each refusal is in the ledger (durable before its answer), with the token's fingerprint only.
  std::vector<json::object> refused = entries("auth.token");
  ASSERT_EQ(refused.size(), attacks.size());
  std::set<std::string> audited;
  for (const auto& e : refused) {
    EXPECT_EQ(e.at("outcome"), "denied");
    EXPECT_EQ(e.at("status"), 401);
    audited.insert(std::string(e.at("token_fingerprint").as_string()));
    for (const auto& [name, token] : attacks) EXPECT_EQ(json::serialize(e).find(token.substr(dot1 + 1, 40)), std::string::npos);
  }
  EXPECT_EQ(audited, fingerprints);
  EXPECT_EQ(me(good).http_status, 200);  // and the provider's own tokens still pass
}

TEST_F(ApiAuthentication, AMalformedAuthorizationIsABadRequest) {
  start_api();
  std::string token = idp_.token();
  EXPECT_EQ(me("not token68!").http_status, 400);
  EXPECT_EQ(send("GET", "/api/v1/me", {{"Authorization", "Bearer " + token}, {"Authorization", "Bearer " + token}}).http_status, 400);
  net::HttpResponse r = me(token, "DPoP");  // a DPoP token needs its proof header
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(header(r, "WWW-Authenticate"), "DPoP realm=\"branchline\", error=\"invalid_request\", algs=\"ES256 ES384 ES512 "
                                           "PS256 PS384 PS512 RS256 RS384 RS512 EdDSA\"");
  EXPECT_EQ(me(token, "Basic").http_status, 401);  // another scheme: challenged, as with no token
  EXPECT_EQ(entries("auth.token").size(), 4u);
}

TEST_F(ApiAuthentication, ADpopBoundTokenPassesOnlyWithAProofForThisRequest) {
  start_api();
  DpopClient client;
  std::string token = idp_.token(
      [&] {
        json::object c = idp_.claims();
        c["cnf"] = json::object{{"jkt", client.jkt()}};
        return c;
      }(),
      "es-1");
  std::string url = base_ + "/api/v1/me";
  net::HttpResponse r = me(token, "DPoP", {{"DPoP", client.proof("GET", url, token)}});
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("token_binding"), "dpop");
  auto challenge = [](const net::HttpResponse& response, const std::string& scheme) {
    for (const std::string& value : header_values(response, "WWW-Authenticate"))
      if (value.rfind(scheme + " ", 0) == 0) return value;
    return std::string();
  };
  r = me(token);
  EXPECT_EQ(r.http_status, 401);  // as a bearer token: the token's fault
  EXPECT_NE(challenge(r, "Bearer").find("error=\"invalid_token\""), std::string::npos) << challenge(r, "Bearer");
  // A proof at fault is invalid_dpop_proof (RFC 9449 7.1): the client may retry with a new proof.
  r = me(token, "DPoP", {{"DPoP", client.proof("POST", url, token)}});  // another method
  EXPECT_EQ(r.http_status, 401);
  EXPECT_NE(challenge(r, "DPoP").find("error=\"invalid_dpop_proof\""), std::string::npos) << challenge(r, "DPoP");
  EXPECT_EQ(me(token, "DPoP", {{"DPoP", client.proof("GET", base_ + "/api/v1/other", token)}}).http_status, 401);
  // Another key than the token's: the token's fault (RFC 9449 7.1), no new proof will mend it.
  DpopClient thief;
  r = me(token, "DPoP", {{"DPoP", thief.proof("GET", url, token)}});
  EXPECT_EQ(r.http_status, 401);
  EXPECT_NE(challenge(r, "DPoP").find("error=\"invalid_token\""), std::string::npos) << challenge(r, "DPoP");
}

TEST_F(ApiAuthentication, AUserOverTheirQuotaOfDpopProofsIs429WithRetryAfterAndOnTheRecord) {
  // The same plugin, allowed 16 unexpired proofs per key.
  identity_->unbind();
  instance_.reset();
  auto library = host::PluginLibrary::load(std::filesystem::path(REFERENCE_PLUGIN_DIR) / "identity-oidc.so", BL_KIND_IDENTITY);
  host::InstanceConfig config;
  config.id = "oidc-1";
  config.settings = json::parse(R"({"issuers":[{"issuer":")" + idp_.issuer +
                                R"(","audiences":["branchline-api"],"client_ids":["advisor-console"],"dpop_proofs_per_user":16}]})");
  config.http.ca_file = tls_.cert_file.string();
  instance_ = host::PluginInstance::create(library, std::move(config), env_);
  identity_->bind(instance_.get());
  start_api();
  DpopClient client;
  json::object bound = idp_.claims();
  bound["cnf"] = json::object{{"jkt", client.jkt()}};
  std::string token = idp_.token(bound, "es-1");
  const std::string url = base_ + "/api/v1/me";
  for (int i = 0; i < 16; ++i) ASSERT_EQ(me(token, "DPoP", {{"DPoP", client.proof("GET", url, token)}}).http_status, 200) << i;
  net::HttpResponse r = me(token, "DPoP", {{"DPoP", client.proof("GET", url, token)}});
  EXPECT_EQ(r.http_status, 429) << r.body;
  // When the user's oldest proof leaves the window (180 s with the defaults): then one more passes.
  int retry_after = std::stoi(header(r, "Retry-After"));
  EXPECT_GE(retry_after, 170);
  EXPECT_LE(retry_after, 181);
  EXPECT_EQ(header(r, "Content-Type"), "application/problem+json");
  std::vector<json::object> refused = entries("auth.token");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].at("outcome"), "denied");
  EXPECT_EQ(refused[0].at("status"), 429);
}

// The identity plugin, counting the tokens it is asked about.
struct CountingIdentity final : api::IdentityProvider {
  std::shared_ptr<api::IdentityProvider> plugin;
  std::atomic<int> tokens{0};
  void validate_token(std::string body, Done done) override {
    ++tokens;
    plugin->validate_token(std::move(body), std::move(done));
  }
  void validate_logout(std::string body, Done done) override { plugin->validate_logout(std::move(body), std::move(done)); }
  std::string default_issuer() const override { return plugin->default_issuer(); }
};

TEST_F(ApiAuthentication, ABearerTokenIsCheckedByThePluginOnceAndTheHostsOwnChecksStillRunEveryTime) {
  auto counting = std::make_shared<CountingIdentity>();
  counting->plugin = identity_;
  api::AccessOptions options;
  gate_ = std::make_shared<api::AccessGate>(std::make_shared<api::Authenticator>(counting, sessions_, api::AuthOptions{}),
                                            policies_, env_.audit, options);
  api::ApiContext context;
  context.gate = gate_;
  api_ = serve_api_on_loopback(io_, tls_, std::move(context));
  base_ = loopback_url(*api_);
  std::string token = idp_.token();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(me(token).http_status, 200);
  EXPECT_EQ(counting->tokens, 1);
  // Another token is checked on its own; a DPoP proof, on every request.
  ASSERT_EQ(me(idp_.token(idp_.claims("advisor-2"))).http_status, 200);
  EXPECT_EQ(counting->tokens, 2);
  DpopClient client;
  json::object bound = idp_.claims();
  bound["cnf"] = json::object{{"jkt", client.jkt()}};
  std::string dpop_token = idp_.token(bound);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(me(dpop_token, "DPoP", {{"DPoP", client.proof("GET", base_ + "/api/v1/me", dpop_token)}}).http_status, 200);
  EXPECT_EQ(counting->tokens, 4);
  EXPECT_EQ(me(dpop_token).http_status, 401);  // a bound token as a bearer: checked, refused, not cached
  EXPECT_EQ(me(dpop_token).http_status, 401);
  EXPECT_EQ(counting->tokens, 6);
  // A refused token is never cached.
  json::object wrong = idp_.claims();
  wrong["aud"] = "someone-else";
  std::string refused = idp_.token(wrong);
  EXPECT_EQ(me(refused).http_status, 401);
  EXPECT_EQ(me(refused).http_status, 401);
  EXPECT_EQ(counting->tokens, 8);
  // The cached token's session ends: refused at once, without asking the plugin.
  ASSERT_EQ(logout(idp_.token(logout_claims(idp_, "lo-cache"), "es-1", "logout+jwt")).http_status, 200);
  net::HttpResponse r = me(token);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_NE(r.body.find("ended by logout"), std::string::npos) << r.body;
  EXPECT_EQ(counting->tokens, 8);
}

TEST_F(ApiAuthentication, SingleLogoutEndsTheSessionsTokensAndLiveSessionsAtOnce) {
  start_api();
  std::string token = idp_.token();
  ASSERT_EQ(me(token).http_status, 200);
  std::string other_session = idp_.token([&] {
    json::object c = idp_.claims();
    c["sid"] = "sid-2";
    return c;
  }());
  std::atomic<bool> closed{false};
  auto live = sessions_->attach({idp_.issuer, "advisor-1", "sid-advisor-1"}, now(), [&] { closed = true; });

  auto started = std::chrono::steady_clock::now();
  std::string logout_token = idp_.token(logout_claims(idp_, "lo-1"), "es-1", "logout+jwt");
  net::HttpResponse r = logout(logout_token);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_TRUE(closed);  // closed before the provider got its answer
  EXPECT_LT(took, 1s);
  std::printf("back-channel logout: answered and the live session closed in %.1f ms\n",
              std::chrono::duration<double, std::milli>(took).count());

  net::HttpResponse refused = me(token);
  EXPECT_EQ(refused.http_status, 401);
  EXPECT_NE(refused.body.find("ended by logout"), std::string::npos) << refused.body;
  EXPECT_EQ(me(other_session).http_status, 200);  // the logout named one session (sid)

  json::object entry = entries("auth.logout").at(0);
  EXPECT_EQ(entry.at("outcome"), "success");
  EXPECT_EQ(entry.at("closed"), 1);
  EXPECT_EQ(entry.at("resource"),
            (json::object{{"type", "session"}, {"issuer", idp_.issuer}, {"id", "sid-advisor-1"}, {"subject", "advisor-1"}}));

  // The same logout token again (the provider's retry after a lost answer): 200 again, audited as
  // a repeat, and nothing new ended.
  std::atomic<bool> later_closed{false};
  auto later_live = sessions_->attach({idp_.issuer, "advisor-1", "sid-2"}, now(), [&] { later_closed = true; });
  r = logout(logout_token);
  EXPECT_EQ(r.http_status, 200) << r.body;
  ASSERT_EQ(entries("auth.logout").size(), 2u);
  EXPECT_EQ(entries("auth.logout").at(1).at("outcome"), "success");
  EXPECT_EQ(entries("auth.logout").at(1).at("replayed"), true);
  EXPECT_EQ(entries("auth.logout").at(1).at("logout_at"), entry.at("logout_at"));
  EXPECT_FALSE(later_closed);
  EXPECT_EQ(me(other_session).http_status, 200);
  // Another logout under a used token id: 400 with an OAuth error, and audited.
  json::object reused = logout_claims(idp_, "lo-1");
  reused["sid"] = "sid-2";
  r = logout(idp_.token(reused, "es-1", "logout+jwt"));
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(json::parse(r.body).at("error"), "invalid_request");
  ASSERT_EQ(entries("auth.logout").size(), 3u);
  EXPECT_EQ(entries("auth.logout").at(2).at("outcome"), "denied");
  EXPECT_FALSE(later_closed);
  // Not a form: refused before the plugin sees it.
  EXPECT_EQ(send("POST", "/api/v1/auth/backchannel-logout", {{"Content-Type", "application/json"}}, "{}").http_status, 400);

  // A logout of the subject alone ends every earlier session of theirs; a later sign-in works.
  json::object by_subject = logout_claims(idp_, "lo-2");
  by_subject.erase("sid");
  ASSERT_EQ(logout(idp_.token(by_subject, "es-1", "logout+jwt")).http_status, 200);
  EXPECT_EQ(me(other_session).http_status, 401);
  json::object later = idp_.claims();
  later["iat"] = now() + 2;
  later["sid"] = "sid-3";
  EXPECT_EQ(me(idp_.token(later)).http_status, 200);
}

TEST_F(ApiAuthentication, AStepUpRuleIsAnsweredWithAnRfc9470Challenge) {
  start_api();
  api::HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/customers/c-1/operations";
  request.remote_address = "10.0.0.7";
  request.request_id = "req-1";
  api::Principal advisor;
  advisor.issuer = idp_.issuer;
  advisor.subject = "advisor-1";
  advisor.roles = {"advisor"};
  advisor.acr = kLoa1;
  advisor.auth_time = now() - 30;
  advisor.claims = json::object{{"region", "north"}};
  auto ask = [&](const api::Principal& p, const std::string& customer_region) {
    api::Question q;
    q.action = "core.operation.transfer";
    q.resource = {"Customer", "c-1"};
    q.entities.add({q.resource, {{"region", policy::Value(customer_region)}}, {}});
    q.durable = true;
    std::promise<std::optional<api::HttpResponse>> answer;
    gate_->authorize(request, p, std::move(q), [&answer](api::HttpResponse r) { answer.set_value(std::move(r)); },
                     [&answer](api::Verdict) { answer.set_value(std::nullopt); });
    auto f = answer.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  };

  std::optional<api::HttpResponse> r = ask(advisor, "north");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  std::string challenge;
  for (const auto& [k, v] : r->headers)
    if (k == "WWW-Authenticate" && v.rfind("Bearer", 0) == 0) challenge = v;
  EXPECT_EQ(challenge,
            "Bearer realm=\"branchline\", error=\"insufficient_user_authentication\", error_description=\"a stronger or more "
            "recent authentication is required\", acr_values=\"urn:branchline:loa:2\", max_age=300");
  json::object entry = entries("policy.decide").back();
  EXPECT_EQ(entry.at("outcome"), "denied");
  EXPECT_EQ(entry.at("decision").at("step_up").at("rule"), "money-movement-needs-recent-mfa");
  EXPECT_EQ(entry.at("decision").at("rules"), (json::array{"money-movement-needs-recent-mfa"}));

  api::Principal stepped_up = advisor;
  stepped_up.acr = "urn:branchline:loa:2";
  r = ask(stepped_up, "south");  // another region's customer: no permit
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  entry = entries("policy.decide").back();
  EXPECT_EQ(entry.at("outcome"), "denied");
  EXPECT_EQ(entry.at("reason"), "no policy permits it");
  EXPECT_EQ(entry.at("decision").at("rules"), json::array());
  EXPECT_FALSE(ask(stepped_up, "north"));  // allowed: the route goes on
  entry = entries("policy.decide").back();  // durable before it went on
  EXPECT_EQ(entry.at("outcome"), "success");
  EXPECT_EQ(entry.at("decision").at("rules"), (json::array{"advisors-serve-customers-of-their-region"}));
}

TEST_F(ApiAuthentication, OverItsOwnLimitAPrincipalGets429AndOthersDoNot) {
  start_api(api::RateLimit{0.01, 2});
  std::string token = idp_.token();
  EXPECT_EQ(me(token).http_status, 200);
  EXPECT_EQ(me(token).http_status, 200);
  net::HttpResponse r = me(token);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_FALSE(header(r, "Retry-After").empty());
  EXPECT_EQ(me(idp_.token(idp_.claims("advisor-2"))).http_status, 200);
}

TEST_F(ApiAuthentication, WithTheIdentityPluginDownTheAnswerIs503NotADenial) {
  start_api();
  std::string token = idp_.token();
  identity_->unbind();
  net::HttpResponse r = me(token);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(header(r, "Retry-After"), "5");
  EXPECT_TRUE(header_values(r, "WWW-Authenticate").empty());
  json::object entry = entries("auth.token").at(0);
  EXPECT_EQ(entry.at("outcome"), "failure");
}

TEST_F(ApiAuthentication, WhenTheLedgerCannotBeWrittenTheRequestFailsClosed) {
  ScopedTmpfs disk(data_dir_ / "small-disk", "2m");
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs CAP_SYS_ADMIN (./tests/run.sh runs as root)";
  std::shared_ptr<audit::Ledger> ledger = audit::Ledger::open(data_dir_ / "small-disk" / "audit.db");
  start_api(std::nullopt, ledger);
  ASSERT_EQ(send("GET", "/api/v1/me", {}).http_status, 401);  // the ledger works: audited, then answered
  {
    std::ofstream fill(data_dir_ / "small-disk" / "fill", std::ios::binary);
    std::string block(64 * 1024, 'x');
    while (fill.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  net::HttpResponse r = send("GET", "/api/v1/me", {});
  EXPECT_EQ(r.http_status, 503);
  EXPECT_NE(r.body.find("audit ledger cannot be written"), std::string::npos) << r.body;
  r = me(idp_.token(idp_.claims("advisor-3")));
  EXPECT_EQ(r.http_status, 200);  // an allow that reads no customer data is not held back by the ledger

  // A logout that cannot be recorded is answered 503 (the provider retries); its retry, once the
  // ledger can be written again, is answered 200 and recorded, so that a restart still knows it.
  std::string logout_token = idp_.token(logout_claims(idp_, "lo-full"), "es-1", "logout+jwt");
  r = logout(logout_token);
  EXPECT_EQ(r.http_status, 503);
  // Applied at once all the same: ending sessions fails safe.
  EXPECT_TRUE(sessions_->logged_out({idp_.issuer, "advisor-1", "sid-advisor-1"}, now()));
  std::filesystem::remove(data_dir_ / "small-disk" / "fill");
  r = logout(logout_token);
  EXPECT_EQ(r.http_status, 200) << r.body;
  std::vector<json::object> recorded = ledger_entries_of(data_dir_ / "small-disk" / "audit.db", "auth.logout", 1);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].at("outcome"), "success");
  EXPECT_EQ(recorded[0].at("replayed"), true);
  EXPECT_EQ(recorded[0].at("resource").at("id"), "sid-advisor-1");
  api_->shutdown(500ms);
  api_.reset();
  gate_.reset();
  ledger.reset();  // before the disk goes
}

// A logout naming only the subject refuses the tokens the provider issued before it, by the
// provider's own clock (the logout token's iat, which the plugin reports), not by the host's.
TEST_F(ApiAuthentication, ASubjectsLogoutIsDatedByTheProvidersClock) {
  start_api();
  auto token_issued_at = [&](const std::string& subject, std::int64_t iat) {
    json::object c = idp_.claims(subject);
    c.erase("sid");
    c["iat"] = iat;
    return idp_.token(c);
  };
  // The provider's clock runs 100 s behind the host's: its logout says iat = now - 100.
  std::string before = token_issued_at("advisor-5", now() - 150), after = token_issued_at("advisor-5", now() - 50);
  json::object logout_token = logout_claims(idp_, "lo-clock");
  logout_token.erase("sid");
  logout_token["sub"] = "advisor-5";
  logout_token["iat"] = now() - 100;
  ASSERT_EQ(logout(idp_.token(logout_token, "es-1", "logout+jwt")).http_status, 200);
  EXPECT_EQ(me(before).http_status, 401);
  EXPECT_EQ(me(after).http_status, 200);  // issued after the logout, by the provider's clock
  EXPECT_EQ(entries("auth.logout").back().at("logout_at"), logout_token.at("iat"));
}

// The host's memory of ended sessions is rebuilt from the ledger at start: a token refused before
// a restart is refused after it, and a later sign-in still works.
TEST_F(ApiAuthentication, SingleLogoutsSurviveARestartOfTheHost) {
  start_api();
  std::string session_token = idp_.token();  // advisor-1, sid-advisor-1
  json::object other = idp_.claims("advisor-2");
  other.erase("sid");
  std::string subject_token = idp_.token(other);
  ASSERT_EQ(logout(idp_.token(logout_claims(idp_, "lo-r1"), "es-1", "logout+jwt")).http_status, 200);
  json::object by_subject = logout_claims(idp_, "lo-r2");
  by_subject.erase("sid");
  by_subject["sub"] = "advisor-2";
  ASSERT_EQ(logout(idp_.token(by_subject, "es-1", "logout+jwt")).http_status, 200);
  ASSERT_EQ(me(session_token).http_status, 401);
  ASSERT_EQ(me(subject_token).http_status, 401);
  EXPECT_EQ(entries("auth.logout").at(1).at("logout_at"), by_subject.at("iat"));  // the provider's time

  // A plugin writing a logout of its own into the ledger (the host stamps its "source") must not
  // end anyone's sessions at the next start.
  json::object third = idp_.claims("advisor-3");
  third.erase("sid");
  std::string third_token = idp_.token(third);
  static_cast<audit::Ledger&>(*env_.audit)
      .append_and_wait(json::object{{"action", "auth.logout"},
                                    {"outcome", "success"},
                                    {"source", {{"plugin", "crm-sqlite"}, {"instance", "crm-1"}}},
                                    {"actor", {{"principal", idp_.issuer}, {"role", "identity_provider"}}},
                                    {"resource", {{"type", "session"}, {"issuer", idp_.issuer}, {"subject", "advisor-3"}}},
                                    {"logout_at", now() + 100000}});

  // "Restart": a new registry, rebuilt from the ledger, behind a new server.
  api_->shutdown(std::chrono::milliseconds(500));
  api_.reset();
  sessions_ = std::make_shared<api::SessionRegistry>(std::chrono::seconds(3660));
  auto reader = audit::LedgerReader::open(data_dir_ / "audit.db");
  EXPECT_EQ(api::restore_logouts(*sessions_, *reader, std::chrono::seconds(3660)), 2u);
  start_api();
  EXPECT_EQ(me(session_token).http_status, 401);
  EXPECT_EQ(me(subject_token).http_status, 401);
  json::object later = idp_.claims("advisor-2");
  later.erase("sid");
  later["iat"] = now() + 2;  // signed in again after the logout
  EXPECT_EQ(me(idp_.token(later)).http_status, 200);
  EXPECT_EQ(me(third_token).http_status, 200);  // the plugin's "logout" was not applied

  // Logouts older than the memory are not brought back (every token they refused has expired).
  auto fresh = std::make_shared<api::SessionRegistry>(std::chrono::seconds(3660));
  EXPECT_EQ(api::restore_logouts(*fresh, *reader, std::chrono::seconds(3660), std::chrono::system_clock::now() + std::chrono::hours(2)),
            0u);
}

// A plugin's "replayed" is taken only from a logout the provider dated itself: dated at its second
// arrival, a repeat would reach tokens issued after the first.
TEST(LogoutResult, ARepeatIsTakenOnlyWhenTheProviderDatedIt) {
  api::Logout repeat = api::Authenticator::logout_from_result(
      R"({"issuer":"https://idp","session_id":"s-1","issued_at":1000,"replayed":true})", "d", 5000, 60);
  EXPECT_TRUE(repeat.replayed);
  EXPECT_EQ(repeat.at, 1000);
  EXPECT_FALSE(api::Authenticator::logout_from_result(R"({"session_id":"s-1","issued_at":1000})", "d", 5000, 60).replayed);
  EXPECT_THROW(api::Authenticator::logout_from_result(R"({"session_id":"s-1","replayed":true})", "d", 5000, 60),
               std::invalid_argument);
  EXPECT_THROW(api::Authenticator::logout_from_result(R"({"session_id":"s-1","issued_at":1000,"replayed":"yes"})", "d", 5000, 60),
               std::invalid_argument);
}

// A plugin's error document is untrusted: only a small, well-formed code is taken.
TEST(PluginErrorCode, OnlyASmallWellFormedCodeIsTaken) {
  EXPECT_EQ(api::plugin_error_code(R"({"error":"invalid_dpop_proof"})"), "invalid_dpop_proof");
  for (std::string bad : {std::string(), std::string("not json"), std::string(R"(["error"])"), std::string(R"({"error":7})"),
                          std::string(R"({"error":""})"), std::string(R"({"error":"Invalid-Proof"})"),
                          std::string(R"({"error":"a\"b"})"), R"({"error":")" + std::string(65, 'a') + R"("})",
                          R"({"error":"x","pad":")" + std::string(5000, 'a') + R"("})"})
    EXPECT_EQ(api::plugin_error_code(bad), "") << bad.substr(0, 60);
}

TEST(PluginErrorCode, ARetryHintIsTakenOnlyAsWholeSecondsFromOneToADay) {
  api::PluginErrorDocument d = api::plugin_error_document(R"({"error":"dpop_proof_quota","retry_after_s":42})");
  EXPECT_EQ(d.code, "dpop_proof_quota");
  EXPECT_EQ(d.retry_after_s, 42);
  EXPECT_EQ(api::plugin_error_document(R"({"retry_after_s":86400})").retry_after_s, 86400);
  for (const char* bad : {R"({"retry_after_s":0})", R"({"retry_after_s":-5})", R"({"retry_after_s":86401})",
                          R"({"retry_after_s":1.5})", R"({"retry_after_s":"10"})", R"({"retry_after_s":1e300})"})
    EXPECT_EQ(api::plugin_error_document(bad).retry_after_s, 0) << bad;
}

}  // namespace
}  // namespace branchline::test
