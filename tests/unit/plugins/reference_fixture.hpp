// reference_fixture: loads a reference plugin from the build's plugin directory through the real
// host (manifest, loader, instance, async calls) and calls its operations.
#pragma once

#include "../host/host_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <mutex>
#include <vector>

namespace branchline::test {

class ReferencePlugin : public HostFixture {
 protected:
  void SetUp() override {
    HostFixture::SetUp();
    env_.on_emit = [this](const std::string&, const std::string& type, const std::string& payload) {
      std::lock_guard lock(events_mutex_);
      events_.emplace_back(type, boost::json::parse(payload));
    };
  }

  std::unique_ptr<host::PluginInstance> start(const std::string& plugin, bl_plugin_kind kind,
                                              const std::string& settings = "{}", const std::string& id = "ref-1") {
    auto library = host::PluginLibrary::load(std::filesystem::path(REFERENCE_PLUGIN_DIR) / (plugin + ".so"), kind);
    host::InstanceConfig config;
    config.id = id;
    config.settings = boost::json::parse(settings);
    return host::PluginInstance::create(library, std::move(config), env_);
  }

  // The context an API request would give: who is acting, in which consultation.
  static constexpr const char* kAdvisorContext =
      R"({"correlation_id":"req-7","consultation_id":"k-55","actor":{"principal":"idp|advisor-1","role":"advisor","ip":"10.0.0.7"}})";

  template <class Table>
  host::CallResult call(host::PluginInstance& instance, void (*Table::*op)(bl_plugin_instance*, const bl_request*),
                        const std::string& body, const std::string& context = "{}") {
    std::promise<host::CallResult> answer;
    instance.call(op, body, context, std::chrono::milliseconds(10000), io_.get_executor(),
                  [&answer](host::CallResult r) { answer.set_value(std::move(r)); });
    auto future = answer.get_future();
    EXPECT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return future.get();
  }

  // The result of a call that must succeed, parsed.
  template <class Table>
  boost::json::value ok(host::PluginInstance& instance, void (*Table::*op)(bl_plugin_instance*, const bl_request*),
                        const std::string& body, const std::string& context = "{}") {
    host::CallResult r = call(instance, op, body, context);
    EXPECT_EQ(r.status, BL_OK) << r.message;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.result, ec);
    return ec ? boost::json::value() : v;
  }

  // The ledger entry the plugin wrote for `action` (waits for the asynchronous append).
  boost::json::object audited(const std::string& action) { return ledger_entry(data_dir_ / "audit.db", action); }

  std::vector<std::pair<std::string, boost::json::value>> events() {
    // Emitted events reach on_emit through the executor: let it run.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(events_mutex_);
    return events_;
  }
  void clear_events() {
    std::lock_guard lock(events_mutex_);
    events_.clear();
  }

  std::mutex events_mutex_;
  std::vector<std::pair<std::string, boost::json::value>> events_;
};

}  // namespace branchline::test
