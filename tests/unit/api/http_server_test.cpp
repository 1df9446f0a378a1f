// The API's HTTPS server against a real TLS client (OpenSSL through Beast): protocol versions and
// suites, security headers, keep-alive, limits, problem+json, CORS, certificate reload, drain.
#include "api/http_server.hpp"
#include "api/tls_context.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

namespace branchline::api {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;

struct ClientOptions {
  int max_version = TLS1_3_VERSION;
  const char* tls12_ciphers = nullptr;
};

// A TLS client that verifies the server's certificate (the development CA is the certificate).
class Client {
 public:
  Client(unsigned short port, const fs::path& ca, ClientOptions o = {}) : context_(ssl::context::tls_client) {
    context_.load_verify_file(ca.string());
    context_.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_max_proto_version(context_.native_handle(), o.max_version);
    if (o.tls12_ciphers) SSL_CTX_set_cipher_list(context_.native_handle(), o.tls12_ciphers);
    stream_.emplace(io_, context_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream_->native_handle()), "127.0.0.1");
    beast::get_lowest_layer(*stream_).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::error_code ec;
    stream_->handshake(ssl::stream_base::client, ec);
    handshake_error = ec;
  }

  void send(http::request<http::string_body> req) {
    req.version(11);
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    http::write(*stream_, req);
  }
  http::response<http::string_body> request(http::request<http::string_body> req) {
    send(std::move(req));
    return read();
  }
  http::response<http::string_body> get(const std::string& target) {
    return request(http::request<http::string_body>(http::verb::get, target, 11));
  }
  http::response<http::string_body> read() {
    http::response<http::string_body> res;
    beast::error_code ec;
    http::read(*stream_, buffer_, res, ec);
    read_error = ec;
    return res;
  }
  void write_raw(const std::string& bytes) { net::write(*stream_, net::buffer(bytes)); }
  std::string protocol() { return SSL_get_version(stream_->native_handle()); }
  std::string cipher() { return SSL_get_cipher_name(stream_->native_handle()); }
  std::string peer_serial() {
    X509* cert = SSL_get1_peer_certificate(stream_->native_handle());
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out(hex);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    return out;
  }
  // True when the server has closed the connection (a read ends).
  bool closed_by_server() {
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(5));
    char byte;
    beast::error_code ec;
    stream_->read_some(net::buffer(&byte, 1), ec);
    return ec && ec != beast::error::timeout;
  }

  beast::error_code handshake_error, read_error;

 private:
  net::io_context io_;
  ssl::context context_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("api-server-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    tls_settings_ = ensure_development_certificate(dir_ / "tls");
    router_.add("GET", "/hello/{name}", [](const HttpRequest& r, Respond respond) {
      respond(HttpResponse::json(200, boost::json::object{{"hello", r.params.at("name")}, {"remote", r.remote_address}}));
    });
    router_.add("POST", "/echo", [](const HttpRequest& r, Respond respond) {
      HttpResponse res;
      res.body = r.body;
      res.set("Content-Type", "text/plain");
      respond(std::move(res));
    });
    router_.add("GET", "/later", [](const HttpRequest&, Respond respond) {
      std::thread([respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        respond(HttpResponse::json(200, boost::json::object{{"late", true}}));
      }).detach();
    });
    router_.add("GET", "/never", [this](const HttpRequest& r, Respond) { never_answered_ = r.answered; });
    router_.add("GET", "/throws", [](const HttpRequest&, Respond) { throw std::runtime_error("secret detail"); });
  }
  void TearDown() override {
    if (server_) server_->shutdown(std::chrono::seconds(2));
    server_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
    fs::remove_all(dir_);
  }

  void start(ServerOptions options = {}, std::string min_version = "1.3") {
    options.port = 0;
    tls_settings_.min_version = std::move(min_version);
    holder_ = std::make_shared<TlsContextHolder>(tls_settings_);
    server_ = std::make_unique<HttpServer>(io_, options, holder_, router_);
    server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  Client client(ClientOptions o = {}) { return Client(server_->port(), tls_settings_.cert_file, o); }

  fs::path dir_;
  TlsSettings tls_settings_;
  Router router_;
  std::shared_ptr<const std::atomic<bool>> never_answered_;  // the /never handler's request's flag
  net::io_context io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{net::make_work_guard(io_)};
  std::vector<std::thread> threads_;
  std::shared_ptr<TlsContextHolder> holder_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, TheDefaultIsTls13OnlyAndTls12ClientsAreRefused) {
  start();
  Client modern = client();
  ASSERT_FALSE(modern.handshake_error) << modern.handshake_error.message();
  EXPECT_EQ(modern.protocol(), "TLSv1.3");
  Client legacy = client({TLS1_2_VERSION});
  EXPECT_TRUE(legacy.handshake_error);
}

TEST_F(HttpServerTest, TheLegacyConfigurationAllowsTls12WithEcdheAeadSuitesOnly) {
  start({}, "1.2");
  Client legacy = client({TLS1_2_VERSION});
  ASSERT_FALSE(legacy.handshake_error) << legacy.handshake_error.message();
  EXPECT_EQ(legacy.protocol(), "TLSv1.2");
  EXPECT_EQ(legacy.cipher().rfind("ECDHE-", 0), 0u) << legacy.cipher();
  EXPECT_NE(legacy.cipher().find("GCM"), std::string::npos) << legacy.cipher();
  // CBC suites, RSA key exchange and SHA-1 MACs are not offered, so such a client gets nothing.
  EXPECT_TRUE(client({TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384"}).handshake_error);
  EXPECT_TRUE(client({TLS1_2_VERSION, "AES128-GCM-SHA256:AES256-GCM-SHA384"}).handshake_error);
  EXPECT_EQ(client().protocol(), "TLSv1.3");
}

TEST_F(HttpServerTest, EveryResponseCarriesTheSecurityHeadersAndARequestId) {
  start();
  Client c = client();
  auto res = c.get("/hello/ada");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"hello":"ada","remote":"127.0.0.1"})");
  EXPECT_EQ(res["Strict-Transport-Security"], "max-age=31536000; includeSubDomains");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res["Content-Security-Policy"], "default-src 'none'; frame-ancestors 'none'");
  EXPECT_EQ(res["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(res["X-Frame-Options"], "DENY");
  EXPECT_EQ(res["Cache-Control"], "no-store");
  EXPECT_EQ(res[http::field::server], "");
  EXPECT_EQ(res[http::field::vary], "Origin");  // even without an Origin: shared caches must key on it
  std::string id = std::string(res["X-Request-Id"]);
  EXPECT_EQ(id.size(), 24u);
  // Keep-alive: the next request goes over the same connection, with its own id.
  auto again = c.get("/hello/bob");
  EXPECT_EQ(again.result_int(), 200);
  EXPECT_NE(std::string(again["X-Request-Id"]), id);
}

TEST_F(HttpServerTest, UnknownPathsAndMethodsAreProblemDetails) {
  start();
  Client c = client();
  auto res = c.get("/nowhere");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(res[http::field::content_type], "application/problem+json");
  EXPECT_EQ(res.body(), R"({"type":"about:blank","title":"Not Found","status":404,"detail":"no such resource"})");
  res = c.request(http::request<http::string_body>(http::verb::delete_, "/echo", 11));
  EXPECT_EQ(res.result_int(), 405);
  EXPECT_EQ(res[http::field::allow], "POST");
  EXPECT_EQ(c.get("/hello/").result_int(), 404);  // a {name} segment is never empty
}

TEST_F(HttpServerTest, OversizedBodiesAndHeadersAreRefusedAndTheConnectionClosed) {
  ServerOptions o;
  o.limits.max_body_bytes = 1024;
  o.limits.max_header_bytes = 2048;
  start(o);
  {
    Client c = client();
    http::request<http::string_body> req(http::verb::post, "/echo", 11);
    req.body() = std::string(1024, 'x');
    EXPECT_EQ(c.request(req).body(), std::string(1024, 'x'));
    req.body() = std::string(1025, 'x');
    auto res = c.request(req);
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_EQ(res[http::field::content_type], "application/problem+json");
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c = client();
    http::request<http::string_body> req(http::verb::get, "/hello/x", 11);
    req.set("X-Padding", std::string(4096, 'p'));
    EXPECT_EQ(c.request(req).result_int(), 431);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c = client();
    c.write_raw("GARBAGE\r\n\r\n");
    EXPECT_EQ(c.read().result_int(), 400);
  }
}

TEST_F(HttpServerTest, SlowRequestsAndSilentHandlersTimeOut) {
  ServerOptions o;
  o.limits.request_timeout = std::chrono::milliseconds(300);
  o.limits.idle_timeout = std::chrono::milliseconds(500);
  start(o);
  {
    Client c = client();
    c.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");  // the rest never comes
    EXPECT_EQ(c.read().result_int(), 408);
  }
  {
    Client c = client();
    auto res = c.get("/never");
    EXPECT_EQ(res.result_int(), 503);
    // The handler's request says it was answered: work that waited (an audit entry) must not start now.
    ASSERT_TRUE(never_answered_);
    EXPECT_TRUE(never_answered_->load());
  }
  {
    Client c = client();
    auto res = c.get("/later");  // answered from another thread, within the time
    EXPECT_EQ(res.body(), R"({"late":true})");
    EXPECT_TRUE(c.closed_by_server());  // then idle past idle_timeout
  }
}

TEST_F(HttpServerTest, AHandlerThatThrowsIsAnswered500WithoutItsMessage) {
  start();
  Client c = client();
  auto res = c.get("/throws");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(res.body().find("secret"), std::string::npos);
}

TEST_F(HttpServerTest, CorsAllowsListedOriginsExactlyAndNeverAWildcard) {
  ServerOptions o;
  o.cors_allowed_origins = {"https://branch.bank.example"};
  start(o);
  Client c = client();
  http::request<http::string_body> req(http::verb::get, "/hello/x", 11);
  req.set(http::field::origin, "https://branch.bank.example");
  auto res = c.request(req);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://branch.bank.example");
  EXPECT_EQ(res[http::field::vary], "Origin");
  EXPECT_EQ(res[http::field::access_control_allow_credentials], "");
  req.set(http::field::origin, "https://branch.bank.example.evil.test");
  res = c.request(req);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "");

  http::request<http::string_body> preflight(http::verb::options, "/echo", 11);
  preflight.set(http::field::origin, "https://branch.bank.example");
  preflight.set(http::field::access_control_request_method, "POST");
  res = c.request(preflight);
  EXPECT_EQ(res.result_int(), 204);
  EXPECT_NE(std::string(res[http::field::access_control_allow_headers]).find("Authorization"), std::string::npos);
  preflight.set(http::field::origin, "null");
  EXPECT_EQ(c.request(preflight).result_int(), 403);
}

TEST_F(HttpServerTest, AClientOverItsRateIsAnswered429WithRetryAfter) {
  ServerOptions o;
  o.per_ip = RateLimit{0.5, 3};
  start(o);
  Client c = client();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get("/hello/x").result_int(), 200) << i;
  auto res = c.get("/hello/x");
  EXPECT_EQ(res.result_int(), 429);
  EXPECT_EQ(res[http::field::content_type], "application/problem+json");
  EXPECT_EQ(res[http::field::retry_after], "2");
  EXPECT_EQ(res["RateLimit-Limit"], "3");
  EXPECT_EQ(res["RateLimit-Remaining"], "0");
  EXPECT_EQ(c.get("/hello/x").result_int(), 429);  // the connection stays usable
}

TEST_F(HttpServerTest, ReloadServesTheNewCertificateToNewConnectionsAndKeepsTheOldOnFailure) {
  start();
  std::string before = client().peer_serial();
  // A renewal: new files at the same paths (here, a new development certificate).
  fs::remove(tls_settings_.cert_file);
  fs::remove(tls_settings_.key_file);
  ensure_development_certificate(dir_ / "tls");
  // Not reloaded yet: the old certificate is served, which a client trusting the new one refuses.
  EXPECT_TRUE(client().handshake_error);
  EXPECT_EQ(holder_->reload(), "");
  Client renewed = client();
  ASSERT_FALSE(renewed.handshake_error);
  std::string after = renewed.peer_serial();
  EXPECT_NE(after, before);

  // A damaged file is refused and the certificate in use stays.
  fs::copy_file(tls_settings_.cert_file, dir_ / "trusted.pem");
  std::ofstream(tls_settings_.cert_file) << "not a certificate";
  EXPECT_NE(holder_->reload().find("cannot use the certificate"), std::string::npos);
  Client still = Client(server_->port(), dir_ / "trusted.pem");
  ASSERT_FALSE(still.handshake_error);
  EXPECT_EQ(still.peer_serial(), after);
}

TEST_F(HttpServerTest, ShutdownLetsRequestsInFlightFinishAndClosesIdleConnections) {
  start();
  Client idle = client();
  EXPECT_EQ(idle.get("/hello/a").result_int(), 200);
  Client busy = client();
  busy.send(http::request<http::string_body>(http::verb::get, "/later", 11));  // answered after 200 ms
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto started = std::chrono::steady_clock::now();
  std::thread stopper([this] { server_->shutdown(std::chrono::seconds(5)); });
  auto res = busy.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::connection], "close");
  EXPECT_TRUE(idle.closed_by_server());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(server_->open_connections(), 0u);
  // No new connections once stopped.
  EXPECT_THROW(client(), boost::system::system_error);
}

TEST_F(HttpServerTest, OneClientCannotTakeEveryConnection) {
  ServerOptions o;
  o.limits.max_connections_per_client = 2;
  start(o);
  Client first = client(), second = client();
  ASSERT_FALSE(first.handshake_error);
  ASSERT_FALSE(second.handshake_error);
  EXPECT_TRUE(client().handshake_error);  // a third from the same address is closed at once
  EXPECT_EQ(first.get("/hello/a").result_int(), 200);
}

TEST_F(HttpServerTest, ShutdownLetsARequestWhoseBodyIsStillArrivingFinish) {
  start();
  Client uploading = client();
  uploading.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::thread stopper([this] { server_->shutdown(std::chrono::seconds(5)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  uploading.write_raw("def");
  auto res = uploading.read();
  stopper.join();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "abcdef");
  EXPECT_EQ(res[http::field::connection], "close");
}

TEST(DevelopmentCertificate, IsMadeOnceWithAPrivateKeyAndCoversLocalhost) {
  fs::path dir = fs::temp_directory_path() / ("dev-cert-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  TlsSettings s = ensure_development_certificate(dir);
  struct stat st {};
  ASSERT_EQ(::stat(s.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(s.cert_file);
  std::string first((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ensure_development_certificate(dir);  // still valid: kept
  std::ifstream again(s.cert_file);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()), first);
  FILE* f = std::fopen(s.cert_file.c_str(), "rb");
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "::1", 0), 1);
  X509_free(cert);
  EXPECT_NO_THROW(make_server_context(s));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace branchline::api
