// branchlined: the Branchline host daemon.
//
//   branchlined [--config FILE]
//
// Reads the configuration (the embedded default, config/branchline.yaml, when no file is given),
// takes the data directory's lock, loads the configured plugin set and runs until SIGTERM or
// SIGINT, then shuts down in order: plugin instances are drained and destroyed in reverse order
// of creation while the executor still runs, then the executor stops.
//
// With an `api:` section it serves the HTTPS API (core/api) from before the plugins start until
// they are drained; SIGHUP reloads the API's certificate and key. Without api.tls, a development
// certificate is made under <data_dir>/tls (refused in production by the configuration check).
//
// Health is written to <data_dir>/run/health.json (atomically replaced) on every change:
// "starting", "ok", "degraded" (an optional plugin failed; the failures are listed), "stopping",
// "stopped". Exit status: 0 after an orderly shutdown, 2 for a configuration error, 3 when a
// required plugin fails to start, 1 for anything else (another daemon holds the data directory).
#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "api/audit_archive.hpp"
#include "api/http_server.hpp"
#include "api/logout_record.hpp"
#include "api/plugin_ports.hpp"
#include "api/session_registry.hpp"
#include "api/tls_context.hpp"
#include "audit/audit_sink.hpp"
#include "audit/ledger.hpp"
#include "audit/siem_forwarder.hpp"
#include "common/log.hpp"
#include "common/random_id.hpp"
#include "config/config.hpp"
#include "host/plugin_set.hpp"
#include "host/status_board.hpp"
#include "policy/current_policies.hpp"
#include "policy/policy_reload.hpp"
#include "policy/policy_set.hpp"
#include "security/crypto_policy.hpp"
#include "telemetry/metrics.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace branchline;

enum Exit { kOk = 0, kFailure = 1, kConfigError = 2, kPluginFailed = 3 };

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class HealthFile {
 public:
  HealthFile(fs::path dir, const config::HostConfig& cfg) : dir_(std::move(dir)) {
    base_ = {{"node", cfg.node_id},
             {"environment", cfg.environment},
             {"region", cfg.region},
             {"pid", static_cast<std::int64_t>(::getpid())},
             {"started_at", now_rfc3339()}};
  }
  void set(const std::string& key, json::value value) { base_[key] = std::move(value); }
  const json::object& base() const { return base_; }
  void write(std::string_view status, const std::vector<host::PluginStatus>& plugins) {
    json::object doc = base_;
    doc["status"] = status;
    doc["updated_at"] = now_rfc3339();
    json::array list;
    for (const auto& p : plugins) list.push_back(host::to_json(p));
    doc["plugins"] = std::move(list);
    fs::path tmp = dir_ / "health.json.tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << json::serialize(doc) << "\n";
    }
    std::error_code ec;
    fs::rename(tmp, dir_ / "health.json", ec);
    if (ec) log::warn("host", "cannot write health file: " + ec.message());
  }

 private:
  fs::path dir_;
  json::object base_;
};

// The data directory belongs to one daemon at a time.
int lock_data_dir(const fs::path& data_dir) {
  fs::path lock = data_dir / "branchlined.lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

// Writes a host entry and waits until it is durable; false (and an error logged) when it could not be.
bool audit(audit::AuditSink& sink, const config::HostConfig& cfg, std::string action, json::object resource,
           std::string outcome, json::object extra = {}) {
  json::object entry{{"time", now_rfc3339()},
                     {"node", cfg.node_id},
                     {"region", cfg.region},
                     {"actor", json::object{{"principal", "branchlined"}, {"role", "system"}}},
                     {"action", std::move(action)},
                     {"resource", std::move(resource)},
                     {"outcome", std::move(outcome)}};
  for (auto& [key, value] : extra) entry[key] = std::move(value);
  std::promise<bl_status> written;
  sink.append(std::move(entry), [&written](bl_status s) { written.set_value(s); });
  if (written.get_future().get() == BL_OK) return true;
  log::error("host", "audit entry could not be written");
  return false;
}


// The sender's channel GUID for HEC indexer acknowledgement: the configured one, else one made on
// first start and kept in the data directory.
std::string hec_channel(const config::SplunkHecConfig& hec, const fs::path& data_dir) {
  if (!hec.channel.empty()) return hec.channel;
  fs::path file = data_dir / "siem-channel";
  std::ifstream in(file);
  std::string channel;
  if (in && std::getline(in, channel) && channel.size() == 36) return channel;
  std::string text = random_uuid();
  std::ofstream(file) << text << "\n";
  return text;
}

audit::HecOptions hec_options(const config::SplunkHecConfig& hec, const config::HostConfig& cfg, const fs::path& data_dir) {
  audit::HecOptions o;
  o.url = hec.url;
  o.token = hec.token;
  o.channel = hec_channel(hec, data_dir);
  o.index = hec.index;
  o.host = cfg.node_id;
  o.origin = cfg.audit.origin;
  o.batch_max = hec.batch_max;
  o.ack_timeout = hec.ack_timeout;
  o.policy.allow_plain_http = hec.allow_plain_http;
  o.policy.ca_file = hec.ca_file;
  return o;
}

audit::SyslogOptions syslog_options(const config::SyslogConfig& y, const config::HostConfig& cfg) {
  audit::SyslogOptions o;
  o.host = y.host;
  o.port = y.port;
  o.ca_file = y.ca_file;
  o.cert_file = y.cert_file;
  o.key_file = y.key_file;
  o.app_name = y.app_name;
  o.batch_max = y.batch_max;
  o.hostname = cfg.node_id;
  o.origin = cfg.audit.origin;
  return o;
}

int run(const std::string& config_file) {
  config::HostConfig cfg;
  try {
    cfg = config_file.empty() ? config::load_config_text(config::embedded_default_config(), config::kEmbeddedName)
                              : config::load_config_file(config_file);
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << log::redact(d.to_string()) << "\n";
    return kConfigError;
  }
  // Before anything fetches an algorithm: every hash, cipher and signature after this comes from
  // the FIPS module, or the host does not start.
  if (cfg.require_fips) {
    if (auto why = security::require_fips_provider()) {
      std::cerr << cfg.at("/security/require_fips", "security.require_fips is set, but " + *why,
                          "install a validated OpenSSL 3 FIPS provider and enable it in openssl.cnf "
                          "(docs/compliance.md), or set require_fips: false")
                       .to_string()
                << "\n";
      return kConfigError;
    }
  }
  // The authorization policy is configuration too: a bad file stops the start here, with its lines.
  // After the FIPS check: loading hashes the policy.
  std::shared_ptr<policy::CurrentPolicies> policies;  // replaced by a reload (SIGHUP)
  if (cfg.api) {
    try {
      policies = std::make_shared<policy::CurrentPolicies>(
          std::make_shared<const policy::PolicySet>(policy::PolicySet::load(cfg.api->policy_file)));
    } catch (const config::ConfigError& e) {
      for (const auto& d : e.diagnostics()) std::cerr << log::redact(d.to_string()) << "\n";
      return kConfigError;
    }
  }
  log::Level level = cfg.log_level == "trace"   ? log::Level::Trace
                     : cfg.log_level == "debug" ? log::Level::Debug
                     : cfg.log_level == "warn"  ? log::Level::Warn
                     : cfg.log_level == "error" ? log::Level::Error
                                                : log::Level::Info;
  log::Format format = cfg.log_format == "json" ? log::Format::Json
                       : cfg.log_format == "human" ? log::Format::Human
                                                   : log::Format::Auto;
  log::configure(format, level);
  // Each API connection is a descriptor: take what the administrator allows (the soft limit is
  // often 1024, far below api.max_connections).
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  std::error_code ec;
  fs::path data_dir = fs::absolute(cfg.data_dir, ec);
  fs::create_directories(data_dir / "run", ec);
  if (ec) {
    log::error("host", "cannot create the data directory " + data_dir.string() + ": " + ec.message());
    return kFailure;
  }
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  int lock_fd = lock_data_dir(data_dir);
  if (lock_fd < 0) {
    log::error("host", "another branchlined is running on " + data_dir.string() +
                           "; stop it or give this one its own node.data_dir");
    return kFailure;
  }

  HealthFile health(data_dir / "run", cfg);
  health.write("starting", {});
  std::shared_ptr<audit::Ledger> ledger;
  std::shared_ptr<audit::AuditSink> audit_sink;  // the ledger, as the plugins and the API write to it
  try {
    audit::LedgerOptions ledger_options;
    ledger_options.origin = cfg.audit.origin;
    ledger_options.signing_key = cfg.audit.signing_key.empty() ? data_dir / "audit-signing.key" : cfg.audit.signing_key;
    ledger_options.checkpoint_every = cfg.audit.checkpoint_every;
    ledger_options.checkpoint_interval = cfg.audit.checkpoint_interval;
    ledger_options.publish_to = cfg.audit.publish_to;
    ledger_options.retention = cfg.audit.retention;
    ledger_options.purge_interval = cfg.audit.purge_interval;
    ledger = audit::Ledger::open(data_dir / "audit.db", ledger_options);
    audit_sink = ledger;
  } catch (const std::exception& e) {
    log::error("host", std::string("cannot open the audit ledger: ") + e.what());
    return kFailure;
  }

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  auto stop_executor = [&] {
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  };

  // Listen for the stop signal before any plugin starts, so that an early SIGTERM is not fatal.
  std::promise<int> stop_signal;
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (!error) stop_signal.set_value(signal);
  });

  // The HTTPS API starts before the plugins, so that a load balancer sees /healthz at once and
  // /readyz turns 200 only when the plugin set is up.
  std::mutex state_mutex;
  std::string state = "starting";
  auto set_state = [&](const std::string& s) {
    std::lock_guard lock(state_mutex);
    state = s;
  };
  auto status_board = std::make_shared<host::StatusBoard>(ledger, [&] {
    std::lock_guard lock(state_mutex);
    return state;
  });
  status_board->facts(health.base());
  std::shared_ptr<api::TlsContextHolder> tls;
  std::unique_ptr<api::HttpServer> server;
  std::shared_ptr<api::PluginIdentity> identity;  // bound to the identity instance once plugins run
  std::shared_ptr<api::PluginCrm> crm;            // and the CRM and core-banking instances, the same
  std::shared_ptr<api::PluginCoreBanking> core_banking;
  std::shared_ptr<api::AuditArchive> archive;  // stopped once the server has drained
  boost::asio::signal_set reload_signal(io, SIGHUP);
  std::function<void()> wait_for_hangup;  // re-arms itself; lives as long as the signal set
  if (cfg.api) {
    const config::ApiConfig& a = *cfg.api;
    try {
      api::TlsSettings settings{a.cert_file, a.key_file, a.min_tls_version};
      if (a.cert_file.empty()) {
        settings = api::ensure_development_certificate(data_dir / "tls");
        log::warn("api", "serving with the development certificate " + settings.cert_file.string() +
                             " (self-signed; set api.tls for anything but a developer's machine)");
      }
      tls = std::make_shared<api::TlsContextHolder>(settings);
      api::ServerOptions options;
      options.address = a.address;
      options.port = a.port;
      options.limits.max_header_bytes = a.max_header_bytes;
      options.limits.max_body_bytes = a.max_body_bytes;
      options.limits.request_timeout = a.request_timeout;
      options.limits.idle_timeout = a.idle_timeout;
      options.limits.max_connections = a.max_connections;
      options.limits.max_connections_per_client = a.max_connections_per_client;
      options.hsts_max_age = a.hsts_max_age;
      options.cors_allowed_origins = a.cors_allowed_origins;
      options.per_ip = api::RateLimit{a.per_ip_per_second, a.per_ip_burst};
      api::ApiContext context;
      context.readiness = [&] {
        std::lock_guard lock(state_mutex);
        return state;
      };
      // Who calls (the identity plugin), whether they may (the policies), and the ledger's entry.
      api::AuthOptions auth;
      auth.max_token_lifetime = a.max_token_lifetime;
      auth.token_cache_ttl = a.token_cache;
      auth.public_url = a.public_url;
      if (!a.identity.empty())
        identity = std::make_shared<api::PluginIdentity>(a.identity, io.get_executor(), std::chrono::milliseconds(10000));
      else
        log::warn("api", "no identity plugin is configured: every route that needs a token answers 503");
      if (!a.crm.empty()) crm = std::make_shared<api::PluginCrm>(a.crm, io.get_executor(), std::chrono::milliseconds(10000));
      if (!a.core_banking.empty())
        core_banking = std::make_shared<api::PluginCoreBanking>(a.core_banking, io.get_executor(), std::chrono::milliseconds(10000));
      context.crm = crm;
      context.core_banking = core_banking;
      context.customer_attribute_cache = a.customer_attribute_cache;
      // Auditors read the ledger through its own reader thread; operators see the status board.
      archive = std::make_shared<api::AuditArchive>(data_dir / "audit.db");
      context.audit_archive = archive;
      context.host_status = [status_board] { return (*status_board)(); };
      auth.clock_skew_s = config::ApiConfig::token_clock_skew_s;
      const auto remember = a.logout_memory();  // how long a single logout is remembered
      auto sessions = std::make_shared<api::SessionRegistry>(remember);
      // Logouts survive a restart: those the ledger holds from the last `remember` apply again.
      {
        auto reader = audit::LedgerReader::open(data_dir / "audit.db");
        std::size_t restored = api::restore_logouts(*sessions, *reader, remember, std::chrono::system_clock::now(),
                                                    auth.clock_skew_s);
        if (restored > 0) log::info("api", std::to_string(restored) + " single logouts restored from the audit ledger");
      }
      api::AccessOptions access;
      access.per_principal = api::RateLimit{a.per_principal_per_second, a.per_principal_burst};
      access.node = cfg.node_id;
      access.region = cfg.region;
      access.post = [&io](std::function<void()> work) { boost::asio::post(io, std::move(work)); };
      context.gate = std::make_shared<api::AccessGate>(std::make_shared<api::Authenticator>(identity, sessions, auth),
                                                       policies, audit_sink, std::move(access));
      server = std::make_unique<api::HttpServer>(io, options, tls, api::make_router(context));
      server->start();
    } catch (const std::exception& e) {
      log::error("api", std::string("cannot start the API: ") + e.what());
      signals.cancel();
      stop_executor();
      return kFailure;
    }
    health.set("api", json::string(server->listening()));
    status_board->facts(health.base());
    log::info("api", "serving https://" + server->listening() + " (TLS " + a.min_tls_version + " and up); policy " +
                         policies->get()->source() + ", hash " + policies->get()->hash());
    // SIGHUP: the certificate and key are read again (after a renewal); new connections use them.
    // Then the policy file: later decisions use the new set (reload_policies).
    wait_for_hangup = [&] {
      reload_signal.async_wait([&](const boost::system::error_code& error, int) {
        if (error) return;
        std::string why = tls->reload();
        if (why.empty()) log::info("api", "TLS certificate reloaded from " + tls->settings().cert_file.string());
        else log::error("api", "TLS certificate not reloaded, the previous one stays: " + why);
        audit(*audit_sink, cfg, "host.tls.reload", json::object{{"type", "certificate"}, {"id", tls->settings().cert_file.string()}},
              why.empty() ? "success" : "failure");
        policy::reload_policies(*policies, cfg.api->policy_file,
                                [&](json::object resource, std::string outcome, json::object fields) {
                                  return audit(*audit_sink, cfg, "host.policy.reload", std::move(resource),
                                               std::move(outcome), std::move(fields));
                                });
        wait_for_hangup();
      });
    };
    wait_for_hangup();
  }

  host::HostEnvironment env;
  env.executor = io.get_executor();
  env.environment = cfg.environment;
  env.node = cfg.node_id;
  env.region = cfg.region;
  env.data_dir = data_dir;
  env.audit = audit_sink;
  env.metrics = std::make_shared<telemetry::MetricsRegistry>();
  env.http = std::make_shared<net::HttpClient>(env.metrics);
  env.drain_timeout = cfg.drain_timeout;
  env.on_emit = [](const std::string& instance, const std::string& type, const std::string&) {
    log::write(log::Level::Debug, "host", "event '" + type + "' from plugin instance '" + instance + "'");
  };

  // The SIEM gets every ledger entry (and checkpoint), from where its acknowledgement left off.
  std::unique_ptr<audit::SiemForwarder> siem, syslog;
  if (cfg.audit.syslog) {
    const config::SyslogConfig& y = *cfg.audit.syslog;
    try {
      syslog = audit::SiemForwarder::start_syslog(data_dir / "audit.db", data_dir / "siem-syslog.position",
                                                  syslog_options(y, cfg));
      log::info("host", "forwarding the audit ledger as syslog over TLS to " + y.host + ":" + std::to_string(y.port));
    } catch (const std::exception& e) {
      log::error("host", std::string("cannot start syslog forwarding: ") + e.what() +
                             "; fix: check audit.siem.syslog's ca_file, cert_file and key_file");
      signals.cancel();
      stop_executor();  // the executor's threads must be joined before they are destroyed
      return kFailure;
    }
  }
  if (cfg.audit.splunk_hec) {
    try {
      siem = audit::SiemForwarder::start(data_dir / "audit.db", data_dir / "siem-splunk-hec.position",
                                         hec_options(*cfg.audit.splunk_hec, cfg, data_dir), env.http);
      log::info("host", "forwarding the audit ledger to " + cfg.audit.splunk_hec->url);
    } catch (const std::exception& e) {
      log::error("host", std::string("cannot start SIEM forwarding: ") + e.what());
      if (syslog) syslog->stop();
      signals.cancel();
      stop_executor();
      return kFailure;
    }
  }

  log::info("host", "branchlined starting: node '" + cfg.node_id + "', environment " + cfg.environment +
                        ", config " + cfg.file + ", data " + data_dir.string());
  std::unique_ptr<host::PluginSet> plugins;
  try {
    plugins = host::PluginSet::start(cfg, env, {host::builtin_plugin_dir()});
  } catch (const host::StartError& e) {
    audit(*audit_sink, cfg, "host.start", json::object{{"type", "host"}, {"id", cfg.node_id}}, "failure");
    health.write("failed", e.failed());
    for (const auto& failed : e.failed()) std::cerr << log::redact(failed.error) << "\n";
    set_state("failed");
    if (server) server->shutdown(cfg.drain_timeout);
    if (archive) archive->stop();
    reload_signal.cancel();
    signals.cancel();
    stop_executor();
    return kPluginFailed;
  }
  for (const auto& s : plugins->status()) {
    audit(*audit_sink, cfg, "plugin.load",
          json::object{{"type", "plugin"}, {"id", s.id}, {"plugin", s.plugin},
                       {"sha256", s.manifest ? s.manifest->sha256 : ""}},
          s.state == host::PluginStatus::State::Loaded ? "success" : "failure");
  }
  // A failed optional instance stays unbound: its routes answer 503.
  if (identity) identity->bind(plugins->instance(cfg.api->identity));
  if (crm) crm->bind(plugins->instance(cfg.api->crm));
  if (core_banking) core_banking->bind(plugins->instance(cfg.api->core_banking));
  status_board->attach(plugins.get());
  std::string running = plugins->degraded() ? "degraded" : "ok";
  health.write(running, plugins->status());
  set_state(running);
  audit(*audit_sink, cfg, "host.start", json::object{{"type", "host"}, {"id", cfg.node_id}}, "success");
  log::info("host", "branchlined running (" + running + ") with " + std::to_string(plugins->status().size()) +
                        " plugin instances; stop with SIGTERM");

  int signal = stop_signal.get_future().get();

  log::info("host", std::string("received ") + ::strsignal(signal) + "; shutting down");
  health.write("stopping", plugins->status());
  set_state("stopping");
  // Requests in flight finish (they may still call plugins) before the plugins are drained.
  if (server) server->shutdown(cfg.drain_timeout);
  if (archive) archive->stop();  // a read still running answers now, while the executor runs
  status_board->attach(nullptr);
  if (identity) identity->unbind();
  if (crm) crm->unbind();
  if (core_banking) core_banking->unbind();
  reload_signal.cancel();
  plugins->shutdown();  // drains calls: needs the executor running
  audit(*audit_sink, cfg, "host.stop", json::object{{"type", "host"}, {"id", cfg.node_id}}, "success");
  health.write("stopped", plugins->status());
  plugins.reset();
  if (siem) siem->stop();  // what it has not delivered yet goes at the next start
  if (syslog) syslog->stop();
  signals.cancel();
  stop_executor();
  log::info("host", "branchlined stopped");
  ::close(lock_fd);
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"branchlined: the Branchline video-banking host"};
  std::string config_file;
  app.add_option("-c,--config", config_file, "configuration file (default: the embedded config/branchline.yaml)");
  app.set_version_flag("--version", "branchlined 0.1.0 (plugin ABI " + std::to_string(BL_ABI_MAJOR) + "." +
                                        std::to_string(BL_ABI_MINOR) + ")");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(config_file);
  } catch (const std::exception& e) {
    log::error("host", std::string("branchlined failed: ") + e.what());
    return kFailure;
  }
}
