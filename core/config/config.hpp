// config: the host's configuration, read from YAML, checked, and with its secrets resolved.
//
// Contract:
//  - load_config_* parses YAML by the core schema (yaml_document), checks the document against
//    config/schema/branchline.schema.json (embedded in the binary) and then the rules a schema
//    cannot say (unique instance ids, where secret references may appear). Every problem found
//    is reported together as a ConfigError, one `file:line:col: message; fix: ...` line each.
//  - Secrets are only taken from references, never literals: `${env:NAME}` (an environment
//    variable) or `${file:PATH}` (a file, at most 64 KiB, one trailing newline dropped), and only
//    under an instance's `secrets:`. Each resolved value is registered with log::add_secret, so
//    it is redacted from every log line and error message from then on; no diagnostic ever
//    contains a resolved value.
//  - Relative paths (data_dir, plugin_dirs, library, ${file:}) are taken relative to the working
//    directory, for the embedded default and a file alike.
//  - Checking plugin settings against each plugin's own schema needs its manifest; that is done
//    by the host (host/plugin_set) with validate_at(), which reports at the settings' positions.
#pragma once

#include "audit/retention.hpp"
#include "config/diagnostic.hpp"
#include "config/yaml_document.hpp"
#include "net/http_client.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace branchline {
class JsonSchema;
}

namespace branchline::config {

struct PluginConfig {
  std::string id;      // the instance id, unique in the file
  std::string plugin;  // the plugin's id (its manifest id); the library is <plugin>.so
  std::string kind;    // identity | crm | core_banking | recording | transcription | queue | event_sink
  std::optional<std::filesystem::path> library;  // an explicit library path, else searched
  bool optional = false;                          // a load failure leaves the host degraded, not stopped
  boost::json::value settings = boost::json::object();
  std::map<std::string, std::string> secrets;  // name -> resolved value
  net::HttpPolicy http;                         // what its outbound HTTP may reach
  std::size_t http_max_in_flight = 64;
  std::uint64_t kv_quota_bytes = 256ull << 20;
  std::string pointer;                          // "/plugins/<n>", for diagnostics
};

// Forwarding to a Splunk HTTP Event Collector (`audit.siem.splunk_hec`).
struct SplunkHecConfig {
  std::string url, index, channel, ca_file;  // channel empty: one is made and kept in the data directory
  bool allow_plain_http = false;             // never in production
  std::size_t batch_max = 200;
  std::chrono::milliseconds ack_timeout{30000};
  std::string token;  // resolved from secrets.token; redacted everywhere
  std::string pointer = "/audit/siem/splunk_hec";
};

// Forwarding as RFC 5424 syslog over mutual TLS (RFC 5425) (`audit.siem.syslog`).
struct SyslogConfig {
  std::string host;
  unsigned short port = 6514;
  std::string ca_file, cert_file, key_file, app_name = "branchline";
  std::size_t batch_max = 200;
};

// The audit ledger's settings (`audit:`); see docs/audit.md. Empty paths take the defaults.
struct AuditConfig {
  std::string origin;                       // default "branchline/<node.id>"
  std::filesystem::path signing_key;        // default <data_dir>/audit-signing.key
  std::uint64_t checkpoint_every = 1000;
  std::chrono::milliseconds checkpoint_interval{1000};
  std::filesystem::path publish_to;         // append-only copy of the checkpoints; empty: none
  audit::RetentionPolicy retention;         // classes, per consultation type, default
  std::chrono::seconds purge_interval{3600};  // 0: no automatic purge
  std::optional<SplunkHecConfig> splunk_hec;
  std::optional<SyslogConfig> syslog;
};

// The HTTPS API (`api:`); see docs/api/README.md. Absent from a file: no API is served.
struct ApiConfig {
  std::string address = "127.0.0.1";
  unsigned short port = 8443;               // 0: any free port (tests)
  std::filesystem::path cert_file, key_file;  // empty: the development certificate (never in production)
  std::string min_tls_version = "1.3";
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_client = 256;  // per IPv4 address or IPv6 /64
  std::chrono::seconds hsts_max_age{31536000};
  std::vector<std::string> cors_allowed_origins;
  std::filesystem::path policy_file;        // empty: the built-in policy (config/policy.yaml)
  double per_ip_per_second = 50, per_ip_burst = 100;  // api.rate_limit.per_ip: a token bucket per client address
  double per_principal_per_second = 20, per_principal_burst = 40;  // api.rate_limit.per_principal
  // api.identity: the identity plugin instance that checks tokens; resolved at load (when absent,
  // the only instance of kind identity). Empty: none configured, protected routes answer 503.
  std::string identity;
  // api.crm and api.core_banking: the instances behind the customer routes, resolved the same way.
  std::string crm;
  std::string core_banking;
  std::chrono::seconds max_token_lifetime{3600};  // api.auth.max_token_lifetime_s
  // The clock skew allowed on a token's times (not configurable), and from it how long a single
  // logout must be remembered: a token is accepted while exp - now <= lifetime + skew, and until
  // exp + skew. The daemon, the logout restore and the retention check all use these two.
  static constexpr std::int64_t token_clock_skew_s = 60;
  std::chrono::seconds logout_memory() const { return max_token_lifetime + 2 * std::chrono::seconds(token_clock_skew_s); }
  std::chrono::seconds token_cache{30};           // api.auth.token_cache_s (0: every token to the plugin)
  std::string public_url;                         // api.auth.public_url: the URL clients call (DPoP htu)
  std::chrono::seconds customer_attribute_cache{30};  // api.customer_attribute_cache_s (0: ask the CRM every time)
};

struct HostConfig {
  std::string file;  // the file name used in diagnostics ("<embedded default>" for the default)
  std::string node_id;
  std::string environment = "development";
  std::string region;
  std::filesystem::path data_dir = "var/branchline";
  std::string log_level = "info";
  std::string log_format = "auto";
  std::vector<std::filesystem::path> plugin_dirs;
  std::chrono::milliseconds drain_timeout{5000};
  bool require_fips = false;  // security.require_fips: refuse to start without OpenSSL's FIPS provider
  AuditConfig audit;
  std::optional<ApiConfig> api;
  std::vector<PluginConfig> plugins;
  YamlDocument document;  // the checked document with positions, for later diagnostics

  // A diagnostic at the node `pointer` (at its key when `at_key` and it has one).
  Diagnostic at(std::string_view pointer, std::string message, std::string fix, bool at_key = false) const;
};

struct LoadOptions {
  // Reads an environment variable; the default is ::getenv. Tests inject their own.
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  // false: check that every secret is a well-formed reference but do not read it (for checking a
  // file on a machine that does not hold the secrets). The resolved values are then empty.
  bool resolve_secrets = true;
};

inline constexpr std::size_t kMaxSecretBytes = 64 * 1024;
inline constexpr const char* kEmbeddedName = "<embedded default>";

// Reads a configuration-like file (the host's, a policy file) for parsing: at most kMaxBytes + 1
// bytes, so that parse_yaml reports an oversized file rather than this reading all of it. Throws
// ConfigError naming the file, with `fix` as the fix, when it cannot be opened.
std::string read_config_file(const std::filesystem::path& file, const std::string& fix);

// Throw ConfigError.
HostConfig load_config_text(std::string_view text, const std::string& file, const LoadOptions& options = {});
HostConfig load_config_file(const std::filesystem::path& file, const LoadOptions& options = {});

// config/branchline.yaml and config/schema/branchline.schema.json, as built into the binary.
std::string_view embedded_default_config();
std::string_view embedded_config_schema();

// Checks `instance` (found at `pointer` in `doc`) against a JSON Schema and returns one
// diagnostic per problem, placed at the offending node and worded for a person (expected type,
// unknown key with a suggestion, missing key, allowed values).
std::vector<Diagnostic> validate_at(const JsonSchema& compiled, const boost::json::value& schema,
                                    const boost::json::value& instance, const YamlDocument& doc,
                                    std::string_view pointer, const std::string& file);

}  // namespace branchline::config
