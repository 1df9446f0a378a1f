// plugin_set: see plugin_set.hpp.
#include "host/plugin_set.hpp"

#include "common/json_schema.hpp"
#include "common/log.hpp"
#include "host/plugin_library.hpp"

#include <unistd.h>

#include <algorithm>
#include <system_error>

namespace branchline::host {
namespace {

namespace fs = std::filesystem;

struct Checked {
  PluginStatus status;
  std::vector<config::Diagnostic> problems;
};

fs::path locate(const config::PluginConfig& pc, const config::HostConfig& cfg, const std::vector<fs::path>& builtin,
                std::string& searched) {
  if (pc.library) return *pc.library;
  std::vector<fs::path> dirs = cfg.plugin_dirs;
  dirs.insert(dirs.end(), builtin.begin(), builtin.end());
  for (const fs::path& dir : dirs) {
    fs::path candidate = dir / (pc.plugin + ".so");
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate;
    searched += (searched.empty() ? "" : ", ") + dir.string();
  }
  return {};
}

void fail(Checked& c, const config::HostConfig& cfg, const config::PluginConfig& pc, LoadFailure failure,
          const std::string& message, std::string_view key) {
  c.status.state = PluginStatus::State::Failed;
  c.status.failure = failure;
  config::Diagnostic d = cfg.at(pc.pointer + "/" + std::string(key), message, std::string(suggested_fix(failure)));
  c.status.error = d.to_string();
  c.problems.push_back(std::move(d));
}

// Everything that can be known about one instance without running its code.
Checked check_one(const config::HostConfig& cfg, const config::PluginConfig& pc, const std::vector<fs::path>& builtin) {
  Checked c;
  c.status.id = pc.id;
  c.status.plugin = pc.plugin;
  c.status.kind = pc.kind;
  c.status.optional = pc.optional;
  const char* where_key = pc.library ? "library" : "plugin";

  std::string searched;
  fs::path library = locate(pc, cfg, builtin, searched);
  if (library.empty()) {
    fail(c, cfg, pc, LoadFailure::FileMissing,
         "plugin '" + pc.plugin + "': file-missing: no " + pc.plugin + ".so in " +
             (searched.empty() ? std::string("any plugin directory") : searched),
         where_key);
    return c;
  }
  c.status.library = library;
  try {
    c.status.manifest = PluginLibrary::verify(library, kind_from_name(pc.kind));
  } catch (const LoadError& e) {
    fail(c, cfg, pc, e.failure(), e.what(), e.failure() == LoadFailure::KindMismatch ? "kind" : where_key);
    return c;
  }
  const Manifest& m = *c.status.manifest;
  if (m.id != pc.plugin) {
    fail(c, cfg, pc, LoadFailure::ManifestMismatch,
         LoadError(LoadFailure::ManifestMismatch, m.id, library.string(),
                   "this library is plugin '" + m.id + "', the config asks for '" + pc.plugin + "'")
             .what(),
         where_key);
    return c;
  }
  JsonSchema schema;
  try {
    schema = JsonSchema::compile(m.settings_schema);
  } catch (const std::invalid_argument& e) {
    fail(c, cfg, pc, LoadFailure::SchemaInvalid,
         LoadError(LoadFailure::SchemaInvalid, m.id, library.string(),
                   std::string("the plugin's settings schema is ") + e.what())
             .what(),
         where_key);
    return c;
  }
  std::vector<config::Diagnostic> rejected =
      config::validate_at(schema, m.settings_schema, pc.settings, cfg.document, pc.pointer + "/settings", cfg.file);
  if (!rejected.empty()) {
    c.status.state = PluginStatus::State::Failed;
    c.status.failure = LoadFailure::SettingsRejected;
    for (config::Diagnostic& d : rejected) {
      // Built by appending: GCC 12 at -O3 warns falsely (-Wrestrict, GCC bug 105651) on the
      // equivalent chain of operator+ that ends in the string being assigned.
      std::string message = "plugin '";
      message.append(m.id).append("': settings-rejected: ").append(d.message);
      d.message = std::move(message);
      if (!c.status.error.empty()) c.status.error += '\n';
      c.status.error += d.to_string();
      c.problems.push_back(std::move(d));
    }
  }
  return c;
}

}  // namespace

std::string_view to_string(PluginStatus::State state) {
  switch (state) {
    case PluginStatus::State::Checked: return "checked";
    case PluginStatus::State::Loaded: return "loaded";
    case PluginStatus::State::Failed: return "failed";
    case PluginStatus::State::Stopped: return "stopped";
  }
  return "unknown";
}

boost::json::object to_json(const PluginStatus& s) {
  boost::json::object o{{"id", s.id},           {"plugin", s.plugin},
                        {"kind", s.kind},       {"optional", s.optional},
                        {"state", std::string(to_string(s.state))}, {"library", s.library.string()}};
  if (s.manifest) {
    o["vendor"] = s.manifest->vendor;
    o["version"] = s.manifest->version;
    o["abi"] = std::to_string(s.manifest->abi_major) + "." + std::to_string(s.manifest->abi_minor);
  }
  if (s.failure) {
    o["failure"] = std::string(to_string(*s.failure));
    o["error"] = log::redact(s.error);
  }
  return o;
}

fs::path builtin_plugin_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/lib/branchline/plugins";
  return (exe.parent_path().parent_path() / "lib" / "branchline" / "plugins").lexically_normal();
}

std::vector<PluginStatus> check_plugins(const config::HostConfig& cfg, const std::vector<fs::path>& builtin_dirs) {
  std::vector<PluginStatus> statuses;
  std::vector<config::Diagnostic> problems;
  for (const config::PluginConfig& pc : cfg.plugins) {
    Checked c = check_one(cfg, pc, builtin_dirs);
    problems.insert(problems.end(), c.problems.begin(), c.problems.end());
    statuses.push_back(std::move(c.status));
  }
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return statuses;
}

StartError::StartError(std::vector<PluginStatus> failed)
    : std::runtime_error([&] {
        std::string text;
        for (const PluginStatus& s : failed) text += (text.empty() ? "" : "\n") + s.error;
        return text;
      }()),
      failed_(std::move(failed)) {}

std::unique_ptr<PluginSet> PluginSet::start(const config::HostConfig& cfg, const HostEnvironment& env,
                                            const std::vector<fs::path>& builtin_dirs) {
  std::unique_ptr<PluginSet> set(new PluginSet());
  for (const config::PluginConfig& pc : cfg.plugins) {
    Checked c = check_one(cfg, pc, builtin_dirs);
    std::unique_ptr<PluginInstance> instance;
    if (c.status.state != PluginStatus::State::Failed) {
      try {
        auto library = PluginLibrary::load(c.status.library, kind_from_name(pc.kind));
        InstanceConfig ic;
        ic.id = pc.id;
        ic.settings = pc.settings;
        ic.secrets = pc.secrets;
        ic.http = pc.http;
        ic.max_http_in_flight = pc.http_max_in_flight;
        ic.kv_quota_bytes = pc.kv_quota_bytes;
        instance = PluginInstance::create(std::move(library), std::move(ic), env);
        c.status.state = PluginStatus::State::Loaded;
      } catch (const LoadError& e) {
        fail(c, cfg, pc, e.failure(), e.what(), pc.library ? "library" : "plugin");
      }
    }
    if (c.status.state == PluginStatus::State::Failed) {
      if (!pc.optional) {
        log::error("host", c.status.error);
        std::vector<PluginStatus> failed{c.status};
        set->shutdown();
        throw StartError(std::move(failed));
      }
      log::warn("host", "optional plugin instance '" + pc.id + "' did not start; the host runs degraded: " +
                            c.status.error);
    } else {
      const Manifest& m = *c.status.manifest;
      log::info("host", "plugin instance '" + pc.id + "' loaded: " + m.id + " " + m.version + " by " + m.vendor +
                            " (" + std::string(kind_name(m.kind)) + ", ABI " + std::to_string(m.abi_major) + "." +
                            std::to_string(m.abi_minor) + ") from " + c.status.library.string());
    }
    set->status_.push_back(std::move(c.status));
    set->instances_.push_back(std::move(instance));
  }
  return set;
}

PluginSet::~PluginSet() { shutdown(); }

void PluginSet::shutdown() {
  // Reverse order: an instance may have been given services of the ones created before it.
  for (std::size_t i = instances_.size(); i-- > 0;) {
    if (!instances_[i]) continue;
    std::string id = status_[i].id;
    instances_[i].reset();
    status_[i].state = PluginStatus::State::Stopped;
    log::info("host", "plugin instance '" + id + "' stopped");
  }
}

std::vector<PluginStatus> PluginSet::status() const { return status_; }

boost::json::array PluginSet::report() const {
  namespace json = boost::json;
  json::array out;
  for (std::size_t i = 0; i < status_.size(); ++i) {
    json::object entry = to_json(status_[i]);
    if (const PluginInstance* running = instances_[i].get()) {
      entry["health"] = running->health_report();
      entry["calls_in_flight"] = running->outstanding_calls();
    }
    out.push_back(std::move(entry));
  }
  return out;
}

bool PluginSet::degraded() const {
  return std::any_of(status_.begin(), status_.end(),
                     [](const PluginStatus& s) { return s.state == PluginStatus::State::Failed; });
}

PluginInstance* PluginSet::instance(std::string_view id) const {
  for (std::size_t i = 0; i < status_.size(); ++i)
    if (status_[i].id == id) return instances_[i].get();
  return nullptr;
}

}  // namespace branchline::host
