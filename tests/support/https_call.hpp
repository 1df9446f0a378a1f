// https_call: one HTTPS request through the product's own outbound client (libcurl, certificate
// and host name verified against `policy.ca_file`), waited for. A request the client refuses to
// start comes back with its status and reason in `message`; a timeout as BL_DEADLINE_EXCEEDED.
#pragma once

#include "net/http_client.hpp"

#include <chrono>
#include <future>
#include <string>

namespace branchline::test {

inline net::HttpResponse https_call(net::HttpClient& client, const net::HttpPolicy& policy, std::string method,
                                    std::string url, net::HttpHeaders headers = {}, std::string body = {},
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.headers = std::move(headers);
  request.body = std::move(body);
  request.timeout = timeout;
  auto answer = std::make_shared<std::promise<net::HttpResponse>>();
  net::HttpClient::Id id = 0;
  std::string reason;
  bl_status started =
      client.start(std::move(request), policy, [answer](net::HttpResponse r) { answer->set_value(std::move(r)); }, &id, &reason);
  if (started != BL_OK) {
    net::HttpResponse refused;
    refused.status = started;
    refused.message = "the request was not started: " + reason;
    return refused;
  }
  auto future = answer->get_future();
  if (future.wait_for(timeout + std::chrono::seconds(5)) != std::future_status::ready) {
    client.cancel(id);
    net::HttpResponse late;
    late.status = BL_DEADLINE_EXCEEDED;
    late.message = "no answer in time";
    return late;
  }
  return future.get();
}

}  // namespace branchline::test
