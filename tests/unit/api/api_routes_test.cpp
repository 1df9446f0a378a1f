// The API's routes against its OpenAPI document (docs/api/openapi.yaml), route for route, and the
// health routes' answers.
#include "api/api_routes.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace branchline::api {
namespace {

namespace json = boost::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TEST(ApiRoutes, TheDocumentAndTheServerAgreeRouteForRoute) {
  const json::value& doc = openapi_document();
  ASSERT_EQ(doc.at("openapi").as_string(), "3.1.0");
  std::set<std::pair<std::string, std::string>> documented, served;
  for (const auto& [path, item] : doc.at("paths").as_object())
    for (const auto& [method, operation] : item.as_object()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      documented.emplace(lower(std::string(method)), std::string(path));
      EXPECT_TRUE(operation.as_object().contains("operationId")) << method << " " << path;
      EXPECT_TRUE(operation.as_object().contains("responses")) << method << " " << path;
    }
  for (const Router::Route& r : make_router(ApiContext{}).routes()) served.emplace(lower(r.method), r.pattern);
  for (const auto& route : served) EXPECT_TRUE(documented.count(route)) << "served, not documented: " << route.first << " " << route.second;
  for (const auto& route : documented) EXPECT_TRUE(served.count(route)) << "documented, not served: " << route.first << " " << route.second;
}

HttpResponse call(const Router& router, const std::string& method, const std::string& path) {
  std::map<std::string, std::string> params;
  std::string allow;
  const Handler* h = router.match(method, path, params, allow);
  HttpResponse out;
  out.status = 0;
  if (h) (*h)(HttpRequest{}, [&](HttpResponse r) { out = std::move(r); });
  return out;
}

TEST(ApiRoutes, ReadinessFollowsTheHostsStateAndLivenessDoesNot) {
  std::string state = "starting";
  ApiContext context;
  context.readiness = [&] { return state; };
  Router router = make_router(context);
  EXPECT_EQ(call(router, "GET", "/healthz").status, 200);
  HttpResponse r = call(router, "GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("the host is starting"), std::string::npos);
  for (const char* ready : {"ok", "degraded"}) {
    state = ready;
    EXPECT_EQ(call(router, "GET", "/readyz").status, 200) << ready;
  }
  for (const char* down : {"stopping", "failed"}) {
    state = down;
    EXPECT_EQ(call(router, "GET", "/readyz").status, 503) << down;
    EXPECT_EQ(call(router, "GET", "/healthz").status, 200) << down;
  }
  r = call(router, "GET", "/api/v1/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), openapi_document());
}

}  // namespace
}  // namespace branchline::api
