// http_client: policy checks before anything leaves, exactly-once completion, limits, TLS.
#include "net/http_client.hpp"

#include "../../support/test_http_server.hpp"

#include <gtest/gtest.h>

#include <future>
#include <unistd.h>

namespace branchline::net {
namespace {

using test::TestHttpServer;

struct Outcome {
  std::promise<HttpResponse> promise;
  std::atomic<int> calls{0};
  HttpClient::Done done() {
    return [this](HttpResponse r) {
      if (calls++ == 0) promise.set_value(std::move(r));
    };
  }
  HttpResponse get() {
    auto f = promise.get_future();
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "no completion";
      return {};
    }
    return f.get();
  }
};

HttpPolicy plain() {
  HttpPolicy p;
  p.allow_plain_http = true;
  return p;
}

HttpResponse fetch(HttpClient& client, HttpRequest request, const HttpPolicy& policy) {
  Outcome outcome;
  HttpClient::Id id = 0;
  std::string reason;
  EXPECT_EQ(client.start(std::move(request), policy, outcome.done(), &id, &reason), BL_OK) << reason;
  HttpResponse r = outcome.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(outcome.calls.load(), 1);
  return r;
}

bl_status refusal(HttpClient& client, HttpRequest request, const HttpPolicy& policy, std::string* reason) {
  HttpClient::Id id = 0;
  bool called = false;
  bl_status status = client.start(std::move(request), policy, [&](HttpResponse) { called = true; }, &id, reason);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(called) << "a refused request must never complete";
  return status;
}

TEST(HttpClient, GetOverPlainHttpWhenAllowed) {
  TestHttpServer server;
  HttpClient client;
  HttpResponse r = fetch(client, {"GET", server.url("/hello"), {}, "", {}}, plain());
  EXPECT_EQ(r.status, BL_OK);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body, "hello");
  bool found = false;
  for (const auto& [name, value] : r.headers) found |= name == "X-Server" && value == "test";
  EXPECT_TRUE(found);
}

TEST(HttpClient, PostsBodyAndHeaders) {
  TestHttpServer server;
  HttpClient client;
  HttpResponse r = fetch(client, {"POST", server.url("/echo"), {{"Content-Type", "application/json"}}, "{\"a\":1}", {}},
                         plain());
  EXPECT_EQ(r.body, "{\"a\":1}");
  r = fetch(client, {"GET", server.url("/headers"), {{"X-Trace", "abc"}}, "", {}}, plain());
  EXPECT_NE(r.body.find("X-Trace: abc"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("Expect:"), std::string::npos);
}

TEST(HttpClient, ErrorStatusCodesAreResponsesNotFailures) {
  TestHttpServer server;
  HttpClient client;
  HttpResponse r = fetch(client, {"GET", server.url("/status/503"), {}, "", {}}, plain());
  EXPECT_EQ(r.status, BL_OK);
  EXPECT_EQ(r.http_status, 503);
  r = fetch(client, {"GET", server.url("/status/302"), {}, "", {}}, plain());
  EXPECT_EQ(r.http_status, 302);  // redirects are not followed
}

TEST(HttpClient, PlainHttpIsRefusedByDefault) {
  HttpClient client;
  std::string reason;
  EXPECT_EQ(refusal(client, {"GET", "http://127.0.0.1:1/x", {}, "", {}}, HttpPolicy{}, &reason), BL_PERMISSION_DENIED);
  EXPECT_NE(reason.find("use https"), std::string::npos);
  EXPECT_EQ(refusal(client, {"GET", "file:///etc/passwd", {}, "", {}}, HttpPolicy{}, &reason), BL_PERMISSION_DENIED);
  EXPECT_EQ(refusal(client, {"GET", "gopher://x/", {}, "", {}}, HttpPolicy{}, &reason), BL_PERMISSION_DENIED);
}

TEST(HttpClient, HostsOutsideTheAllowListAreRefused) {
  HttpClient client;
  HttpPolicy policy;
  policy.allowed_hosts = {"api.crm.example", "*.core.example"};
  std::string reason;
  EXPECT_EQ(refusal(client, {"GET", "https://evil.example/", {}, "", {}}, policy, &reason), BL_PERMISSION_DENIED);
  EXPECT_NE(reason.find("'evil.example' is not in this plugin's http.allowed_hosts"), std::string::npos);
  EXPECT_EQ(refusal(client, {"GET", "https://core.example/", {}, "", {}}, policy, &reason), BL_PERMISSION_DENIED);
  EXPECT_EQ(refusal(client, {"GET", "https://xcore.example/", {}, "", {}}, policy, &reason), BL_PERMISSION_DENIED);
}

TEST(HttpClient, MalformedRequestsAreRefused) {
  HttpClient client;
  HttpPolicy p = plain();
  std::string reason;
  EXPECT_EQ(refusal(client, {"GET", "https://a.example/", {{"X-A", "1\r\nX-Injected: 2"}}, "", {}}, p, &reason),
            BL_INVALID_ARGUMENT);
  EXPECT_EQ(refusal(client, {"GET", "https://a.example/", {{"Bad Name", "1"}}, "", {}}, p, &reason), BL_INVALID_ARGUMENT);
  EXPECT_EQ(refusal(client, {"G T", "https://a.example/", {}, "", {}}, p, &reason), BL_INVALID_ARGUMENT);
  EXPECT_EQ(refusal(client, {"GET", "not a url", {}, "", {}}, p, &reason), BL_INVALID_ARGUMENT);
  EXPECT_EQ(refusal(client, {"GET", "https://a.example/", {}, "a body", {}}, p, &reason), BL_INVALID_ARGUMENT);
  EXPECT_EQ(refusal(client, {"GET", "https://user:pw@a.example/", {}, "", {}}, p, &reason), BL_INVALID_ARGUMENT);
  EXPECT_NE(reason.find("credentials in the URL"), std::string::npos);
  EXPECT_EQ(refusal(client, {"GET", "https://a.example/" + std::string(9000, 'a'), {}, "", {}}, p, &reason),
            BL_INVALID_ARGUMENT);
}

TEST(HttpClient, OversizeResponseFailsWithoutBufferingIt) {
  TestHttpServer server;
  HttpClient client;
  HttpPolicy p = plain();
  p.max_response_bytes = 1u << 20;
  HttpResponse r = fetch(client, {"GET", server.url("/big"), {}, "", {}}, p);
  EXPECT_EQ(r.status, BL_INTERNAL);
  EXPECT_NE(r.message.find("larger than 1048576"), std::string::npos) << r.message;
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpClient, TimeoutIsDeadlineExceeded) {
  TestHttpServer server;
  HttpClient client;
  HttpResponse r = fetch(client, {"GET", server.url("/slow"), {}, "", std::chrono::milliseconds(300)}, plain());
  EXPECT_EQ(r.status, BL_DEADLINE_EXCEEDED);
}

TEST(HttpClient, ConnectionRefusedIsUnavailable) {
  HttpClient client;
  // A port nothing listens on: bind one, learn its number, close it.
  unsigned short port;
  {
    TestHttpServer gone;
    port = gone.port();
  }
  HttpResponse r = fetch(client, {"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, "", {}}, plain());
  EXPECT_EQ(r.status, BL_UNAVAILABLE);
  EXPECT_FALSE(r.message.empty());
}

TEST(HttpClient, CancelCompletesOnceWithCancelled) {
  TestHttpServer server;
  HttpClient client;
  Outcome outcome;
  HttpClient::Id id = 0;
  ASSERT_EQ(client.start({"GET", server.url("/slow"), {}, "", {}}, plain(), outcome.done(), &id, nullptr), BL_OK);
  client.cancel(id);
  EXPECT_EQ(outcome.get().status, BL_CANCELLED);
  client.cancel(id);  // again: nothing
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(outcome.calls.load(), 1);
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(HttpClient, DestructionCancelsWhatIsInFlight) {
  TestHttpServer server;
  Outcome outcome;
  {
    HttpClient client;
    HttpClient::Id id = 0;
    ASSERT_EQ(client.start({"GET", server.url("/slow"), {}, "", {}}, plain(), outcome.done(), &id, nullptr), BL_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(outcome.get().status, BL_CANCELLED);
  EXPECT_EQ(outcome.calls.load(), 1);
}

class HttpClientTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("bl-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(test::make_test_certificate(dir_)) << "openssl CLI missing (packaging/deps.sh installs it)";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(HttpClientTls, UntrustedCertificateIsRefused) {
  TestHttpServer server(dir_);
  HttpClient client;
  HttpResponse r = fetch(client, {"GET", server.url("/hello"), {}, "", {}}, HttpPolicy{});
  EXPECT_EQ(r.status, BL_UNAVAILABLE);
  EXPECT_NE(r.message.find("certificate"), std::string::npos) << r.message;
}

TEST_F(HttpClientTls, TrustedThroughCaFile) {
  TestHttpServer server(dir_);
  HttpClient client;
  HttpPolicy policy;
  policy.ca_file = (dir_ / "cert.pem").string();
  policy.allowed_hosts = {"127.0.0.1"};
  HttpResponse r = fetch(client, {"GET", server.url("/hello"), {}, "", {}}, policy);
  EXPECT_EQ(r.status, BL_OK) << r.message;
  EXPECT_EQ(r.body, "hello");
}

}  // namespace
}  // namespace branchline::net
