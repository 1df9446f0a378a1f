// http_server: the API's HTTPS server (Boost.Beast over OpenSSL), its router, and the shape of
// its requests and responses. Beast stays inside http_server.cpp; nothing here pulls it in.
//
// Contract:
//  - TLS only (tls_context: 1.3 by default). HTTP/1.1 with keep-alive. Every response carries
//    HSTS, nosniff, a deny-all Content-Security-Policy, no-referrer, X-Frame-Options DENY,
//    Cache-Control no-store (unless the handler set its own) and X-Request-Id; no Server header
//    (but for a WebSocket's 101, below).
//  - Limits, each answered as RFC 9457 problem+json and then the connection closed: a header
//    larger than max_header_bytes (431), a body larger than max_body_bytes (413), a malformed
//    request (400), a request not complete within request_timeout after its header (408), a
//    handler that has not answered within request_timeout (503). A connection idle for
//    idle_timeout, or whose TLS handshake takes longer than handshake_timeout, is closed.
//    Beyond max_connections, or max_connections_per_client from one client (an IPv4 address or an
//    IPv6 /64), new connections are closed at once. An accept that fails (out of descriptors) is
//    retried after 100 ms, never in a loop.
//  - Routing: an exact method and a path pattern whose `{name}` segments match one non-empty
//    segment each (HttpRequest::params). An unknown path is 404, a known path with another
//    method 405 with Allow; both problem+json.
//  - Abuse limit: with per_ip set, each client (as above) has a token bucket (rate_limiter); a request
//    beyond it is answered 429 with Retry-After and RateLimit-Limit/-Remaining/-Reset, before
//    any routing or handler work.
//  - CORS: only origins in cors_allowed_origins (exact scheme://host[:port]) get
//    Access-Control-Allow-Origin, always that origin and never `*`, with `Vary: Origin`;
//    credentials (cookies) are never allowed, since the API authenticates with tokens. A
//    preflight (OPTIONS with Access-Control-Request-Method) is answered by the server itself,
//    204 for an allowed origin and 403 otherwise; it needs no token.
//  - Handlers run on the server's threads and answer through Respond exactly once, from any
//    thread (the answer can wait for a durable audit entry); later calls are ignored. A handler
//    that throws is answered 500 with no detail. The request a handler is given stays valid as
//    long as a copy of its Respond exists, so a continuation that keeps `respond` may keep a
//    reference to the request.
//  - WebSockets (RFC 6455) on the same port and TLS: a route added with add_websocket() takes an
//    upgrade request (GET with Upgrade: websocket, a Sec-WebSocket-Key and version 13, checked
//    before the route runs) and either accepts it (101, then text messages both ways) or refuses
//    it with an ordinary response; a plain GET there is 426. The 101 carries the same security
//    headers as every response, and `Server: branchline` (Beast always sends one). Limits: a
//    message larger than websocket_max_message_bytes closes with 1009, a binary one with 1003, more
//    than websocket_messages from the client with 1008; the server pings an idle socket and closes
//    it when nothing comes back within websocket_idle_timeout; a socket given a deadline is closed
//    with 1008 at it. A close is a hard deadline: when the closing handshake has not finished
//    within handshake_timeout the connection is dropped. A client that reads so slowly that more
//    than websocket_max_queued_bytes wait to be sent is dropped at once (a close frame could not
//    reach it). During a drain, an upgrade not yet accepted is answered 503.
//  - shutdown(drain) stops accepting, closes idle connections and WebSockets (1001, going away),
//    lets requests in flight finish (their responses say Connection: close), and closes whatever
//    is left after `drain`. It blocks until every connection is gone; call it from a thread that
//    is not running `io`.
#pragma once

#include "api/rate_limiter.hpp"

#include <boost/json/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace branchline::api {

class TlsContextHolder;

struct ServerLimits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_client = 256;  // per IPv4 address or IPv6 /64
  std::size_t websocket_max_message_bytes = 64 * 1024;
  std::size_t websocket_max_queued_bytes = 1024 * 1024;
  std::chrono::milliseconds websocket_idle_timeout{60000};  // pinged at half of it
  RateLimit websocket_messages{20, 40};                      // per socket, from the client
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8443;  // 0: any free port (tests)
  ServerLimits limits;
  std::chrono::seconds hsts_max_age{31536000};
  std::vector<std::string> cors_allowed_origins;
  std::optional<RateLimit> per_ip;  // requests per client address; beyond it, 429
};

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::map<std::string, std::string> params;                 // from the route's {name} segments
  std::string body;
  std::string remote_address;
  std::string request_id;
  // Set by the server at dispatch; true once the request has its answer (a handler's, or 503 at
  // request_timeout): work that has not started by then must not start (access_gate checks it).
  std::shared_ptr<const std::atomic<bool>> answered;

  // The first header of that name (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const;
  bool already_answered() const { return answered && answered->load(); }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  HttpResponse& set(std::string name, std::string value);

  static HttpResponse json(int status, const boost::json::value& body);
  // RFC 9457 problem details (application/problem+json): type about:blank, the status's title,
  // and `detail` when given. Never put a secret or personal data in `detail`.
  static HttpResponse problem(int status, std::string_view detail = {});
  // 503 with Retry-After: the problem is passing (a plugin, the ledger, a drain), try again then.
  static HttpResponse unavailable(std::string_view detail, int retry_after_s);
};

using Respond = std::function<void(HttpResponse)>;
using Handler = std::function<void(const HttpRequest&, Respond)>;

// A WebSocket the server accepted. Its methods may be called from any thread, also after the
// socket closed (they then do nothing).
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // Queues a text message (valid UTF-8); messages leave in order.
  virtual void send(std::string text) = 0;
  // Sends a close frame with this code and reason (cut to 123 bytes) and ends the connection.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

struct WebSocketHandlers {
  std::string subprotocol;  // answered in Sec-WebSocket-Protocol; "" for none
  // When set, the socket is closed with 1008 and `deadline_reason` at that time (a token's expiry).
  std::optional<std::chrono::system_clock::time_point> deadline;
  std::string deadline_reason;
  std::function<void(std::shared_ptr<WebSocket>)> opened;  // after the handshake, before any message
  std::function<void(std::string_view text)> message;      // each text message, in order
  std::function<void()> closed;                             // once, however the socket ended
};
using AcceptWebSocket = std::function<void(WebSocketHandlers)>;
// A WebSocket route decides, then calls exactly one of `accept` (the handshake answers 101) and
// `refuse` (an ordinary response: 401, 403, ...), once. The request stays valid as for a Handler.
using UpgradeHandler = std::function<void(const HttpRequest&, Respond refuse, AcceptWebSocket accept)>;

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
  };

  void add(std::string method, std::string pattern, Handler handler);
  // A WebSocket route: GET `pattern` with an upgrade; a GET without one is answered 426.
  void add_websocket(std::string pattern, UpgradeHandler handler);
  std::vector<Route> routes() const;

  // The handler for method and path (and the pattern's params), or nullptr; `allow` lists the
  // methods the path has when only the method is wrong.
  const Handler* match(const std::string& method, const std::string& path, std::map<std::string, std::string>& params,
                       std::string& allow) const;
  // The WebSocket route of a path, or nullptr.
  const UpgradeHandler* match_websocket(const std::string& path, std::map<std::string, std::string>& params) const;

 private:
  struct Entry {
    Route route;
    std::vector<std::string> segments;
    Handler handler;
    UpgradeHandler upgrade;  // WebSocket routes only
  };
  static bool matches(const Entry& entry, const std::vector<std::string>& segments, std::map<std::string, std::string>& params);
  std::vector<Entry> entries_;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, ServerOptions options, std::shared_ptr<TlsContextHolder> tls, Router router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. Throws std::system_error naming the address.
  void start();
  unsigned short port() const;
  std::string listening() const;  // address:port
  std::size_t open_connections() const;

  void shutdown(std::chrono::milliseconds drain);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// An application/x-www-form-urlencoded body (WHATWG URL "application/x-www-form-urlencoded
// parsing", strict): name=value pairs split on '&', '+' as a space, %XX decoded. nullopt for a
// malformed %-escape or more than max_pairs pairs. (Boost.URL would do it, but Debian's Boost 1.81
// ships it without a compiled library.)
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body,
                                                                           std::size_t max_pairs = 64);

// The request's media type (Content-Type without parameters), in lower case (RFC 9110 §8.3.1).
std::string media_type(const HttpRequest& request);

// 429 for a request over its rate limit: Retry-After and RateLimit-Limit/-Remaining/-Reset.
HttpResponse too_many_requests(const RateDecision& decision, std::string_view detail);

// The reason phrase of a status, e.g. "Too Many Requests".
std::string status_title(int status);

}  // namespace branchline::api
