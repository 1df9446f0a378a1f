// test_http_server: a small HTTP/1.1 server (plain or TLS) on 127.0.0.1 for the outbound HTTP
// client's tests. It speaks the real protocol: request line, headers, Content-Length bodies, one
// request per connection ("Connection: close").
//
// Routes: GET /hello -> 200 "hello"; POST /echo -> 200 with the request body; GET /headers -> 200
// with the request's header lines; GET /big -> 200 with 10 MiB; GET /slow -> waits 3 s, then 200;
// GET /status/<n> -> <n>; anything else -> 404. Or a handler of the test's own (a vendor's API).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <istream>
#include <string>
#include <thread>
#include <vector>

namespace branchline::test {

// A self-signed certificate for localhost/127.0.0.1 (openssl CLI), PEM files in `dir`.
inline bool make_test_certificate(const std::filesystem::path& dir) {
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
                    "/CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                    (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
  return std::system(cmd.c_str()) == 0;
}

struct TestHttpRequest {
  std::string method, path, head, body;
  // The value of a header (case-insensitive name), or empty.
  std::string header(std::string name) const {
    auto lower = [](std::string t) {
      for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return t;
    };
    std::string h = lower(head);
    auto at = h.find("\r\n" + lower(name) + ":");
    if (at == std::string::npos) return {};
    auto start = head.find_first_not_of(' ', at + name.size() + 3);
    return head.substr(start, head.find("\r\n", start) - start);
  }
};
struct TestHttpReply {
  int status = 200;
  std::string body;
};
using TestHttpHandler = std::function<TestHttpReply(const TestHttpRequest&)>;

class TestHttpServer {
 public:
  // cert_dir empty: plain HTTP; otherwise TLS with cert_dir/{cert,key}.pem.
  explicit TestHttpServer(const std::filesystem::path& cert_dir = {}, TestHttpHandler handler = {})
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}), tls_(!cert_dir.empty()),
        ssl_(boost::asio::ssl::context::tls_server), handler_(std::move(handler)) {
    if (tls_) {
      ssl_.set_options(boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
      ssl_.use_certificate_chain_file((cert_dir / "cert.pem").string());
      ssl_.use_private_key_file((cert_dir / "key.pem").string(), boost::asio::ssl::context::pem);
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~TestHttpServer() {
    stopping_ = true;
    boost::system::error_code ec;
    // Wake accept() with a connection of our own.
    boost::asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
    for (auto& t : workers_) t.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) + path;
  }
  int requests() const { return requests_; }

 private:
  template <class Stream>
  void handle(Stream& stream) {
    boost::system::error_code ec;
    boost::asio::streambuf buffer;
    std::size_t head_size = boost::asio::read_until(stream, buffer, "\r\n\r\n", ec);
    if (ec) return;
    std::string head(boost::asio::buffers_begin(buffer.data()), boost::asio::buffers_begin(buffer.data()) + head_size);
    buffer.consume(head_size);
    ++requests_;
    std::string method = head.substr(0, head.find(' '));
    std::string path = head.substr(method.size() + 1, head.find(' ', method.size() + 1) - method.size() - 1);
    std::size_t length = 0;
    auto at = head.find("Content-Length: ");
    if (at == std::string::npos) at = head.find("content-length: ");
    if (at != std::string::npos) length = std::stoul(head.substr(at + 16));
    std::string body(boost::asio::buffers_begin(buffer.data()), boost::asio::buffers_end(buffer.data()));
    if (body.size() < length) {
      std::string rest(length - body.size(), '\0');
      boost::asio::read(stream, boost::asio::buffer(rest), ec);
      body += rest;
    }
    int status = 200;
    std::string reply;
    if (handler_) {
      TestHttpReply r = handler_({method, path, head, body});
      status = r.status;
      reply = std::move(r.body);
    } else if (path == "/hello") reply = "hello";
    else if (path == "/echo") reply = body;
    else if (path == "/headers") reply = head;
    else if (path == "/big") reply.assign(10u << 20, 'x');
    else if (path == "/slow") std::this_thread::sleep_for(std::chrono::seconds(3)), reply = "slow";
    else if (path.rfind("/status/", 0) == 0) status = std::stoi(path.substr(8));
    else status = 404;
    std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                           std::to_string(reply.size()) + "\r\nX-Server: test\r\nConnection: close\r\n\r\n" + reply;
    boost::asio::write(stream, boost::asio::buffer(response), ec);
  }

  void serve() {
    while (!stopping_) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) break;
      workers_.emplace_back([this, socket = std::move(socket)]() mutable {
        if (tls_) {
          boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(std::move(socket), ssl_);
          boost::system::error_code hs;
          stream.handshake(boost::asio::ssl::stream_base::server, hs);
          if (!hs) handle(stream);
          stream.shutdown(hs);
        } else {
          handle(socket);
        }
      });
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  bool tls_;
  boost::asio::ssl::context ssl_;
  TestHttpHandler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

}  // namespace branchline::test
