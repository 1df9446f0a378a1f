// The host services a plugin is lent, exercised from a real plugin across the ABI (cpp-crm's
// add_note "op" modes): outbound HTTP and the key-value store.
#include "host_fixture.hpp"

#include "../../support/test_http_server.hpp"

#include <gtest/gtest.h>

namespace branchline::test {
namespace {

using HostServices = HostFixture;

const std::string kNotFound = "{\"status\":" + std::to_string(BL_NOT_FOUND) + "}";

std::string op(const std::string& name, const std::string& rest = "") {
  return R"({"customer_id":"c-1","op":")" + name + "\"" + rest + "}";
}

TEST_F(HostServices, KeyValueStoreRoundTripsAndSurvivesARestart) {
  {
    auto crm = instantiate("cpp-crm");
    EXPECT_EQ(add_note(*crm, op("kv_get", R"(,"key":"cursor")")).result, kNotFound);
    EXPECT_EQ(add_note(*crm, op("kv_put", R"(,"key":"cursor","value":"page-7")")).result, R"({"status":0})");
  }
  auto crm = instantiate("cpp-crm");
  EXPECT_EQ(add_note(*crm, op("kv_get", R"(,"key":"cursor")")).result, R"({"status":0,"value":"page-7"})");
  EXPECT_EQ(add_note(*crm, op("kv_delete", R"(,"key":"cursor")")).result, R"({"status":0})");
  EXPECT_EQ(add_note(*crm, op("kv_get", R"(,"key":"cursor")")).result, kNotFound);
  EXPECT_TRUE(std::filesystem::exists(data_dir_ / "plugins/cpp-crm-1/kv.sqlite"));
}

TEST_F(HostServices, KeyValueQuotaIsEnforced) {
  host::InstanceConfig config;
  config.kv_quota_bytes = 16;
  auto crm = instantiate("cpp-crm", "{}", BL_KIND_CRM, config);
  EXPECT_EQ(add_note(*crm, op("kv_put", R"(,"key":"k","value":"0123456789")")).result, R"({"status":0})");
  EXPECT_EQ(add_note(*crm, op("kv_put", R"(,"key":"j","value":"0123456789")")).result,
            "{\"status\":" + std::to_string(BL_RESOURCE_EXHAUSTED) + "}");
}

TEST_F(HostServices, HttpRequestReachesAnAllowedServer) {
  TestHttpServer server;
  host::InstanceConfig config;
  config.http.allow_plain_http = true;
  config.http.allowed_hosts = {"127.0.0.1"};
  auto crm = instantiate("cpp-crm", "{}", BL_KIND_CRM, config);
  host::CallResult r = add_note(*crm, op("http", R"(,"url":")" + server.url("/headers") + "\""));
  EXPECT_EQ(r.status, BL_OK) << r.message;
  EXPECT_NE(r.result.find(R"("status":0,"http_status":200)"), std::string::npos) << r.result;
  EXPECT_NE(r.result.find("X-Test: cpp-crm"), std::string::npos) << r.result;
}

TEST_F(HostServices, HttpRequestOutsideThePolicyIsRefusedAtOnce) {
  TestHttpServer server;
  auto crm = instantiate("cpp-crm");  // default policy: https only
  host::CallResult r = add_note(*crm, op("http", R"(,"url":")" + server.url("/hello") + "\""));
  EXPECT_EQ(r.result, "{\"status\":" + std::to_string(BL_PERMISSION_DENIED) + "}");
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HostServices, HttpRequestInFlightAtShutdownIsAnsweredCancelledExactlyOnce) {
  TestHttpServer server;
  host::InstanceConfig config;
  config.http.allow_plain_http = true;
  env_.drain_timeout = std::chrono::milliseconds(200);
  auto crm = instantiate("cpp-crm", "{}", BL_KIND_CRM, config);
  std::promise<host::CallResult> answer;
  crm->call(&bl_crm_api::add_note, op("http", R"(,"url":")" + server.url("/slow") + "\""), "{}",
            std::chrono::milliseconds(10000), io_.get_executor(),
            [&answer](host::CallResult r) { answer.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  crm.reset();  // drains (200 ms), then cancels the request: the plugin hears BL_CANCELLED
  auto future = answer.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  host::CallResult r = future.get();
  // The caller was answered once: by the plugin (its HTTP done said cancelled) or by the host's
  // shutdown, never twice (the promise would throw).
  EXPECT_TRUE(r.status == BL_CANCELLED || r.result.find("\"status\":" + std::to_string(BL_CANCELLED)) == 1) << r.result;
}

}  // namespace
}  // namespace branchline::test
