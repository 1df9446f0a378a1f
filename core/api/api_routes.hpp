// api_routes: the REST API v1's routes, as the host serves them, and its OpenAPI document.
//
// Contract:
//  - make_router() returns every route of the API; docs/api/openapi.yaml (built into the binary,
//    served as JSON at /api/v1/openapi.json) lists exactly the same routes, which a test checks.
//  - /healthz answers 200 while the process serves; /readyz answers 200 when `readiness` says
//    "ok" (or "degraded": optional instances down) and 503 otherwise. Neither
//    needs a token nor says anything about plugins beyond that state.
#pragma once

#include "api/http_server.hpp"

#include <boost/json/fwd.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace branchline::api {

struct ApiContext {
  // The host's state, as in health.json: "starting", "ok", "degraded", "stopping", "failed".
  std::function<std::string()> readiness;
};

Router make_router(const ApiContext& context);

// docs/api/openapi.yaml, as built into the binary, and the same document as JSON.
std::string_view openapi_yaml();
const boost::json::value& openapi_document();

}  // namespace branchline::api
