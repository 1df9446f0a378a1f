// customer_routes: a customer's profile (through the CRM plugin, field group by field group), their
// accounts and their banking operations (through the core-banking plugin). See api_routes.hpp.
//
// Every route asks the CRM for the customer's `region` first: the policies decide on it (an advisor
// serves the customers of their own region), so it is read before anything else, and only it. A
// customer the CRM does not know is decided without attributes, so that a caller who may not see
// a customer cannot tell a missing one from a forbidden one (both are 403); only a caller who may
// is told 404. What the CRM said (a region, or that it does not know the customer) is reused for
// api.customer_attribute_cache_s (30 s): one CRM call per read instead of two, at the price of a
// region change (or a new customer) taking that long to count. Missing customers are cached as
// well, so that timing does not tell which ids exist.
//
// Writes carry an `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): required, and
// scoped to the caller, so that the same key from the same principal answers the first result
// and nobody can reach another caller's result by guessing their key.
#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "api/expiring_cache.hpp"
#include "api/identifiers.hpp"
#include "api/plugin_ports.hpp"
#include "common/log.hpp"
#include "common/unix_time.hpp"
#include "common/sha256.hpp"
#include "common/utf8.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace json = boost::json;

namespace branchline::api {
namespace {

constexpr std::size_t kMaxAccounts = 1000;
constexpr std::size_t kMaxCachedCustomers = 100000;

// Whether a plugin's answer is about this customer (it must say so: a connector's cache or bug
// must not answer for someone else).
bool names_customer(const json::object& result, const std::string& customer) {
  const json::value* id = result.if_contains("customer_id");
  return id && id->is_string() && id->as_string() == customer;
}

std::string call_context(const Principal& principal, const HttpRequest& request) {
  return json::serialize(json::object{{"correlation_id", request.request_id}, {"actor", audit_actor(principal, request)}});
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A plugin's failure as the client sees it. The plugin's message is its own text: made printable
// and short; plugins are asked never to put personal data in it (abi.h).
HttpResponse plugin_failure(bl_status status, std::string_view message, std::string_view what) {
  std::string detail = utf8::printable(message, 200);
  switch (status) {
    case BL_NOT_FOUND: return HttpResponse::problem(404, detail);
    case BL_INVALID_ARGUMENT: return HttpResponse::problem(400, detail);
    case BL_FAILED_PRECONDITION: return HttpResponse::problem(409, detail);
    case BL_PERMISSION_DENIED: return HttpResponse::problem(403, detail);
    case BL_ALREADY_EXISTS: return HttpResponse::problem(409, detail);
    case BL_UNAVAILABLE:
    case BL_RESOURCE_EXHAUSTED: return HttpResponse::unavailable(std::string(what) + " is unavailable", 5);
    case BL_DEADLINE_EXCEEDED: return HttpResponse::problem(504, std::string(what) + " did not answer in time");
    default:
      log::warn("api", std::string(what) + " failed: " + detail);
      return HttpResponse::problem(502, std::string(what) + " failed");
  }
}

// The Idempotency-Key header's value: an sf-string ("...") or, as most clients send it, bare;
// 1 to 255 visible ASCII characters. "" when absent or malformed.
std::string idempotency_key(const HttpRequest& request) {
  std::string_view key = request.header("idempotency-key");
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
  if (key.empty() || key.size() > 255) return {};
  for (char c : key)
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return {};
  return std::string(key);
}

// The state every customer route shares: the gate and the plugins.
struct CustomerRoutes : std::enable_shared_from_this<CustomerRoutes> {
  CustomerRoutes(std::shared_ptr<const AccessGate> g, std::shared_ptr<PluginCrm> c, std::shared_ptr<PluginCoreBanking> k,
                 std::chrono::seconds attribute_ttl)
      : gate(std::move(g)),
        crm(std::move(c)),
        core(std::move(k)),
        attribute_ttl_s(std::max<std::int64_t>(0, attribute_ttl.count())),
        attributes(attribute_ttl_s > 0 ? kMaxCachedCustomers : 0) {}

  std::shared_ptr<const AccessGate> gate;
  std::shared_ptr<PluginCrm> crm;
  std::shared_ptr<PluginCoreBanking> core;
  // Customers' policy attributes (their region), reused for attribute_ttl_s.
  std::int64_t attribute_ttl_s;
  mutable ExpiringCache<std::optional<std::string>> attributes;  // nullopt: the CRM does not know the customer

  // Authenticates, then decides as decide_as. Everything a route checks in the request (ids,
  // headers, body) it checks after authentication: a caller without a valid token learns nothing
  // of the API's shapes, and is answered 401 (and audited as such) whatever else is wrong.
  using Allowed = std::function<void(std::shared_ptr<const Principal>, Verdict, bool known)>;
  void decide(const HttpRequest& request, Respond respond, std::string action, json::object audit_resource,
              bool field_groups, bool read_only, Allowed next) const {
    gate->authenticate(request, respond, [self = shared_from_this(), &request, respond, action = std::move(action),
                                          audit_resource = std::move(audit_resource), field_groups, read_only,
                                          next = std::move(next)](std::shared_ptr<const Principal> principal) mutable {
      self->decide_as(std::move(principal), request, std::move(respond), std::move(action), std::move(audit_resource),
                      field_groups, read_only, std::move(next));
    });
  }

  // For an authenticated caller: reads the customer's region from the CRM, and asks the gate
  // `action` on Customer::"<id>"; `next` gets the principal, the verdict and whether the CRM knows
  // the customer. A read (`read_only`) may start while the decision's entry is written: answer it
  // through the verdict's `answer`, which holds it until the entry is durable.
  void decide_as(std::shared_ptr<const Principal> principal, const HttpRequest& request, Respond respond,
                 std::string action, json::object audit_resource, bool field_groups, bool read_only, Allowed next) const {
    std::string customer = request.params.at("customer_id");
    if (!valid_id(customer)) return respond(HttpResponse::problem(400, "the customer id is malformed"));
    if (!crm) return respond(plugin_failure(BL_UNAVAILABLE, {}, "no CRM is configured for the API; the CRM"));
    region_of(customer, *principal, request, respond,
              [self = shared_from_this(), &request, respond, customer, principal, action = std::move(action),
               audit_resource = std::move(audit_resource), field_groups, read_only,
               next = std::move(next)](std::optional<std::string> region) mutable {
                Question question;
                question.action = std::move(action);
                question.resource = {"Customer", customer};
                policy::Entity entity{question.resource, {}, {}};
                if (region && !region->empty()) entity.attrs["region"] = policy::Value(*region);
                question.entities.add(std::move(entity));
                audit_resource["customer"] = customer;
                question.audit_resource = std::move(audit_resource);
                question.durable = true;  // reads customer data or changes something
                question.field_groups = field_groups;
                question.read_only = read_only;
                bool known = region.has_value();
                self->gate->authorize(request, *principal, std::move(question), respond,
                                      [principal, known, next = std::move(next)](Verdict verdict) mutable {
                                        next(std::move(principal), std::move(verdict), known);
                                      });
              });
  }

  // The customer's region as the CRM says ("" when it has none), or nullopt when the CRM does not
  // know the customer; from the attribute cache while it is fresh (either answer). A CRM failure
  // is answered here and `next` is not called.
  void region_of(const std::string& customer, const Principal& principal, const HttpRequest& request, Respond respond,
                 std::function<void(std::optional<std::string>)> next) const {
    std::int64_t now = unix_seconds();
    if (auto cached = attributes.find(customer, now)) return next(std::move(*cached));  // a region, or "not known"
    crm->lookup_customer(
        json::serialize(json::object{{"customer_id", customer}, {"fields", json::array{"region"}}}),
        call_context(principal, request),
        [self = shared_from_this(), respond, customer, now, next = std::move(next)](bl_status status, std::string text) {
          if (status == BL_NOT_FOUND) {
            // Cached too: else the second 403 for a customer that exists would come a CRM round
            // trip sooner than for one that does not, and tell a caller which ids exist.
            self->attributes.insert(customer, std::nullopt, now + self->attribute_ttl_s, now);
            return next(std::nullopt);
          }
          if (status != BL_OK) return respond(plugin_failure(status, text, "the CRM"));
          auto result = parse_object(text);
          if (!result || !names_customer(*result, customer)) {
            log::error("api", "the CRM answered a lookup of another customer, or no customer_id");
            return respond(HttpResponse::problem(502, "the CRM's answer was malformed"));
          }
          std::string region;
          if (auto* fields = result->if_contains("fields"); fields && fields->is_object())
            if (auto* r = fields->as_object().if_contains("region"); r && r->is_string()) region = r->as_string();
          self->attributes.insert(customer, region, now + self->attribute_ttl_s, now);
          next(std::move(region));
        });
  }

  // GET /api/v1/customers/{customer_id}: the fields of the groups the caller's role allows.
  void profile(const HttpRequest& request, Respond respond) const {
    std::string customer = request.params.at("customer_id");
    decide(request, respond, "crm.customer.read", json::object{{"type", "customer"}, {"id", customer}}, true, true,
           [self = shared_from_this(), &request, customer](std::shared_ptr<const Principal> principal, Verdict verdict, bool known) {
             Respond respond = verdict.answer;
             if (!known) return respond(HttpResponse::problem(404, "no such customer"));
             auto answer = [respond, customer, verdict](json::object fields) {
               json::array groups;
               for (const auto& g : verdict.field_groups) groups.emplace_back(g);
               respond(HttpResponse::json(200, json::object{{"customer_id", customer},
                                                            {"fields", std::move(fields)},
                                                            {"field_groups", std::move(groups)},
                                                            {"decision_id", verdict.decision_id}}));
             };
             // Never an empty list: to the CRM, that means every field.
             if (verdict.fields.empty()) return answer({});
             json::array wanted;
             for (const auto& f : verdict.fields) wanted.emplace_back(f);
             self->crm->lookup_customer(
                 json::serialize(json::object{{"customer_id", customer}, {"fields", std::move(wanted)}}),
                 call_context(*principal, request),
                 [respond, answer, customer, fields = verdict.fields](bl_status status, std::string text) {
                   if (status != BL_OK) return respond(plugin_failure(status, text, "the CRM"));
                   auto result = parse_object(text);
                   const json::value* got = result ? result->if_contains("fields") : nullptr;
                   if (!got || !got->is_object() || !names_customer(*result, customer)) {
                     log::error("api", "the CRM answered a profile without a fields object, or of another customer");
                     return respond(HttpResponse::problem(502, "the CRM's answer was malformed"));
                   }
                   // Only what the policy allowed, whatever the plugin sent.
                   json::object allowed;
                   for (const auto& [name, value] : got->as_object())
                     if (std::find(fields.begin(), fields.end(), name) != fields.end()) allowed[name] = value;
                   answer(std::move(allowed));
                 });
           });
  }

  // GET /api/v1/customers/{customer_id}/accounts
  void accounts(const HttpRequest& request, Respond respond) const {
    std::string customer = request.params.at("customer_id");
    decide(request, respond, "core.accounts.read", json::object{{"type", "customer_accounts"}}, false, true,
           [self = shared_from_this(), &request, customer](std::shared_ptr<const Principal> principal, Verdict verdict, bool) {
             Respond respond = verdict.answer;
             if (!self->core) return respond(plugin_failure(BL_UNAVAILABLE, {}, "no core-banking system is configured; the core"));
             self->core->list_accounts(json::serialize(json::object{{"customer_id", customer}}), call_context(*principal, request),
                                 [respond, customer, id = verdict.decision_id](bl_status status, std::string text) {
                                   if (status != BL_OK) return respond(plugin_failure(status, text, "the core-banking system"));
                                   auto result = parse_object(text);
                                   const json::value* list = result ? result->if_contains("accounts") : nullptr;
                                   if (!list || !list->is_array()) {
                                     log::error("api", "the core-banking system answered accounts without an array");
                                     return respond(HttpResponse::problem(502, "the core-banking system's answer was malformed"));
                                   }
                                   // The documented members only, of at most kMaxAccounts accounts.
                                   json::array accounts;
                                   for (const auto& a : list->as_array()) {
                                     if (!a.is_object() || accounts.size() == kMaxAccounts) continue;
                                     json::object account;
                                     for (const char* name : {"account_id", "type", "currency", "balance_minor", "status", "opened_at"})
                                       if (const json::value* v = a.as_object().if_contains(name); v && (v->is_string() || v->is_int64()))
                                         account[name] = *v;
                                     accounts.push_back(std::move(account));
                                   }
                                   respond(HttpResponse::json(200, json::object{{"customer_id", customer},
                                                                                {"accounts", std::move(accounts)},
                                                                                {"decision_id", id}}));
                                 });
           });
  }

  // An operation's result as the client sees it, or nullopt when the plugin's answer is malformed
  // or names another customer.
  static std::optional<json::object> operation_view(std::string_view text, const std::string& customer,
                                                    const std::string& decision_id) {
    auto result = parse_object(text);
    if (!result || !names_customer(*result, customer)) return std::nullopt;
    const json::value* id = result->if_contains("operation_id");
    const json::value* state = result->if_contains("state");
    if (!id || !id->is_string() || !valid_id(id->as_string()) || !state || !state->is_string() ||
        state->as_string().size() > 32)
      return std::nullopt;
    json::object out{{"operation_id", *id}, {"customer_id", customer}, {"state", *state}, {"decision_id", decision_id}};
    if (const json::value* details = result->if_contains("details"); details && details->is_object())
      out["details"] = *details;
    return out;
  }

  // POST /api/v1/customers/{customer_id}/operations   {"type", "params"} with Idempotency-Key.
  void submit(const HttpRequest& request, Respond respond) const {
    gate->authenticate(request, respond, [self = shared_from_this(), &request, respond](std::shared_ptr<const Principal> principal) {
      self->submit_as(std::move(principal), request, respond);
    });
  }

  void submit_as(std::shared_ptr<const Principal> principal, const HttpRequest& request, Respond respond) const {
    std::string key = idempotency_key(request);
    if (key.empty())
      return respond(HttpResponse::problem(400, "an Idempotency-Key header (1 to 255 visible ASCII characters) is required"));
    if (media_type(request) != "application/json")
      return respond(HttpResponse::problem(415, "the body must be application/json"));
    auto body = parse_object(request.body);
    const json::value* type = body ? body->if_contains("type") : nullptr;
    const json::value* params = body ? body->if_contains("params") : nullptr;
    auto valid_type = [](std::string_view t) {
      return !t.empty() && t.size() <= 40 && std::islower(static_cast<unsigned char>(t.front())) &&
             std::all_of(t.begin(), t.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'; });
    };
    // "read" would make the action core.operation.read, the permission to read results.
    if (!type || !type->is_string() || !valid_type(type->as_string()) || type->as_string() == "read" ||
        (params && !params->is_object()))
      return respond(HttpResponse::problem(400, "the body must be {\"type\": \"transfer\"|..., \"params\": {...}}"));
    std::string operation(type->as_string());
    json::object operation_params = params ? params->as_object() : json::object();
    std::string customer = request.params.at("customer_id");
    decide_as(std::move(principal), request, respond, "core.operation." + operation,
              json::object{{"type", "operation"}, {"operation_type", operation}}, false, false,
              [self = shared_from_this(), &request, customer, operation, key, operation_params = std::move(operation_params)](
                  std::shared_ptr<const Principal> principal, Verdict verdict, bool) {
                Respond respond = verdict.answer;
                if (!self->core) return respond(plugin_failure(BL_UNAVAILABLE, {}, "no core-banking system is configured; the core"));
                // Scoped to the caller: the same key from someone else is another operation.
                std::string scoped = "api-" + sha256_hex(principal->id() + '\n' + key);
                auto answer = [respond, customer, id = verdict.decision_id](std::string_view text) {
                  auto view = operation_view(text, customer, id);
                  if (!view) {
                    log::error("api", "the core-banking system answered an operation without operation_id or state");
                    return respond(HttpResponse::problem(502, "the core-banking system's answer was malformed"));
                  }
                  HttpResponse r = HttpResponse::json(201, *view);
                  r.set("Location", "/api/v1/customers/" + customer + "/operations/" + std::string(view->at("operation_id").as_string()));
                  respond(std::move(r));
                };
                self->core->submit_operation(
                    json::serialize(json::object{{"type", operation}, {"idempotency_key", scoped}, {"customer_id", customer},
                                                 {"params", operation_params}}),
                    call_context(*principal, request), [respond, answer](bl_status status, std::string text) {
                      if (status == BL_OK) return answer(text);
                      if (status == BL_ALREADY_EXISTS)
                        return respond(HttpResponse::problem(422, "the Idempotency-Key was already used for another request"));
                      // Perhaps done: the client's retry with the same key answers the first result,
                      // or does it once (the plugin is idempotent on the key and compares the body).
                      if (status == BL_DEADLINE_EXCEEDED)
                        return respond(HttpResponse::problem(
                            504, "the core-banking system did not answer in time; retry with the same Idempotency-Key"));
                      respond(plugin_failure(status, text, "the core-banking system"));
                    });
              });
  }

  // GET /api/v1/customers/{customer_id}/operations/{operation_id}
  void operation(const HttpRequest& request, Respond respond) const {
    std::string customer = request.params.at("customer_id");
    std::string operation_id = request.params.at("operation_id");
    gate->authenticate(request, respond, [self = shared_from_this(), &request, respond, customer,
                                          operation_id](std::shared_ptr<const Principal> principal) {
      if (!valid_id(operation_id)) return respond(HttpResponse::problem(400, "the operation id is malformed"));
      self->read_operation(std::move(principal), request, respond, customer, operation_id);
    });
  }

  void read_operation(std::shared_ptr<const Principal> principal, const HttpRequest& request, Respond respond,
                      const std::string& customer, const std::string& operation_id) const {
    decide_as(std::move(principal), request, respond, "core.operation.read", json::object{{"type", "operation"}, {"id", operation_id}}, false, true,
              [self = shared_from_this(), &request, customer, operation_id](std::shared_ptr<const Principal> principal, Verdict verdict, bool) {
                Respond respond = verdict.answer;
                if (!self->core) return respond(plugin_failure(BL_UNAVAILABLE, {}, "no core-banking system is configured; the core"));
                self->core->get_operation(
                    json::serialize(json::object{{"operation_id", operation_id}}), call_context(*principal, request),
                    [respond, customer, id = verdict.decision_id](bl_status status, std::string text) {
                      if (status != BL_OK) return respond(plugin_failure(status, text, "the core-banking system"));
                      // Decided for this customer: another customer's operation is not there.
                      auto result = parse_object(text);
                      const json::value* owner = result ? result->if_contains("customer_id") : nullptr;
                      if (!owner || *owner != json::value(customer))
                        return respond(HttpResponse::problem(404, "no such operation for this customer"));
                      auto view = operation_view(text, customer, id);
                      if (!view) return respond(HttpResponse::problem(502, "the core-banking system's answer was malformed"));
                      respond(HttpResponse::json(200, *view));
                    });
              });
  }
};

}  // namespace

void add_customer_routes(Router& router, std::shared_ptr<const AccessGate> gate, std::shared_ptr<PluginCrm> crm,
                         std::shared_ptr<PluginCoreBanking> core, std::chrono::seconds attribute_cache) {
  auto routes = std::make_shared<const CustomerRoutes>(std::move(gate), std::move(crm), std::move(core), attribute_cache);
  router.add("GET", "/api/v1/customers/{customer_id}",
             [routes](const HttpRequest& request, Respond respond) { routes->profile(request, std::move(respond)); });
  router.add("GET", "/api/v1/customers/{customer_id}/accounts",
             [routes](const HttpRequest& request, Respond respond) { routes->accounts(request, std::move(respond)); });
  router.add("POST", "/api/v1/customers/{customer_id}/operations",
             [routes](const HttpRequest& request, Respond respond) { routes->submit(request, std::move(respond)); });
  router.add("GET", "/api/v1/customers/{customer_id}/operations/{operation_id}",
             [routes](const HttpRequest& request, Respond respond) { routes->operation(request, std::move(respond)); });
}

}  // namespace branchline::api
