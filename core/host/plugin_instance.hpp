// plugin_instance: one configured instance of a plugin, and the host services it is lent.
//
// Contract:
//  - create() checks the settings against the plugin's JSON Schema, builds the host services
//    table and the instance's bl_host_ctx, and calls the plugin's create(). A failure is a
//    LoadError (schema-invalid, settings-rejected, init-failed, init-threw); the plugin's destroy
//    is never called for an instance whose create failed, and nothing half-made is kept.
//  - call() runs one asynchronous operation of the kind's table through the instance's CallTable
//    (deadline, cancel, exactly-once answer on the caller's executor).
//  - The destructor drains outstanding calls (bounded by the drain timeout), stops the
//    instance's timers, calls destroy() and then releases its hold on the library.
#pragma once

#include <branchline/branchline.h>

#include "host/call_table.hpp"
#include "host/plugin_library.hpp"
#include "net/http_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace branchline::audit {
class AuditSink;
}
namespace branchline::telemetry {
class MetricsRegistry;
}

namespace branchline::host {

// Where the host services of all instances deliver what plugins hand the host.
struct HostEnvironment {
  boost::asio::any_io_executor executor;   // control plane: timers, deadlines, service callbacks
  std::string environment = "development"; // development | staging | production
  std::string node;                        // node.id and node.region: added to plugins' audit entries
  std::string region;
  std::filesystem::path data_dir;          // each instance gets data_dir/plugins/<instance id>
  // Events a plugin emits (type, JSON payload). May be empty.
  std::function<void(const std::string& instance_id, const std::string& type, const std::string& payload)> on_emit;
  std::shared_ptr<audit::AuditSink> audit;           // required
  std::shared_ptr<telemetry::MetricsRegistry> metrics; // required
  std::shared_ptr<net::HttpClient> http;               // outbound HTTP; null: http_request answers BL_UNAVAILABLE
  std::chrono::milliseconds drain_timeout{5000};
};

struct InstanceConfig {
  std::string id;                              // unique instance id from the config
  boost::json::value settings = boost::json::object();
  std::map<std::string, std::string> secrets;  // resolved secrets this instance may read
  net::HttpPolicy http;                        // what host->http_request may reach
  std::size_t max_http_in_flight = 64;         // more at once are refused with BL_RESOURCE_EXHAUSTED
  std::uint64_t kv_quota_bytes = 256ull << 20; // keys and values of its key-value store together
};

class PluginInstance {
 public:
  // Throws LoadError.
  static std::unique_ptr<PluginInstance> create(std::shared_ptr<const PluginLibrary> library, InstanceConfig config,
                                                const HostEnvironment& env);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const std::string& id() const;
  const PluginLibrary& library() const;

  // Starts an asynchronous operation: `operation` is a member of the kind's table, e.g.
  // &bl_crm_api::lookup_customer. BL_UNIMPLEMENTED is answered when the plugin left it NULL.
  template <class Table>
  bl_call_id call(void (*Table::*operation)(bl_plugin_instance*, const bl_request*), std::string body,
                  std::string context, std::chrono::milliseconds deadline, boost::asio::any_io_executor reply_to,
                  CallHandler handler) {
    auto fn = library().template table<Table>().*operation;
    return start_call(reinterpret_cast<void (*)(bl_plugin_instance*, const bl_request*)>(fn), std::move(body),
                      std::move(context), deadline, std::move(reply_to), std::move(handler));
  }
  // The same for table functions that take more than the request, such as a recording's or a
  // transcription stream's close(instance, handle, request): `invoke` makes the plugin call.
  bl_call_id call_with(std::function<void(bl_plugin_instance*, const bl_request*)> invoke, std::string body,
                       std::chrono::milliseconds deadline, boost::asio::any_io_executor reply_to, CallHandler handler);
  void cancel(bl_call_id id);

  // The plugin's health report ({"status":"ok"} when the plugin has no health function;
  // {"status":"failing","detail":...} when its report is not a JSON object).
  boost::json::object health_report() const;
  std::string health() const;  // the same, as JSON text

  // The plugin's opaque instance handle, for synchronous table calls (media).
  bl_plugin_instance* handle() const;
  // Counters for health and tests.
  std::size_t outstanding_calls() const;
  std::uint64_t stray_completions() const;

  struct State;  // the bl_host_ctx behind the host services

 private:
  explicit PluginInstance(std::unique_ptr<State> state);
  bl_call_id start_call(void (*fn)(bl_plugin_instance*, const bl_request*), std::string body, std::string context,
                        std::chrono::milliseconds deadline, boost::asio::any_io_executor reply_to,
                        CallHandler handler);

  std::unique_ptr<State> state_;
};

}  // namespace branchline::host
