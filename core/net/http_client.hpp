// http_client: the host's outbound HTTP client (libcurl), lent to plugins as host->http_request.
//
// Contract:
//  - start() checks a request against the caller's HttpPolicy before anything leaves the machine:
//    the scheme (https, or http only when allow_plain_http), the host (allowed_hosts, when set),
//    the method (an HTTP token) and every header (no CR, LF or NUL: no header injection). A refusal
//    is returned at once with a reason and `done` is never called.
//  - An accepted request completes exactly once by calling `done` on the client's worker thread:
//    with an HTTP response (any status code), or with a transport error (BL_UNAVAILABLE: connect,
//    DNS, TLS; BL_DEADLINE_EXCEEDED: the timeout; BL_INTERNAL: a response larger than
//    max_response_bytes; BL_CANCELLED: cancel() or the client's destruction).
//  - TLS: 1.2 at least, peer and host name always verified (ca_file adds a trust anchor set);
//    redirects are not followed (a plugin sees the 3xx and decides), nothing is decompressed.
//  - Thread-safe; `done` must not block (it runs on the one worker thread all transfers share).
#pragma once

#include <branchline/abi.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace branchline::telemetry {
class MetricsRegistry;
}

namespace branchline::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  std::chrono::milliseconds timeout{0};  // 0: the policy's default
};

struct HttpResponse {
  bl_status status = BL_OK;  // BL_OK when a response arrived, whatever its HTTP status
  int http_status = 0;
  HttpHeaders headers;
  std::string body;
  std::string message;  // the transport error when status != BL_OK
};

struct HttpPolicy {
  std::vector<std::string> allowed_hosts;  // empty: any host
  bool allow_plain_http = false;
  std::string ca_file;  // extra trust anchors (PEM); empty: the system's
  std::string proxy;    // empty: none unless the environment sets one (curl's rules)
  std::chrono::milliseconds default_timeout{30000};
  std::chrono::milliseconds max_timeout{300000};
  std::size_t max_response_bytes = 8u << 20;
  std::size_t max_request_bytes = 8u << 20;
};

class HttpClient {
 public:
  using Done = std::function<void(HttpResponse)>;
  using Id = std::uint64_t;

  explicit HttpClient(std::shared_ptr<telemetry::MetricsRegistry> metrics = nullptr);
  ~HttpClient();  // cancels every transfer (done(BL_CANCELLED)) and joins the worker
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Returns BL_OK and an id, or a refusal (BL_INVALID_ARGUMENT, BL_PERMISSION_DENIED) with a reason.
  bl_status start(HttpRequest request, const HttpPolicy& policy, Done done, Id* id, std::string* reason);

  // Completes the transfer with BL_CANCELLED if it has not completed yet.
  void cancel(Id id);

  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace branchline::net
