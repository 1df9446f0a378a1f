// http_server: one Session per TLS connection, each on its own strand; the server keeps a registry
// of sessions so that shutdown can drain them (see http_server.hpp).
#include "api/http_server.hpp"

#include "api/tls_context.hpp"
#include "common/log.hpp"
#include "common/random_id.hpp"
#include "common/utf8.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>


#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace branchline::api {

// ---- requests, responses, routes ----

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// The client a limit applies to: its IPv4 address, or the /64 of its IPv6 address, since one
// IPv6 client commonly holds a whole /64.
std::string client_key_of(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  net::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  if (address.is_v4()) return address.to_string();
  net::ip::address_v6::bytes_type bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return net::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

namespace {

std::optional<std::string> form_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex(text[i + 1]), low = hex(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body, std::size_t max_pairs) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!body.empty()) {
    std::size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    if (pairs.size() == max_pairs) return std::nullopt;
    std::size_t eq = pair.find('=');
    auto name = form_decode(pair.substr(0, eq));
    auto value = form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    pairs.emplace_back(std::move(*name), std::move(*value));
  }
  return pairs;
}

std::string media_type(const HttpRequest& request) {
  std::string_view value = request.header("content-type");
  std::string type(value.substr(0, value.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

HttpResponse too_many_requests(const RateDecision& d, std::string_view detail) {
  HttpResponse r = HttpResponse::problem(429, detail);
  r.set("Retry-After", std::to_string(d.retry_after_s));
  r.set("RateLimit-Limit", std::to_string(d.limit));
  r.set("RateLimit-Remaining", std::to_string(d.remaining));
  r.set("RateLimit-Reset", std::to_string(d.reset_s));
  return r;
}

HttpResponse& HttpResponse::set(std::string name, std::string value) {
  for (auto& [k, v] : headers)
    if (iequals(k, name)) {
      v = std::move(value);
      return *this;
    }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

HttpResponse HttpResponse::json(int status, const json::value& body) {
  HttpResponse r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = json::serialize(body);
  return r;
}

std::string status_title(int status) {
  std::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  return reason.empty() || reason == "<unknown-status>" ? "Error" : std::string(reason);
}

HttpResponse HttpResponse::problem(int status, std::string_view detail) {
  json::object body{{"type", "about:blank"}, {"title", status_title(status)}, {"status", status}};
  if (!detail.empty()) body["detail"] = detail;
  HttpResponse r = HttpResponse::json(status, body);
  r.set("Content-Type", "application/problem+json");
  return r;
}

HttpResponse HttpResponse::unavailable(std::string_view detail, int retry_after_s) {
  HttpResponse r = problem(503, detail);
  r.set("Retry-After", std::to_string(retry_after_s));
  return r;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  std::vector<std::string> segments = split_path(pattern);
  entries_.push_back(Entry{Route{std::move(method), std::move(pattern)}, std::move(segments), std::move(handler), nullptr});
}

void Router::add_websocket(std::string pattern, UpgradeHandler handler) {
  std::vector<std::string> segments = split_path(pattern);
  Handler plain = [](const HttpRequest&, Respond respond) {
    HttpResponse r = HttpResponse::problem(426, "this is a WebSocket: connect with Upgrade: websocket");
    r.set("Upgrade", "websocket");
    r.set("Connection", "Upgrade");
    respond(std::move(r));
  };
  entries_.push_back(Entry{Route{"GET", std::move(pattern)}, std::move(segments), std::move(plain), std::move(handler)});
}

std::vector<Router::Route> Router::routes() const {
  std::vector<Route> out;
  for (const Entry& e : entries_) out.push_back(e.route);
  return out;
}

bool Router::matches(const Entry& e, const std::vector<std::string>& segments, std::map<std::string, std::string>& params) {
  if (e.segments.size() != segments.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = e.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (segments[i].empty()) return false;
      found[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

const Handler* Router::match(const std::string& method, const std::string& path,
                             std::map<std::string, std::string>& params, std::string& allow) const {
  std::vector<std::string> segments = split_path(path);
  for (const Entry& e : entries_) {
    std::map<std::string, std::string> found;
    if (!matches(e, segments, found)) continue;
    if (e.route.method == method) {
      params = std::move(found);
      return &e.handler;
    }
    if (allow.find(e.route.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + e.route.method;
  }
  return nullptr;
}

const UpgradeHandler* Router::match_websocket(const std::string& path, std::map<std::string, std::string>& params) const {
  std::vector<std::string> segments = split_path(path);
  for (const Entry& e : entries_)
    if (e.upgrade && matches(e, segments, params)) return &e.upgrade;
  return nullptr;
}

// ---- the server ----

class Session;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  net::io_context& io;
  ServerOptions options;
  std::shared_ptr<TlsContextHolder> tls;
  Router router;
  tcp::acceptor acceptor;
  std::atomic<bool> draining{false};
  unsigned short bound_port = 0;
  std::optional<RateLimiter> per_ip;

  mutable std::mutex mutex;
  std::condition_variable all_closed;
  std::set<std::shared_ptr<Session>> sessions;
  std::map<std::string, std::size_t> per_client;  // open connections by client key
  net::steady_timer accept_backoff{acceptor.get_executor()};

  Impl(net::io_context& io_, ServerOptions o, std::shared_ptr<TlsContextHolder> t, Router r)
      : io(io_), options(std::move(o)), tls(std::move(t)), router(std::move(r)), acceptor(net::make_strand(io_)) {
    if (options.per_ip) per_ip.emplace(*options.per_ip);
  }

  void accept();
  void forget(const std::shared_ptr<Session>& session);
  void decorate(HttpResponse& response, const HttpRequest& request) const;
  std::optional<HttpResponse> cors_preflight(const HttpRequest& request) const;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string client_key, std::shared_ptr<net::ssl::context> context,
          std::shared_ptr<HttpServer::Impl> server)
      : client_key_(std::move(client_key)),
        context_(std::move(context)),
        stream_(std::move(socket), *context_),
        handler_timer_(stream_.get_executor()),
        server_(std::move(server)) {
    beast::error_code ec;
    auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    remote_ = ec ? "unknown" : endpoint.address().to_string();
  }

  // From any thread: everything a session does runs on its own strand.
  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

  // From any thread: close now if no request is being handled (the pending read or handshake is
  // cancelled and ends in close()), else after its response, which says Connection: close.
  void close_when_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->ws_) return self->ws_close(1001, "the server is shutting down");
      if (!self->busy_) beast::get_lowest_layer(self->stream_).cancel();
    });
  }
  // From any thread: the socket goes now, whatever is in flight.
  void close_now() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->ws_) return self->ws_abort();
      self->closed_ = true;
      self->handler_timer_.cancel();
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
      self->server_->forget(self);
    });
  }
  const std::string& client_key() const { return client_key_; }

  // A WebSocket's send and close, from any thread (SocketHandle).
  void post_send(std::string text) {
    net::post(stream_.get_executor(), [self = shared_from_this(), text = std::move(text)]() mutable { self->ws_send(std::move(text)); });
  }
  void post_close(std::uint16_t code, std::string reason) {
    net::post(stream_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] { self->ws_close(code, reason); });
  }

 private:
  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(server_->options.limits.handshake_timeout);
    stream_.async_handshake(net::ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return close();
    read_header();
  }

  void read_header() {
    if (server_->draining) return close();
    body_late_ = false;
    upgrade_.reset();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.limits.max_header_bytes));
    parser_->body_limit(server_->options.limits.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(server_->options.limits.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    // Not the stream's own timeout, which closes the socket: a late body is cancelled instead, so
    // that the client still gets its 408.
    beast::get_lowest_layer(stream_).expires_never();
    busy_ = true;  // a request has begun: a drain lets it finish
    // No body to wait for (a GET, or Content-Length: 0): on at once, not through another read
    // and a deadline, each of which is a turn through the I/O threads' queue (under load that turn
    // was the largest wait in a request).
    if (parser_->is_done()) return on_body({});
    reading_body_ = true;
    handler_timer_.expires_after(server_->options.limits.request_timeout);
    handler_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      // The body may have completed while this was queued: act only if it is still awaited.
      if (ec || !self->reading_body_) return;
      self->body_late_ = true;
      beast::get_lowest_layer(self->stream_).cancel();
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_read_error(beast::error_code ec) {
    bool started = parser_ && parser_->got_some();
    if (body_late_) return fail(408, "the request did not arrive in time");
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted) return close();
    if (ec == http::error::header_limit) return fail(431, "the request's header is larger than allowed");
    if (ec == http::error::body_limit) return fail(413, "the request's body is larger than allowed");
    if (ec == beast::error::timeout && started) return fail(408, "the request did not arrive in time");
    if (started && ec.category() == http::make_error_code(http::error::bad_target).category())
      return fail(400, "the request is not valid HTTP/1.1");
    close();
  }

  // Answers a request that cannot be handled, then closes.
  void fail(int status, std::string_view detail) {
    HttpRequest request;
    request.request_id = random_hex(12);
    HttpResponse response = HttpResponse::problem(status, detail);
    keep_alive_ = false;
    send(std::move(response), request);
  }

  void on_body(beast::error_code ec) {
    reading_body_ = false;
    handler_timer_.cancel();
    if (ec) return on_read_error(ec);
    http::request<http::string_body> message = parser_->release();
    bool upgrade = websocket::is_upgrade(message);
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    std::size_t q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote_;
    request.request_id = random_hex(12);
    keep_alive_ = message.keep_alive();
    // Kept (what is left of it) for the WebSocket handshake, should a WebSocket route accept it.
    if (upgrade) upgrade_ = std::move(message);
    dispatch(std::make_shared<HttpRequest>(std::move(request)));
  }

  void dispatch(std::shared_ptr<HttpRequest> request) {
    busy_ = true;
    if (request->path.empty() || request->path[0] != '/') return send(HttpResponse::problem(400, "the target is not a path"), *request);
    if (server_->per_ip) {
      RateDecision d = server_->per_ip->take(client_key_);
      if (!d.allowed) {
        return send(too_many_requests(d, "too many requests from this address"), *request);
      }
    }
    if (auto preflight = server_->cors_preflight(*request)) return send(std::move(*preflight), *request);
    // Exactly one answer wins: the handler's (a response, or a WebSocket's acceptance), or the deadline's.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    request->answered = answered;
    auto self = shared_from_this();
    Respond respond = [self, request, answered](HttpResponse response) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(), [self, request, response = std::move(response)]() mutable {
        self->handler_timer_.cancel();
        self->send(std::move(response), *request);
      });
    };
    const UpgradeHandler* upgrade = nullptr;
    if (upgrade_ && request->method == "GET") upgrade = server_->router.match_websocket(request->path, request->params);
    if (upgrade) {
      // What Beast would refuse after the route decided: refused first, as a problem.
      if (request->header("sec-websocket-version") != "13") {
        HttpResponse r = HttpResponse::problem(426, "WebSocket version 13 only");
        r.set("Sec-WebSocket-Version", "13");
        return send(std::move(r), *request);
      }
      if (request->header("sec-websocket-key").size() != 24)
        return send(HttpResponse::problem(400, "the WebSocket handshake has no valid Sec-WebSocket-Key"), *request);
    }
    std::string allow;
    const Handler* handler = upgrade ? nullptr : server_->router.match(request->method, request->path, request->params, allow);
    if (!handler && !upgrade) {
      if (allow.empty()) return send(HttpResponse::problem(404, "no such resource"), *request);
      HttpResponse r = HttpResponse::problem(405, "allowed: " + allow);
      r.set("Allow", allow);
      return send(std::move(r), *request);
    }
    handler_timer_.expires_after(server_->options.limits.request_timeout);
    handler_timer_.async_wait([respond](beast::error_code ec) {
      if (!ec) respond(HttpResponse::problem(503, "the request could not be completed in time"));
    });
    try {
      if (!upgrade) return (*handler)(*request, respond);
      AcceptWebSocket accept = [self, request, answered](WebSocketHandlers handlers) {
        if (answered->exchange(true)) return;
        net::post(self->stream_.get_executor(), [self, request, handlers = std::move(handlers)]() mutable {
          self->handler_timer_.cancel();
          self->open_websocket(std::move(handlers), *request);
        });
      };
      (*upgrade)(*request, respond, std::move(accept));
    } catch (const std::exception& e) {
      log::error("api", std::string("handler for ") + request->method + " " + request->path + " failed: " + e.what());
      respond(HttpResponse::problem(500));
    }
  }

  // ---- WebSocket: after a route accepted the upgrade, this connection speaks RFC 6455 ----

  void open_websocket(WebSocketHandlers handlers, const HttpRequest& request) {
    if (closed_ || !upgrade_) return;
    if (server_->draining) {  // decided while the drain began: no new socket
      keep_alive_ = false;
      return send(HttpResponse::unavailable("the server is shutting down", 5), request);
    }
    ws_handlers_ = std::move(handlers);
    ws_messages_.emplace(server_->options.limits.websocket_messages);
    const ServerLimits& limits = server_->options.limits;
    beast::get_lowest_layer(stream_).expires_never();  // the WebSocket's own timeouts take over
    ws_ = std::make_unique<WsStream>(stream_);
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = limits.handshake_timeout;  // also for the closing handshake
    timeouts.idle_timeout = limits.websocket_idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_->set_option(timeouts);
    ws_->read_message_max(limits.websocket_max_message_bytes);
    ws_->set_option(websocket::stream_base::decorator(
        [subprotocol = ws_handlers_.subprotocol, headers = security_headers(request)](websocket::response_type& response) {
          if (!subprotocol.empty()) response.set(http::field::sec_websocket_protocol, subprotocol);
          for (const auto& [name, value] : headers) response.set(name, value);
          response.set(http::field::server, "branchline");  // else Beast names itself and its version
        }));
    ws_->async_accept(*upgrade_, [self = shared_from_this()](beast::error_code ec) { self->on_ws_accept(ec); });
  }

  // The headers decorate() gives every response, for the 101 that Beast writes itself.
  std::vector<std::pair<std::string, std::string>> security_headers(const HttpRequest& request) const {
    HttpResponse probe;
    probe.status = 101;
    server_->decorate(probe, request);
    return probe.headers;
  }

  void on_ws_accept(beast::error_code ec) {
    upgrade_.reset();
    if (ec) return ws_end();
    ws_open_ = true;
    if (ws_pending_close_) return ws_close(ws_pending_close_->first, ws_pending_close_->second);
    if (ws_handlers_.deadline) {
      auto left = *ws_handlers_.deadline - std::chrono::system_clock::now();
      handler_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(left));
      handler_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->ws_close(1008, self->ws_handlers_.deadline_reason);
      });
    }
    if (ws_handlers_.opened) ws_handlers_.opened(std::make_shared<SocketHandle>(weak_from_this()));
    ws_read();
  }

  void ws_read() {
    ws_->async_read(ws_buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_ws_read(ec); });
  }

  void on_ws_read(beast::error_code ec) {
    if (ec) return ws_end();  // closed, timed out, too large (1009 sent), or the socket went
    std::string text = beast::buffers_to_string(ws_buffer_.data());
    ws_buffer_.consume(ws_buffer_.size());
    if (!ws_->got_text()) {
      ws_close(1003, "text messages only");
    } else if (!ws_closing_ && !ws_messages_->take("socket").allowed) {
      ws_close(1008, "too many messages");
    } else if (!ws_closing_ && ws_handlers_.message) {
      ws_handlers_.message(text);
    }
    ws_read();  // until the peer's close frame (or an error) ends the loop
  }

  void ws_send(std::string text) {
    if (!ws_ || ws_closing_ || ws_ended_) return;
    if (ws_queued_bytes_ + text.size() > server_->options.limits.websocket_max_queued_bytes) {
      log::warn("api", "a WebSocket client does not read its messages; dropping the connection");
      return ws_abort();  // a close frame would wait behind what it does not read
    }
    ws_queued_bytes_ += text.size();
    ws_queue_.push_back(std::move(text));
    if (!ws_writing_) ws_write_next();
  }

  void ws_write_next() {
    ws_writing_ = true;
    ws_->text(true);
    ws_->async_write(net::buffer(ws_queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->ws_writing_ = false;
      self->ws_queued_bytes_ -= self->ws_queue_.front().size();
      self->ws_queue_.pop_front();
      if (ec) return self->ws_abort();
      if (!self->ws_closing_ && !self->ws_queue_.empty()) self->ws_write_next();
    });
  }

  void ws_close(std::uint16_t code, std::string reason) {
    if (!ws_ || ws_closing_ || ws_ended_) return;
    if (!ws_open_) {  // the 101 is still being written: close once it is
      if (!ws_pending_close_) ws_pending_close_.emplace(code, std::move(reason));
      return;
    }
    ws_closing_ = true;
    // A close frame's payload is at most 125 bytes: the reason is cut to 123, on a UTF-8 boundary.
    reason = utf8::printable(reason, 123);
    websocket::close_reason why(static_cast<websocket::close_code>(code), reason);
    // A hard deadline: a peer that never completes the closing handshake (or never reads, so that
    // the close frame cannot even be written) is dropped.
    handler_timer_.expires_after(server_->options.limits.handshake_timeout);
    handler_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->ws_abort();
    });
    ws_->async_close(why, [self = shared_from_this()](beast::error_code ec) {
      if (ec) self->ws_end();  // else the read loop ends when the peer's close arrives
    });
  }

  // Drops the connection at once; the pending operations end with errors and ws_end() follows
  // (called here too, so that `closed` runs even if the executor stops first).
  void ws_abort() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
    ws_end();
  }

  void ws_end() {
    if (ws_ended_) return;
    ws_ended_ = true;
    closed_ = true;
    handler_timer_.cancel();
    auto closed = std::move(ws_handlers_.closed);
    ws_handlers_ = {};
    if (closed) closed();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
    server_->forget(shared_from_this());
  }

  class SocketHandle final : public WebSocket {
   public:
    explicit SocketHandle(std::weak_ptr<Session> session) : session_(std::move(session)) {}
    void send(std::string text) override {
      if (auto s = session_.lock()) s->post_send(std::move(text));
    }
    void close(std::uint16_t code, std::string reason) override {
      if (auto s = session_.lock()) s->post_close(code, std::move(reason));
    }

   private:
    std::weak_ptr<Session> session_;
  };

  void send(HttpResponse response, const HttpRequest& request) {
    busy_ = true;
    server_->decorate(response, request);
    auto message = std::make_shared<http::response<http::string_body>>();
    message->version(11);
    message->result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) message->insert(name, value);
    message->body() = std::move(response.body);
    bool keep = keep_alive_ && !server_->draining;
    message->keep_alive(keep);
    message->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(server_->options.limits.request_timeout);
    http::async_write(stream_, *message, [self = shared_from_this(), message, keep](beast::error_code ec, std::size_t) {
      self->busy_ = false;
      if (ec || !keep) return self->close();
      self->read_header();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    handler_timer_.cancel();
    // Our close_notify, and a short wait for the peer's: most clients never answer it, and a
    // drain must not wait on them.
    beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(200));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
      self->server_->forget(self);
    });
  }

  std::string client_key_;
  std::shared_ptr<net::ssl::context> context_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  net::steady_timer handler_timer_;  // the handler's deadline; a WebSocket's deadline once open
  // WebSocket state: the upgrade request until the handshake, then the stream over stream_.
  using WsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>&>;
  std::optional<http::request<http::string_body>> upgrade_;
  std::unique_ptr<WsStream> ws_;
  WebSocketHandlers ws_handlers_;
  beast::flat_buffer ws_buffer_;
  std::deque<std::string> ws_queue_;
  std::size_t ws_queued_bytes_ = 0;
  std::optional<RateLimiter> ws_messages_;  // the client's messages, one bucket
  std::optional<std::pair<std::uint16_t, std::string>> ws_pending_close_;  // asked before the 101 was written
  bool ws_open_ = false, ws_writing_ = false, ws_closing_ = false, ws_ended_ = false;
  std::shared_ptr<HttpServer::Impl> server_;
  std::string remote_;
  bool keep_alive_ = true;
  bool body_late_ = false;
  bool reading_body_ = false;
  bool busy_ = false;
  bool closed_ = false;
};

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
      // Out of descriptors (or another transient failure): the connection stays in the backlog,
      // so accepting again at once would spin. Wait a little first.
      log::warn("api", "accept failed: " + ec.message() + "; retrying in 100 ms");
      self->accept_backoff.expires_after(std::chrono::milliseconds(100));
      self->accept_backoff.async_wait([self](beast::error_code e) {
        if (!e) self->accept();
      });
      return;
    }
    std::string key = client_key_of(socket);
    std::shared_ptr<Session> session;
    {
      std::lock_guard lock(self->mutex);
      std::size_t& mine = self->per_client[key];
      if (!self->draining && self->sessions.size() < self->options.limits.max_connections &&
          mine < self->options.limits.max_connections_per_client) {
        session = std::make_shared<Session>(std::move(socket), key, self->tls->current(), self);
        self->sessions.insert(session);
        ++mine;
      } else if (mine == 0) {
        self->per_client.erase(key);
      }
    }
    if (session) session->start();  // else the socket is closed as it goes out of scope
    self->accept();
  });
}

void HttpServer::Impl::forget(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mutex);
  if (sessions.erase(session) == 0) return;
  auto it = per_client.find(session->client_key());
  if (it != per_client.end() && --it->second == 0) per_client.erase(it);
  if (sessions.empty()) all_closed.notify_all();
}

void HttpServer::Impl::decorate(HttpResponse& response, const HttpRequest& request) const {
  response.set("Strict-Transport-Security", "max-age=" + std::to_string(options.hsts_max_age.count()) + "; includeSubDomains");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Frame-Options", "DENY");
  if (std::none_of(response.headers.begin(), response.headers.end(),
                   [](const auto& h) { return iequals(h.first, "Cache-Control"); }))
    response.set("Cache-Control", "no-store");
  response.set("X-Request-Id", request.request_id);
  // Always, so that a shared cache never serves one origin's answer to another.
  std::string vary;
  for (const auto& [k, v] : response.headers)
    if (iequals(k, "Vary")) vary = v;
  if (vary.find("Origin") == std::string::npos) response.set("Vary", vary.empty() ? "Origin" : vary + ", Origin");
  std::string_view origin = request.header("origin");
  if (!origin.empty()) {
    if (std::find(options.cors_allowed_origins.begin(), options.cors_allowed_origins.end(), origin) !=
        options.cors_allowed_origins.end()) {
      response.set("Access-Control-Allow-Origin", std::string(origin));
      response.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, WWW-Authenticate, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset");
    }
  }
}

std::optional<HttpResponse> HttpServer::Impl::cors_preflight(const HttpRequest& request) const {
  if (request.method != "OPTIONS" || request.header("access-control-request-method").empty()) return std::nullopt;
  std::string_view origin = request.header("origin");
  if (std::find(options.cors_allowed_origins.begin(), options.cors_allowed_origins.end(), origin) ==
      options.cors_allowed_origins.end())
    return HttpResponse::problem(403, "this origin is not allowed");
  HttpResponse r;
  r.status = 204;
  r.set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
  r.set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP, Idempotency-Key");
  r.set("Access-Control-Max-Age", "600");
  return r;
}

HttpServer::HttpServer(net::io_context& io, ServerOptions options, std::shared_ptr<TlsContextHolder> tls, Router router)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(tls), std::move(router))) {}

HttpServer::~HttpServer() {
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

void HttpServer::start() {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.address, ec);
  if (ec) throw std::system_error(ec, "api.listen: '" + impl_->options.address + "' is not an IP address");
  tcp::endpoint endpoint(address, impl_->options.port);
  std::string where = impl_->options.address + ":" + std::to_string(impl_->options.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "cannot listen on " + where);
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
}

unsigned short HttpServer::port() const { return impl_->bound_port; }

std::string HttpServer::listening() const {
  std::string address = impl_->options.address;
  if (address.find(':') != std::string::npos) address = "[" + address + "]";
  return address + ":" + std::to_string(impl_->bound_port);
}

std::size_t HttpServer::open_connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->sessions.size();
}

void HttpServer::shutdown(std::chrono::milliseconds drain) {
  impl_->draining = true;
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  std::unique_lock lock(impl_->mutex);
  for (const auto& session : impl_->sessions) session->close_when_idle();
  if (!impl_->all_closed.wait_for(lock, drain, [&] { return impl_->sessions.empty(); })) {
    log::warn("api", std::to_string(impl_->sessions.size()) + " connections still open after the drain; closing them");
    for (const auto& session : impl_->sessions) session->close_now();
    impl_->all_closed.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->sessions.empty(); });
  }
}

}  // namespace branchline::api
