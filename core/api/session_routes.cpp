// session_routes: the caller's own session (GET /api/v1/me) and single logout (POST
// /api/v1/auth/backchannel-logout, OIDC Back-Channel Logout 1.0 §2.5-2.8). See api_routes.hpp.
#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace branchline::api {
namespace {

json::array strings(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::object me(const Principal& p, const Verdict& verdict) {
  json::object out{{"principal", p.id()},
                   {"issuer", p.issuer},
                   {"subject", p.subject},
                   {"roles", strings(p.roles)},
                   {"amr", strings(p.amr)},
                   {"expires_at", p.expires_at},
                   {"token_binding", p.dpop_jkt.empty() ? "bearer" : "dpop"},
                   {"decision_id", verdict.decision_id}};
  if (!p.session_id.empty()) out["session_id"] = p.session_id;
  if (!p.acr.empty()) out["acr"] = p.acr;
  if (p.auth_time) out["auth_time"] = *p.auth_time;
  if (!p.client_id.empty()) out["client_id"] = p.client_id;
  json::object attributes;
  for (const char* name : {"region", "branch", "customer"})
    if (std::string value = p.claim(name); !value.empty()) attributes[name] = value;
  out["attributes"] = std::move(attributes);
  return out;
}

// Back-Channel Logout 1.0 §2.8: 200 when the logout succeeded, 400 with an OAuth error otherwise;
// never cached.
HttpResponse logout_error(int status, std::string_view description) {
  const char* error = status == 400 ? "invalid_request" : status == 501 ? "unsupported" : "temporarily_unavailable";
  HttpResponse r = HttpResponse::json(status, json::object{{"error", error},
                                                           {"error_description", description}});
  if (status == 503) r.set("Retry-After", "5");
  return r;
}

void back_channel_logout(std::shared_ptr<const AccessGate> gate, const HttpRequest& request, Respond respond) {
  json::object actor{{"principal", "anonymous"}, {"ip", request.remote_address}};
  auto refuse = [gate, &request, respond, actor](int status, std::string reason) {
    json::object entry{{"action", "auth.logout"},
                       {"actor", actor},
                       {"resource", json::object{{"type", "session"}}},
                       {"outcome", status >= 500 ? "failure" : "denied"},
                       {"reason", reason}};
    gate->record(request, std::move(entry), true, respond, [respond, status, reason] { respond(logout_error(status, reason)); });
  };
  if (media_type(request) != "application/x-www-form-urlencoded")
    return refuse(400, "the body is not application/x-www-form-urlencoded");
  auto form = parse_form(request.body);
  std::vector<std::string> tokens;
  if (form)
    for (auto& [name, value] : *form)
      if (name == "logout_token") tokens.push_back(std::move(value));
  if (tokens.size() != 1) return refuse(400, "the body must hold exactly one logout_token");
  IdentityProvider* identity = gate->authenticator().identity();
  if (!identity) return refuse(503, "no identity plugin is configured for the API");
  identity->validate_logout(
      json::serialize(json::object{{"logout_token", tokens.front()}}),
      [gate, &request, respond, refuse, actor, issuer = identity->default_issuer()](bl_status status, std::string text,
                                                                                     PluginErrorDocument) {
        // A token the plugin refuses is the provider's problem (400); a plugin that cannot check
        // logout tokens at all, 501; only a passing failure (keys unreachable) asks for a retry.
        if (status != BL_OK)
          return refuse(status == BL_UNAUTHENTICATED || status == BL_INVALID_ARGUMENT || status == BL_PERMISSION_DENIED ? 400
                        : status == BL_UNIMPLEMENTED                                                                 ? 501
                                                                                                                     : 503,
                        text.empty() ? "the logout token was refused" : text);
        Logout logout;
        try {
          logout = Authenticator::logout_from_result(
              text, issuer,
              unix_seconds(),
              gate->authenticator().options().clock_skew_s);
        } catch (const std::invalid_argument& e) {
          log::error("api", std::string("the identity plugin returned an unusable logout result: ") + e.what());
          return refuse(400, "the logout token names no session that can be ended");
        }
        std::size_t closed = gate->authenticator().sessions().end(logout);
        json::object resource{{"type", "session"}, {"issuer", logout.issuer}};
        if (logout.session_id) resource["id"] = *logout.session_id;
        if (logout.subject) resource["subject"] = *logout.subject;
        json::object entry{{"action", "auth.logout"},
                           {"actor", json::object{{"principal", logout.issuer}, {"role", "identity_provider"},
                                                  {"ip", request.remote_address}}},
                           {"resource", std::move(resource)},
                           {"outcome", "success"},
                           {"logout_at", logout.at},  // for restore_logouts() after a restart
                           {"closed", closed}};
        // The provider's retry (its first answer lost, or a 503 because the ledger failed): applied
        // again (dated by the provider, it reaches no further than its logout), written again, so
        // that it is durable this time, and 200.
        if (logout.replayed) entry["replayed"] = true;
        log::info("api", std::string(logout.replayed ? "single logout repeated by " : "single logout from ") + logout.issuer +
                             ": " + std::to_string(closed) + " live sessions closed");
        gate->record(request, std::move(entry), true, respond, [respond] {
          HttpResponse ok;
          ok.status = 200;
          respond(std::move(ok));
        });
      });
}

}  // namespace

void add_session_routes(Router& router, std::shared_ptr<const AccessGate> gate) {
  router.add("GET", "/api/v1/me", [gate](const HttpRequest& request, Respond respond) {
    gate->authenticate(request, respond, [gate, &request, respond](std::shared_ptr<const Principal> principal) {
      Question question;
      question.action = "session.me.read";
      question.resource = {"User", principal->id()};
      question.audit_resource = json::object{{"type", "session"}, {"id", principal->session_id}};
      gate->authorize(request, *principal, std::move(question), respond, [principal, respond](Verdict verdict) {
        respond(HttpResponse::json(200, me(*principal, verdict)));
      });
    });
  });
  router.add("POST", "/api/v1/auth/backchannel-logout", [gate](const HttpRequest& request, Respond respond) {
    back_channel_logout(gate, request, std::move(respond));
  });
}

}  // namespace branchline::api
