// wss_client: a real WebSocket client over TLS (Boost.Beast) for tests, on its own io_context.
// Every operation runs with a time limit, so that a server that does not answer fails the test
// instead of hanging it.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace branchline::test {

class WssClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  explicit WssClient(const std::string& ca_file) : ssl_(boost::asio::ssl::context::tls_client) {
    ssl_.load_verify_file(ca_file);
    ssl_.set_verify_mode(boost::asio::ssl::verify_peer);
  }

  // TLS, then the WebSocket handshake for `target` with these headers (and subprotocols, offered
  // in Sec-WebSocket-Protocol). Returns the upgrade's HTTP status: 101 when accepted; otherwise the
  // server's answer is in response().
  int connect(unsigned short port, const std::string& target, Headers headers = {}, std::string subprotocols = {}) {
    namespace beast = boost::beast;
    ws_.emplace(io_, ssl_);
    auto& tcp = beast::get_lowest_layer(*ws_);
    tcp.expires_after(std::chrono::seconds(5));
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    beast::error_code ec;
    bool done = false;
    auto finish = [&](beast::error_code e) {
      ec = e;
      done = true;
    };
    tcp.async_connect(endpoint, finish);
    if (!run_until(done) || ec) {
      error_ = "cannot connect: " + ec.message();
      return -1;
    }
    SSL_set_tlsext_host_name(ws_->next_layer().native_handle(), "localhost");
    done = false;
    ws_->next_layer().async_handshake(boost::asio::ssl::stream_base::client, finish);
    if (!run_until(done) || ec) {
      error_ = "TLS handshake: " + ec.message();
      return -1;
    }
    tcp.expires_never();
    ws_->set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_->set_option(beast::websocket::stream_base::decorator([headers, subprotocols](beast::websocket::request_type& req) {
      for (const auto& [name, value] : headers) req.set(name, value);
      if (!subprotocols.empty()) req.set(beast::http::field::sec_websocket_protocol, subprotocols);
    }));
    done = false;
    ws_->async_handshake(response_, "localhost:" + std::to_string(port), target, finish);
    if (!run_until(done)) {
      error_ = "the WebSocket handshake did not finish";
      return -1;
    }
    if (ec) error_ = ec.message();
    return static_cast<int>(response_.result_int());
  }

  const boost::beast::websocket::response_type& response() const { return response_; }

  void write(const std::string& text, bool binary = false) {
    bool done = false;
    ws_->binary(binary);
    ws_->async_write(boost::asio::buffer(text), [&](boost::beast::error_code, std::size_t) { done = true; });
    run_until(done);
  }

  // The next text message, or nullopt when the socket closed (close_code() says how) or nothing
  // came within `timeout`.
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (closed_) return std::nullopt;
    boost::beast::error_code ec;
    bool done = false;
    ws_->async_read(buffer_, [&](boost::beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (!run_until(done, timeout)) {
      // Still pending: cancel it (the socket is of no further use).
      boost::beast::get_lowest_layer(*ws_).cancel();
      run_until(done, std::chrono::seconds(1));
      timed_out_ = true;
      return std::nullopt;
    }
    if (ec) {
      closed_ = true;
      return std::nullopt;
    }
    std::string text = boost::beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return text;
  }

  const std::string& error() const { return error_; }  // why connect() failed
  bool closed() const { return closed_; }
  bool timed_out() const { return timed_out_; }
  std::uint16_t close_code() const { return ws_ ? static_cast<std::uint16_t>(ws_->reason().code) : 0; }
  std::string close_reason() const { return ws_ ? std::string(ws_->reason().reason.c_str()) : std::string(); }
  std::string subprotocol() const { return std::string(response_[boost::beast::http::field::sec_websocket_protocol]); }

 private:
  // Runs the io_context until `done` (an operation's handler ran) or the limit; the stream's own
  // timers may still be pending, so "no work left" is not the sign.
  bool run_until(const bool& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    io_.restart();
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done) {
      auto left = until - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero() || io_.run_one_for(left) == 0) break;
    }
    return done;
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  std::optional<boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>> ws_;
  boost::beast::websocket::response_type response_;
  boost::beast::flat_buffer buffer_;
  std::string error_;
  bool closed_ = false, timed_out_ = false;
};

}  // namespace branchline::test
