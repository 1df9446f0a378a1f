// api_on_loopback: the API's routes served as branchlined serves them (make_router with the gate,
// the development certificate, the context's gate and plugin ports), on 127.0.0.1 and any free port, already listening.
#pragma once

#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "api/http_server.hpp"
#include "api/tls_context.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace branchline::test {

inline std::unique_ptr<api::HttpServer> serve_api_on_loopback(boost::asio::io_context& io, const api::TlsSettings& tls,
                                                               api::ApiContext context, api::ServerLimits limits = {}) {
  if (!context.readiness) context.readiness = [] { return std::string("ok"); };
  api::ServerOptions options;
  options.port = 0;
  options.limits = limits;
  auto server = std::make_unique<api::HttpServer>(io, options, std::make_shared<api::TlsContextHolder>(tls),
                                                  api::make_router(context));
  server->start();
  return server;
}

inline std::string loopback_url(const api::HttpServer& server) {
  return "https://127.0.0.1:" + std::to_string(server.port());
}

}  // namespace branchline::test
