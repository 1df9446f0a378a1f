// access_gate: see access_gate.hpp.
#include "api/access_gate.hpp"

#include "audit/audit_sink.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"
#include "common/random_id.hpp"
#include "common/utf8.hpp"

#include <boost/json.hpp>

#include <mutex>
#include <stdexcept>
#include <optional>

namespace json = boost::json;

namespace branchline::api {
namespace {

HttpResponse ledger_unavailable() {
  return HttpResponse::unavailable("the audit ledger cannot be written; the request is refused", 5);
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// A quoted-string auth-param value: the space-separated list, without quotes or backslashes.
std::string quoted(const std::vector<std::string>& items) {
  std::string out;
  for (char c : joined(items, " "))
    if (c != '"' && c != '\\') out += c;
  return "\"" + out + "\"";
}

// The answer of a read that started while its audit entry was being written: held until the
// entry is durable; when the ledger fails, 503 instead and the read's answer is dropped.
class HeldAnswer {
 public:
  explicit HeldAnswer(Respond respond) : respond_(std::move(respond)) {}

  void answer(HttpResponse response) {
    std::unique_lock lock(mutex_);
    if (!settled_) {
      pending_ = std::move(response);
      return;
    }
    lock.unlock();
    if (durable_) respond_(std::move(response));
  }
  void settle(bool durable) {
    std::unique_lock lock(mutex_);
    settled_ = true;
    durable_ = durable;
    std::optional<HttpResponse> pending = std::move(pending_);
    lock.unlock();
    if (!durable) respond_(ledger_unavailable());
    else if (pending) respond_(std::move(*pending));
  }

 private:
  Respond respond_;
  std::mutex mutex_;
  bool settled_ = false, durable_ = false;
  std::optional<HttpResponse> pending_;
};

// A decision as the ledger keeps it: the result, the rules that decided and the rules in error.
json::object decision_json(const policy::Decision& d) {
  json::array rules, errors;
  for (const auto& id : d.reasons) rules.emplace_back(id);
  for (const auto& e : d.errors) errors.push_back(json::object{{"policy", e.policy_id}, {"error", e.message}});
  return json::object{{"result", d.allow ? "allow" : "deny"}, {"rules", std::move(rules)}, {"errors", std::move(errors)}};
}

}  // namespace

json::object audit_actor(const Principal& principal, const HttpRequest& request) {
  json::object actor{{"principal", principal.id()}, {"role", joined(principal.roles, ",")}, {"ip", request.remote_address}};
  if (!principal.session_id.empty()) actor["session"] = principal.session_id;
  if (!principal.client_id.empty()) actor["client"] = principal.client_id;
  return actor;
}

AccessGate::AccessGate(std::shared_ptr<Authenticator> authenticator, std::shared_ptr<policy::CurrentPolicies> policies,
                       std::shared_ptr<audit::AuditSink> audit, AccessOptions options)
    : authenticator_(std::move(authenticator)),
      policies_(std::move(policies)),
      audit_(std::move(audit)),
      options_(std::move(options)) {
  if (!policies_) throw std::invalid_argument("AccessGate needs the policies in force");
  if (options_.per_principal) per_principal_ = std::make_shared<RateLimiter>(*options_.per_principal);
}

AccessGate::AccessGate(std::shared_ptr<Authenticator> authenticator, std::shared_ptr<const policy::PolicySet> policies,
                       std::shared_ptr<audit::AuditSink> audit, AccessOptions options)
    : AccessGate(std::move(authenticator), std::make_shared<policy::CurrentPolicies>(std::move(policies)),
                 std::move(audit), std::move(options)) {}

void AccessGate::post(std::function<void()> work) const {
  if (options_.post) options_.post(std::move(work));
  else work();
}

void AccessGate::append(const HttpRequest& request, json::object entry, std::function<void(bl_status)> done) const {
  // Reasons carry text from plugins and clients: valid UTF-8 and bounded, or the ledger refuses the entry.
  if (auto* reason = entry.if_contains("reason"); reason && reason->is_string())
    *reason = utf8::printable(reason->as_string(), 256);
  entry["node"] = options_.node;
  entry["region"] = options_.region;
  entry["correlation_id"] = request.request_id;
  audit_->append(std::move(entry), std::move(done));
}

static void log_ledger_failure(bl_status status) {
  log::error("api", status == BL_INVALID_ARGUMENT
                        ? "an audit entry of the API was refused as malformed (a bug); the request is refused"
                        : "the audit ledger cannot be written; the request is refused (fail closed)");
}

void AccessGate::record(const HttpRequest& request, json::object entry, bool durable, Respond respond,
                        std::function<void()> next) const {
  if (!durable) {
    append(request, std::move(entry), [](bl_status status) {
      if (status != BL_OK) log::error("api", "an audit entry of an answered request could not be written");
    });
    return post(std::move(next));
  }
  append(request, std::move(entry),
         [this, &request, respond = std::move(respond), next = std::move(next)](bl_status status) mutable {
           if (status != BL_OK) {
             log_ledger_failure(status);
             return post([respond = std::move(respond)] { respond(ledger_unavailable()); });
           }
           // `respond` kept alive keeps `request` valid (http_server.hpp).
           post([&request, respond = std::move(respond), next = std::move(next)] {
             // Answered already (503 at the request timeout while the entry was written): the client
             // was told it failed, so it must not happen now. A retry with the same key is safe.
             if (request.already_answered()) {
               log::warn("api", "request " + request.request_id + " was answered (out of time) before its audit entry was durable; what it would do next does not run");
               return;
             }
             next();
           });
         });
}

void AccessGate::authenticate(const HttpRequest& request, Respond respond,
                              std::function<void(std::shared_ptr<const Principal>)> next) const {
  json::object route{{"type", "api_route"}, {"id", request.method + " " + request.path}};
  authenticator_->authenticate(request, [this, &request, route = std::move(route), respond = std::move(respond),
                                         next = std::move(next)](AuthResult result) mutable {
    if (result.principal) {
      if (per_principal_) {
        RateDecision d = per_principal_->take(result.principal->id());
        if (!d.allowed) return respond(too_many_requests(d, "too many requests from this principal"));
      }
      return next(std::move(result.principal));
    }
    json::object entry{{"action", "auth.token"},
                       {"actor", json::object{{"principal", "anonymous"}, {"ip", request.remote_address}}},
                       {"resource", std::move(route)},
                       {"outcome", result.refusal.status >= 500 ? "failure" : "denied"},
                       {"reason", result.reason},
                       {"status", result.refusal.status}};
    if (!result.token_fingerprint.empty()) entry["token_fingerprint"] = result.token_fingerprint;
    record(request, std::move(entry), true, respond,
           [respond, refusal = std::move(result.refusal)]() mutable { respond(std::move(refusal)); });
  });
}

policy::Entity AccessGate::principal_entity(const Principal& principal) const {
  policy::Entity user;
  user.uid = {"User", principal.id()};
  policy::Set roles;
  for (const auto& role : principal.roles) {
    roles.emplace_back(role);
    user.parents.push_back({"Role", role});
  }
  user.attrs["roles"] = policy::Value(std::move(roles));
  for (const char* name : {"region", "branch"})
    if (std::string value = principal.claim(name); !value.empty()) user.attrs[name] = policy::Value(std::move(value));
  if (std::string customer = principal.claim("customer"); !customer.empty())
    user.attrs["customer"] = policy::Value(policy::EntityUid{"Customer", std::move(customer)});
  return user;
}

policy::Record AccessGate::principal_context(const Principal& principal) const {
  policy::Record context;
  if (!principal.acr.empty()) context["acr"] = policy::Value(principal.acr);
  policy::Set amr;
  for (const auto& method : principal.amr) amr.emplace_back(method);
  context["amr"] = policy::Value(std::move(amr));
  if (principal.auth_time) context["auth_age_s"] = policy::Value(unix_seconds() - *principal.auth_time);
  return context;
}

void AccessGate::authorize(const HttpRequest& request, const Principal& principal, Question question, Respond respond,
                           std::function<void(Verdict)> next) const {
  Verdict verdict;
  verdict.decision_id = random_uuid();
  // One set for the whole decision, whatever a reload does meanwhile: its rules decide, its hash
  // is recorded.
  const std::shared_ptr<const policy::PolicySet> policies = policies_->get();
  json::array field_group_decisions;
  std::optional<policy::StepUpChallenge> step_up =
      policies->step_up_needed(question.action, {principal.acr, principal.amr, principal.auth_time}, unix_seconds());
  if (step_up) {
    verdict.decision.allow = false;
    verdict.decision.reasons = {step_up->rule_id};
  } else {
    question.entities.add(principal_entity(principal));
    policy::Request ask{{"User", principal.id()}, {"Action", question.action}, question.resource,
                        std::move(question.context)};
    // What the sign-in proved comes from the token, never from the route.
    for (auto& [key, value] : principal_context(principal)) ask.context[key] = value;
    verdict.decision = policies->decide(ask, question.entities);
    if (verdict.decision.allow && question.field_groups) {
      // One question per group, about this customer: the same principal, the same sign-in.
      ask.action = {"Action", policy::kFieldGroupReadAction};
      ask.context["customer"] = policy::Value(question.resource);
      // A step-up rule may name the field-group action too: unmet, every group is denied by it.
      std::optional<policy::StepUpChallenge> group_step_up = policies->step_up_needed(
          policy::kFieldGroupReadAction, {principal.acr, principal.amr, principal.auth_time}, unix_seconds());
      json::array groups;
      for (const auto& [group, fields] : policies->field_groups()) {
        ask.resource = {"FieldGroup", group};
        question.entities.add({ask.resource, {{"name", policy::Value(group)}}, {}});
        policy::Decision d;
        if (group_step_up) d.reasons = {group_step_up->rule_id};
        else d = policies->decide(ask, question.entities);
        json::object g = decision_json(d);
        g["group"] = group;
        if (group_step_up) g["step_up"] = json::object{{"rule", group_step_up->rule_id}, {"unmet", group_step_up->reason}};
        groups.push_back(std::move(g));
        if (!d.allow) continue;
        verdict.field_groups.push_back(group);
        verdict.fields.insert(verdict.fields.end(), fields.begin(), fields.end());
      }
      field_group_decisions = std::move(groups);
    }
  }

  json::object decision = decision_json(verdict.decision);
  decision["id"] = verdict.decision_id;
  decision["action"] = question.action;
  decision["resource"] = question.resource.to_cedar();
  decision["policy_hash"] = policies->hash();
  if (step_up) decision["step_up"] = json::object{{"rule", step_up->rule_id}, {"unmet", step_up->reason}};
  if (!field_group_decisions.empty()) decision["field_groups"] = std::move(field_group_decisions);
  json::object entry{{"action", "policy.decide"},
                     {"actor", audit_actor(principal, request)},
                     {"resource", question.audit_resource.empty()
                                      ? json::object{{"type", question.resource.type}, {"id", question.resource.id}}
                                      : std::move(question.audit_resource)},
                     {"outcome", verdict.decision.allow ? "success" : "denied"},
                     {"policy_decision", verdict.decision_id},
                     {"decision", std::move(decision)}};
  if (!verdict.decision.allow)
    entry["reason"] = step_up ? "step-up needed (" + step_up->reason + ")"
                      : verdict.decision.reasons.empty() ? std::string("no policy permits it")
                                                         : "forbidden by " + joined(verdict.decision.reasons, ", ");

  if (verdict.decision.allow && question.durable && question.read_only) {
    auto held = std::make_shared<HeldAnswer>(respond);
    verdict.answer = [held](HttpResponse response) { held->answer(std::move(response)); };
    append(request, std::move(entry), [held](bl_status status) {
      if (status != BL_OK) log_ledger_failure(status);
      // Settled on whichever thread learns that the entry is durable (one of the ledger's), not
      // posted to the I/O threads first: settling only takes a lock and hands the answer to the
      // session's own executor (Respond posts), and each turn through the I/O threads' queue is a
      // wait under load.
      held->settle(status == BL_OK);
    });
    return next(std::move(verdict));
  }
  if (verdict.decision.allow) {
    verdict.answer = respond;
    return record(request, std::move(entry), question.durable, respond,
                  [next = std::move(next), verdict = std::move(verdict)]() mutable { next(std::move(verdict)); });
  }
  HttpResponse refusal;
  if (step_up) {
    refusal = HttpResponse::problem(401, "this action needs a stronger or more recent sign-in");
    std::string extra;
    if (!step_up->acr_values.empty()) extra = "acr_values=" + quoted(step_up->acr_values);
    if (step_up->max_age_s) extra += (extra.empty() ? "" : ", ") + std::string("max_age=") + std::to_string(*step_up->max_age_s);
    authenticator_->challenge(refusal, !principal.dpop_jkt.empty(), "insufficient_user_authentication",
                              "a stronger or more recent authentication is required", extra);
  } else {
    refusal = HttpResponse::problem(403, "the bank's policy does not allow this (decision " + verdict.decision_id + ")");
  }
  record(request, std::move(entry), true, respond, [respond, refusal = std::move(refusal)]() mutable {
    respond(std::move(refusal));
  });
}

}  // namespace branchline::api
