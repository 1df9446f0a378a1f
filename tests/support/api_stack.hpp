// api_stack: the API as branchlined serves it, on loopback, for tests that call it over HTTPS: a
// real HTTPS client (libcurl), the API server with the gate, the real identity-oidc plugin
// (through the real host) trusting an identity provider the test holds (its discovery and JWKS
// served over HTTPS; tokens from idp_.token()), the built-in policy and the real audit ledger.
#pragma once

#include "api_on_loopback.hpp"
#include "https_call.hpp"
#include "ledger_entries.hpp"
#include "test_idp.hpp"
#include "../unit/plugins/reference_fixture.hpp"

#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "api/plugin_ports.hpp"
#include "api/session_registry.hpp"
#include "api/tls_context.hpp"
#include "net/http_client.hpp"

#include <boost/asio/post.hpp>

#include <optional>

namespace branchline::test {

namespace api_stack_json = boost::json;

inline std::vector<std::string> header_values(const net::HttpResponse& r, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      out.push_back(v);
  return out;
}

inline std::string header(const net::HttpResponse& r, std::string_view name) {
  auto values = header_values(r, name);
  return values.empty() ? std::string() : values.front();
}

class ApiStack : public ReferencePlugin {
 protected:
  void SetUp() override {
    ReferencePlugin::SetUp();
    tls_ = api::ensure_development_certificate(data_dir_ / "tls");
    idp_.path = "/idp";
    idp_.add("es-1", make_key("EC", "P-256"), plugins::jose::Alg::ES256);
    idp_.add("rs-1", make_key("RSA", "2048"), plugins::jose::Alg::RS256);
    // A weak key in the key set: the plugin skips it, so tokens it signs have an unknown kid.
    idp_.add("weak", make_key("RSA", "1024"), plugins::jose::Alg::RS256, /*publish=*/false);
    api_stack_json::object weak = plugins::jose::public_jwk(idp_.keys.at("weak").first.get());
    weak["kid"] = "weak";
    idp_.extra_jwks.push_back(weak);

    api::Router router;
    router.add("GET", "/idp/.well-known/openid-configuration", [this](const api::HttpRequest&, api::Respond r) {
      r(api::HttpResponse::json(200, api_stack_json::object{{"issuer", idp_.issuer}, {"jwks_uri", idp_.issuer + "/jwks"}}));
    });
    router.add("GET", "/idp/jwks", [this](const api::HttpRequest&, api::Respond r) { r(api::HttpResponse::json(200, idp_.jwks())); });
    api::ServerOptions idp_options;
    idp_options.port = 0;
    idp_server_ = std::make_unique<api::HttpServer>(io_, idp_options, std::make_shared<api::TlsContextHolder>(tls_), std::move(router));
    idp_server_->start();
    idp_.issuer = "https://127.0.0.1:" + std::to_string(idp_server_->port()) + "/idp";

    auto library = host::PluginLibrary::load(std::filesystem::path(REFERENCE_PLUGIN_DIR) / "identity-oidc.so", BL_KIND_IDENTITY);
    host::InstanceConfig config;
    config.id = "oidc-1";
    config.settings = api_stack_json::parse(R"({"issuers":[{"issuer":")" + idp_.issuer +
                                  R"(","audiences":["branchline-api"],"client_ids":["advisor-console"],"claims":["region","branch","customer"]}]})");
    config.http.ca_file = tls_.cert_file.string();
    instance_ = host::PluginInstance::create(library, std::move(config), env_);
    identity_ = std::make_shared<api::PluginIdentity>("oidc-1", io_.get_executor(), std::chrono::seconds(10));
    identity_->bind(instance_.get());
    sessions_ = std::make_shared<api::SessionRegistry>(std::chrono::seconds(3660));
    policies_ = std::make_shared<const policy::PolicySet>(policy::PolicySet::embedded_default());
    client_policy_.ca_file = tls_.cert_file.string();
  }

  void TearDown() override {
    if (api_) api_->shutdown(std::chrono::milliseconds(500));
    identity_->unbind();
    instance_.reset();
    idp_server_->shutdown(std::chrono::milliseconds(500));
    ReferencePlugin::TearDown();
  }

  // The API with the gate; `context` may bring the CRM and core-banking ports.
  void start_api(std::optional<api::RateLimit> per_principal = std::nullopt,
                 std::shared_ptr<audit::AuditSink> ledger = nullptr, api::ApiContext context = {}) {
    api::AccessOptions options;
    options.per_principal = per_principal;
    options.node = "node-1";
    options.region = "north";
    options.post = [this](std::function<void()> work) { boost::asio::post(io_, std::move(work)); };
    api::AuthOptions auth;
    auth.max_token_bytes = 6144;  // below the test client's 8 KiB header cap, so that "oversized" reaches the server
    gate_ = std::make_shared<api::AccessGate>(std::make_shared<api::Authenticator>(identity_, sessions_, auth),
                                              policies_, ledger ? ledger : env_.audit, options);
    context.gate = gate_;
    api_ = serve_api_on_loopback(io_, tls_, std::move(context), limits_);
    base_ = loopback_url(*api_);
  }

  net::HttpResponse send(const std::string& method, const std::string& path, net::HttpHeaders headers, std::string body = {}) {
    net::HttpResponse r = https_call(client_, client_policy_, method, base_ + path, std::move(headers), std::move(body));
    EXPECT_EQ(r.status, BL_OK) << r.message;
    return r;
  }
  net::HttpResponse me(const std::string& token, const std::string& scheme = "Bearer", net::HttpHeaders extra = {}) {
    extra.emplace_back("Authorization", scheme + " " + token);
    return send("GET", "/api/v1/me", std::move(extra));
  }
  net::HttpResponse logout(const std::string& logout_token) {
    return send("POST", "/api/v1/auth/backchannel-logout", {{"Content-Type", "application/x-www-form-urlencoded"}},
                "logout_token=" + logout_token);
  }

  // A token of `subject` with these roles (and region claim; "" for none).
  std::string token_for(const std::string& subject, api_stack_json::array roles, const std::string& region = "north") {
    api_stack_json::object claims = idp_.claims(subject);
    claims["roles"] = std::move(roles);
    if (region.empty()) claims.erase("region");
    else claims["region"] = region;
    return idp_.token(claims);
  }
  net::HttpResponse get(const std::string& token, const std::string& path) {
    return send("GET", path, {{"Authorization", "Bearer " + token}});
  }
  // The policy.decide entry of a decision id, read at once ({} when there is none).
  api_stack_json::object decision_entry(const api_stack_json::value& decision_id) {
    for (auto& e : entries("policy.decide"))
      if (e.at("policy_decision") == decision_id) return e;
    return {};
  }

  // The entries of `action` read at once; with `at_least`, once there are that many (a plugin's own
  // entries, which the answer does not wait for).
  std::vector<api_stack_json::object> entries(const std::string& action, std::size_t at_least = 0) {
    return ledger_entries_of(data_dir_ / "audit.db", action, at_least);
  }

  api::TlsSettings tls_;
  api::ServerLimits limits_;  // the server's, for start_api
  Provider idp_;
  std::unique_ptr<api::HttpServer> idp_server_, api_;
  std::unique_ptr<host::PluginInstance> instance_;
  std::shared_ptr<api::PluginIdentity> identity_;
  std::shared_ptr<api::SessionRegistry> sessions_;
  std::shared_ptr<const policy::PolicySet> policies_;
  std::shared_ptr<api::AccessGate> gate_;
  std::string base_;
  net::HttpClient client_;
  net::HttpPolicy client_policy_;
};

}  // namespace branchline::test
