// plugin_set: the configured plugin instances of one host: found, checked, loaded, reported,
// and unloaded in order.
//
// Contract:
//  - A library is found from the instance's `library:` when given, else as <plugin>.so in the
//    config's host.plugin_dirs and then the built-in plugin directories, first match wins.
//  - check() runs no plugin code: for each instance it finds the library, reads its manifest,
//    checks ABI version, kind and SHA-256 (PluginLibrary::verify), compiles the manifest's
//    settings schema and checks the settings against it. Each problem becomes a diagnostic at the
//    instance's place in the config file. This is `branchline config check`.
//  - start() does the same and then loads each library and creates each instance, in file order.
//    A required instance that fails stops the start: the instances already created are destroyed
//    in reverse order and a StartError names every failure. An instance marked `optional: true`
//    that fails is kept as Failed and the set reports itself degraded.
//  - shutdown() (and the destructor) destroy instances in reverse order of creation; each one
//    drains its calls first (PluginInstance's contract). Call it while the executor still runs.
#pragma once

#include "config/config.hpp"
#include "host/load_error.hpp"
#include "host/plugin_instance.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace branchline::host {

struct PluginStatus {
  enum class State { Checked, Loaded, Failed, Stopped };
  std::string id;      // instance id
  std::string plugin;  // plugin id the config asked for
  std::string kind;
  bool optional = false;
  std::filesystem::path library;  // where it was found (empty when not found)
  std::optional<Manifest> manifest;
  State state = State::Checked;
  std::optional<LoadFailure> failure;
  std::string error;  // one or more `file:line:col: ...` lines when Failed
};

std::string_view to_string(PluginStatus::State state);

// {"id", "plugin", "kind", "optional", "state", "library", and from the manifest "vendor",
//  "version", "abi"; "failure" and "error" when it failed}: for health and `plugins list`.
boost::json::object to_json(const PluginStatus& status);

// The built-in plugin directory of an executable: <exe dir>/../lib/branchline/plugins.
std::filesystem::path builtin_plugin_dir();

// Checks every instance without running plugin code. Throws config::ConfigError listing every
// problem; returns the statuses (state Checked) otherwise.
std::vector<PluginStatus> check_plugins(const config::HostConfig& cfg,
                                        const std::vector<std::filesystem::path>& builtin_dirs);

class StartError : public std::runtime_error {
 public:
  explicit StartError(std::vector<PluginStatus> failed);
  const std::vector<PluginStatus>& failed() const noexcept { return failed_; }

 private:
  std::vector<PluginStatus> failed_;
};

class PluginSet {
 public:
  // Throws StartError when a required instance fails.
  static std::unique_ptr<PluginSet> start(const config::HostConfig& cfg, const HostEnvironment& env,
                                          const std::vector<std::filesystem::path>& builtin_dirs);
  ~PluginSet();
  PluginSet(const PluginSet&) = delete;
  PluginSet& operator=(const PluginSet&) = delete;

  void shutdown();
  std::vector<PluginStatus> status() const;
  // The statuses as to_json() gives them, with each running instance's own health report
  // ("health", from its health function, which must not block) and its calls in flight: for the
  // operators' status route. Not while shutdown() runs.
  boost::json::array report() const;
  bool degraded() const;
  PluginInstance* instance(std::string_view id) const;

 private:
  PluginSet() = default;
  std::vector<PluginStatus> status_;
  std::vector<std::unique_ptr<PluginInstance>> instances_;  // creation order; null for Failed
};

}  // namespace branchline::host
