// host_fixture: a minimal host environment for loader and call tests: an io_context on its own
// thread, the audit ledger and a metrics registry in a fresh temporary data directory.
#pragma once

#include "../../support/ledger_entries.hpp"
#include "audit/ledger.hpp"
#include "host/plugin_instance.hpp"
#include "host/plugin_library.hpp"
#include "telemetry/metrics.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

namespace branchline::test {

inline std::filesystem::path plugin_path(const std::string& id) {
  return std::filesystem::path(TEST_PLUGIN_DIR) / (id + ".so");
}

class HostFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::temp_directory_path() /
                ("branchline-test-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(data_dir_);
    std::filesystem::create_directories(data_dir_);
    env_.executor = io_.get_executor();
    env_.data_dir = data_dir_;
    env_.audit = std::shared_ptr<audit::Ledger>(audit::Ledger::open(data_dir_ / "audit.db"));
    env_.metrics = std::make_shared<telemetry::MetricsRegistry>();
    env_.http = std::make_shared<net::HttpClient>(env_.metrics);
    env_.drain_timeout = std::chrono::milliseconds(2000);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
    std::filesystem::remove_all(data_dir_);
  }

  std::unique_ptr<host::PluginInstance> instantiate(const std::string& id, const std::string& settings = "{}",
                                                    bl_plugin_kind kind = BL_KIND_CRM,
                                                    host::InstanceConfig config = {}) {
    auto library = host::PluginLibrary::load(plugin_path(id), kind);
    config.id = id + "-1";
    config.settings = boost::json::parse(settings);
    return host::PluginInstance::create(library, std::move(config), env_);
  }

  // Runs lookup_customer and waits for the answer.
  host::CallResult lookup(host::PluginInstance& instance, const std::string& customer,
                          std::chrono::milliseconds deadline = std::chrono::milliseconds(2000)) {
    std::promise<host::CallResult> answer;
    instance.call(&bl_crm_api::lookup_customer, R"({"customer_id":")" + customer + R"(","fields":["name"]})",
                  R"({"correlation_id":"t-1"})", deadline, io_.get_executor(),
                  [&answer](host::CallResult r) { answer.set_value(std::move(r)); });
    auto future = answer.get_future();
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }

  // Runs add_note with `body` and waits for the answer.
  host::CallResult add_note(host::PluginInstance& instance, const std::string& body,
                            std::chrono::milliseconds deadline = std::chrono::milliseconds(10000)) {
    std::promise<host::CallResult> answer;
    instance.call(&bl_crm_api::add_note, body, "{}", deadline, io_.get_executor(),
                  [&answer](host::CallResult r) { answer.set_value(std::move(r)); });
    auto future = answer.get_future();
    EXPECT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return future.get();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
  std::filesystem::path data_dir_;
  host::HostEnvironment env_;
};

}  // namespace branchline::test
