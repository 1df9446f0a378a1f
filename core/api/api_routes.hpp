// api_routes: the REST API v1's routes, as the host serves them, and its OpenAPI document.
//
// Contract:
//  - make_router() returns every route of the API; docs/api/openapi.yaml (built into the binary,
//    served as JSON at /api/v1/openapi.json) lists exactly the same routes, which a test checks.
//  - /healthz answers 200 while the process serves; /readyz answers 200 when `readiness` says
//    "ok" (or "degraded": optional instances down) and 503 otherwise. Neither
//    needs a token nor says anything about plugins beyond that state.
//  - Every other route goes through the access gate (access_gate.hpp): a token, the policy's
//    decision, an audit entry. Without a gate (tests of the route table) they answer 503.
//  - Routes are added by area, each in its own file: session_routes.cpp (/api/v1/me, single
//    logout), customer_routes.cpp (a customer's profile, accounts and operations),
//    audit_routes.cpp (the ledger's queries and export pages for auditors, the host's status for
//    operators), live_routes.cpp (the live channel: a WebSocket bound to the caller's sign-in).
#pragma once

#include "api/http_server.hpp"

#include <boost/json/fwd.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace branchline::api {

class AccessGate;
class AuditArchive;
class PluginCrm;
class PluginCoreBanking;

struct ApiContext {
  // The host's state, as in health.json: "starting", "ok", "degraded", "stopping", "failed".
  std::function<std::string()> readiness;
  std::shared_ptr<const AccessGate> gate;
  // The plugin instances behind the customer routes (null: those routes answer 503).
  std::shared_ptr<PluginCrm> crm;
  std::shared_ptr<PluginCoreBanking> core_banking;
  // How long a customer's policy attributes (region) read from the CRM are reused; 0: never.
  std::chrono::seconds customer_attribute_cache{30};
  // The audit ledger as auditors read it (null: the audit routes answer 503).
  std::shared_ptr<AuditArchive> audit_archive;
  // The host's status document for operators: node, state, plugin instances and their health, the
  // ledger's size (null: /api/v1/status answers 503). Called on a server thread; must not block.
  std::function<boost::json::object()> host_status;
};

Router make_router(const ApiContext& context);

// The route groups make_router() adds (with a null gate only to list their routes).
void add_session_routes(Router& router, std::shared_ptr<const AccessGate> gate);
void add_customer_routes(Router& router, std::shared_ptr<const AccessGate> gate, std::shared_ptr<PluginCrm> crm,
                         std::shared_ptr<PluginCoreBanking> core_banking, std::chrono::seconds attribute_cache);
void add_live_routes(Router& router, std::shared_ptr<const AccessGate> gate);
void add_audit_routes(Router& router, std::shared_ptr<const AccessGate> gate, std::shared_ptr<AuditArchive> archive);
void add_status_routes(Router& router, std::shared_ptr<const AccessGate> gate,
                       std::function<boost::json::object()> host_status);

// docs/api/openapi.yaml, as built into the binary, and the same document as JSON.
std::string_view openapi_yaml();
const boost::json::value& openapi_document();

}  // namespace branchline::api
