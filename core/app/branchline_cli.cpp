// branchline: the operator's command line.
//   branchline config check [FILE]             check a configuration without running plugin code
//   branchline plugins list --config FILE      load every configured plugin and report its status
//   branchline plugins inspect LIB             the manifest and descriptor of one plugin binary
//   branchline audit append --db PATH          append JSON lines from standard input to a ledger
//   branchline audit verify --db PATH [--key K] [--published FILE]
//                                               check a ledger (and a published copy of its
//                                               checkpoints); names the first bad sequence number
//   branchline audit checkpoint --db PATH      the latest signed checkpoint
//   branchline audit key --db PATH             the verifier key the ledger was created with
//   branchline audit prove --db PATH --seq N [--tree-size M]
//                                               inclusion proof of entry N, as JSON
//   branchline audit export --db PATH [--from T] [--to T]
//                                               entries with their inclusion proofs, JSON lines
//   branchline audit query --db PATH [--customer C] [--consultation K] [--advisor P] [--action A]
//                          [--from T] [--to T] [--limit N] [--personal]   entries, JSON lines
//   branchline audit hold --db PATH (--customer C | --consultation K | --from T --to T) --reason R
//   branchline audit release --db PATH --hold N --reason R
//   branchline audit erase --db PATH --customer C --reason R   crypto-shred a customer's personal data
//   branchline audit purge --db PATH --config FILE   purge expired payloads now, by that file's retention
//   (these four write: run them with branchlined stopped; --by names who, default the local user)
//   branchline audit consistency --db PATH --from-size A [--to-size B]
//                                               consistency proof between two checkpoints, as JSON
//   branchline policy check [FILE]             check a policy file (default: the built-in policy)
//   branchline policy cedar [FILE]             the same policies in Cedar's syntax
//   branchline policy decide [FILE] --request R.json [--entities E.json]
//                                               one decision, as JSON (Cedar's JSON formats)
// Exit status 0 on success; 1 when something is wrong (each problem on its own line on stderr).
#include "audit/audit_sink.hpp"
#include "audit/ledger.hpp"
#include "common/log.hpp"
#include "config/config.hpp"
#include "host/load_error.hpp"
#include "host/plugin_library.hpp"
#include "host/plugin_set.hpp"
#include "policy/policy_set.hpp"
#include "telemetry/metrics.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <fstream>
#include <iostream>
#include <thread>

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace branchline;

void print_problems(const config::ConfigError& e) {
  for (const auto& d : e.diagnostics()) std::cerr << log::redact(d.to_string()) << "\n";
}

config::HostConfig load(const std::string& file, const config::LoadOptions& options = {}) {
  return file.empty() ? config::load_config_text(config::embedded_default_config(), config::kEmbeddedName, options)
                      : config::load_config_file(file, options);
}

int config_check(const std::string& file, bool skip_secrets) {
  try {
    config::LoadOptions options;
    options.resolve_secrets = !skip_secrets;
    config::HostConfig cfg = load(file, options);
    auto statuses = host::check_plugins(cfg, {host::builtin_plugin_dir()});
    std::string policy;
    if (cfg.api) {
      policy = ", policy " + policy::PolicySet::load(cfg.api->policy_file).hash().substr(0, 12);
    }
    std::cout << cfg.file << ": ok (" << statuses.size() << " plugin instances checked, no plugin code run" << policy
              << ")\n";
    return 0;
  } catch (const config::ConfigError& e) {
    print_problems(e);
    return 1;
  }
}

// Loads every configured plugin in a scratch data directory (so that a running daemon's data is
// never touched), reports, and unloads them in order.
int plugins_list(const std::string& file, bool as_json, std::string data_dir) {
  config::HostConfig cfg;
  try {
    cfg = load(file);
  } catch (const config::ConfigError& e) {
    print_problems(e);
    return 1;
  }
  bool scratch = data_dir.empty();
  if (scratch) {
    std::string tmpl = (fs::temp_directory_path() / "branchline-list-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::cerr << "cannot create a scratch directory: " << std::strerror(errno) << "\n";
      return 1;
    }
    data_dir = tmpl;
  }

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread thread([&io] { io.run(); });
  host::HostEnvironment env;
  env.executor = io.get_executor();
  env.environment = cfg.environment;
  env.node = cfg.node_id;
  env.region = cfg.region;
  env.data_dir = data_dir;
  env.audit = audit::Ledger::open(fs::path(data_dir) / "audit.db");
  env.metrics = std::make_shared<telemetry::MetricsRegistry>();
  env.http = std::make_shared<net::HttpClient>(env.metrics);
  env.drain_timeout = cfg.drain_timeout;

  std::vector<host::PluginStatus> statuses;
  int rc = 0;
  try {
    auto set = host::PluginSet::start(cfg, env, {host::builtin_plugin_dir()});
    statuses = set->status();
    rc = set->degraded() ? 1 : 0;
    set->shutdown();
  } catch (const host::StartError& e) {
    // Report the failure and what would have come after it as not started.
    statuses = e.failed();
    rc = 1;
  }
  work.reset();
  io.stop();
  thread.join();
  if (scratch) {
    std::error_code ec;
    fs::remove_all(data_dir, ec);
  }

  if (as_json) {
    json::array list;
    for (const auto& s : statuses) {
      json::object o = host::to_json(s);
      // Instances are unloaded after listing; what matters is that they loaded.
      if (s.state == host::PluginStatus::State::Stopped) o["state"] = "loaded";
      list.push_back(std::move(o));
    }
    std::cout << json::serialize(list) << "\n";
  } else {
    std::cout << std::left << std::setw(16) << "ID" << std::setw(14) << "KIND" << std::setw(22) << "PLUGIN"
              << std::setw(18) << "VENDOR" << std::setw(10) << "VERSION" << std::setw(6) << "ABI" << std::setw(8)
              << "STATUS" << "LIBRARY\n";
    for (const auto& s : statuses) {
      bool ok = s.state != host::PluginStatus::State::Failed;
      std::cout << std::left << std::setw(16) << s.id << std::setw(14) << s.kind << std::setw(22) << s.plugin
                << std::setw(18) << (s.manifest ? s.manifest->vendor : "-") << std::setw(10)
                << (s.manifest ? s.manifest->version : "-") << std::setw(6)
                << (s.manifest ? std::to_string(s.manifest->abi_major) + "." + std::to_string(s.manifest->abi_minor)
                               : "-")
                << std::setw(8) << (ok ? "loaded" : "failed") << s.library.string() << "\n";
    }
  }
  for (const auto& s : statuses)
    if (s.failure) std::cerr << log::redact(s.error) << "\n";
  return rc;
}

int inspect(const std::string& library_path) {
  try {
    auto library = host::PluginLibrary::load(library_path, 0);
    const auto& m = library->manifest();
    const auto& d = library->descriptor();
    json::object out{
        {"id", m.id},
        {"kind", std::string(host::kind_name(d.kind))},
        {"vendor", m.vendor},
        {"version", m.version},
        {"abi", json::object{{"major", d.abi_major}, {"minor", d.abi_minor}}},
        {"host_abi", json::object{{"major", host::kHostAbiMajor}, {"minor", host::kHostAbiMinor}}},
        {"library", library->path().string()},
        {"sha256", m.sha256},
        {"optional_functions", json::object{{"cancel_call", d.cancel_call != nullptr}, {"health", d.health != nullptr}}},
        {"settings_schema", m.settings_schema},
        {"status", "loadable"},
    };
    std::cout << json::serialize(out) << "\n";
    return 0;
  } catch (const host::LoadError& e) {
    std::cerr << e.what() << "; fix: " << host::suggested_fix(e.failure()) << "\n";
    return 1;
  }
}

std::string local_operator() {
  const char* user = std::getenv("USER");
  return "local-operator:" + (user ? std::string(user) : "uid-" + std::to_string(::getuid()));
}

// Runs one command; an error becomes one line on standard error (exit 2: a bad request, 1: a failure).
template <class Body>
int reporting(Body body) {
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

// The writing commands (holds, erasure, purge): open the ledger as its only writer, do one thing.
template <class Body>
int with_ledger(const std::string& db, Body body, audit::LedgerOptions options = {}) {
  return reporting([&] {
    auto ledger = audit::Ledger::open(db, options);
    return body(*ledger);
  });
}

// JSON lines from standard input, each an object, appended in order; then one entry that records
// the import itself, as the local operator did it.
int audit_append(const std::string& db) {
  std::unique_ptr<audit::Ledger> ledger;
  try {
    ledger = audit::Ledger::open(db);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::uint64_t first = 0, last = 0, count = 0, line_number = 0;
  int rc = 0;
  for (std::string line; std::getline(std::cin, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      std::cerr << "stdin:" << line_number << ": not a JSON object; nothing after it was appended\n";
      rc = 1;
      break;
    }
    try {
      last = ledger->append_and_wait(std::move(v.as_object()));
    } catch (const std::exception& e) {
      std::cerr << "stdin:" << line_number << ": " << e.what() << "; nothing after it was appended\n";
      rc = 1;
      break;
    }
    if (first == 0) first = last;
    ++count;
  }
  ledger->append_and_wait(json::object{
      {"action", "audit.import"},
      {"actor", json::object{{"principal", local_operator()}, {"role", "operator"}}},
      {"resource", json::object{{"type", "ledger"}, {"id", db}}},
      {"outcome", rc == 0 ? "success" : "partial"},
      {"count", count}});
  std::cout << "appended " << count << " entries";
  if (count > 0) std::cout << " (sequence " << first << " to " << last << ")";
  std::cout << "; ledger size " << ledger->size() << ", root " << audit::to_base64(ledger->root()) << "\n";
  return rc;
}

// A verifier key given on the command line: the key text itself, or a file holding it.
std::optional<audit::NoteVerifier> read_key(const std::string& given, std::string& why) {
  std::string text = given;
  std::error_code ec;
  if (given.find('+') == std::string::npos && fs::is_regular_file(given, ec)) {
    std::ifstream in(given);
    std::getline(in, text);
  }
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return audit::NoteVerifier::parse(text, &why);
}

int audit_verify(const std::string& db, const std::string& key_text, const std::string& published) {
  audit::VerifyOptions options;
  if (!key_text.empty()) {
    std::string why;
    options.key = read_key(key_text, why);
    if (!options.key) {
      std::cerr << "--key: not a verifier key (" << why << ")\n";
      return 2;
    }
  }
  if (!published.empty()) options.published = published;
  audit::VerifyReport r = audit::verify_ledger(db, options);
  for (const auto& w : r.warnings) std::cerr << db << ": warning: " << w << "\n";
  if (r.intact) {
    std::cout << db << ": intact: " << r.entries << " entries, " << r.heads_checked << " tree heads and "
              << r.checkpoints_checked << " signed checkpoints checked, root " << audit::to_base64(r.root);
    if (r.purged) std::cout << " (" << r.purged << " payloads purged by retention; their leaves still verify)";
    std::cout << "\n";
    return 0;
  }
  if (r.first_bad) std::cout << db << ": first bad sequence number " << *r.first_bad << ": " << r.problem << "\n";
  else std::cout << db << ": " << r.problem << "\n";
  return 1;
}

json::array hashes(const std::vector<audit::Hash>& proof) {
  json::array out;
  for (const auto& h : proof) out.emplace_back(audit::to_base64(h));
  return out;
}

// The read-only commands: a reader, one operation.
template <class Body>
int with_reader(const std::string& db, Body body) {
  return reporting([&] {
    auto reader = audit::LedgerReader::open(db);
    return body(*reader);
  });
}

int audit_checkpoint(const std::string& db) {
  return with_reader(db, [](audit::LedgerReader& r) {
    auto note = r.latest_checkpoint();
    if (!note) {
      std::cerr << "the ledger has no checkpoint yet\n";
      return 1;
    }
    std::cout << *note;
    return 0;
  });
}

int audit_key(const std::string& db) {
  return with_reader(db, [](audit::LedgerReader& r) {
    std::cout << r.verifier_key() << "\n";
    return 0;
  });
}

int audit_prove(const std::string& db, std::uint64_t seq, std::optional<std::uint64_t> tree_size) {
  return with_reader(db, [&](audit::LedgerReader& r) {
    audit::InclusionProof p = r.prove_inclusion(seq, tree_size);
    json::object out{{"seq", p.seq},          {"leaf_index", p.seq - 1},
                     {"tree_size", p.tree.size}, {"entry", p.entry},
                     {"leaf_hash", audit::to_base64(p.leaf)}, {"proof", hashes(p.proof)},
                     {"checkpoint", p.checkpoint}};
    std::cout << json::serialize(out) << "\n";
    return 0;
  });
}

int audit_export(const std::string& db, const std::string& from_text, const std::string& to_text) {
  auto from = audit::normalize_query_time(from_text), to = audit::normalize_query_time(to_text);
  if (!from || !to) {
    std::cerr << "--from/--to: give a UTC time as 2026-11-01 or 2026-11-01T10:00:00Z\n";
    return 2;
  }
  return with_reader(db, [&](audit::LedgerReader& r) {
    audit::LedgerReader::ExportRange range{*from, *to};
    std::uint64_t count = r.export_entries(
        range, [&](const std::string& note) { std::cout << json::serialize(audit::export_head(note, range)) << "\n"; },
        [](const audit::LedgerReader::ExportedEntry& e) { std::cout << json::serialize(audit::export_line(e)) << "\n"; }).count;
    std::cout.flush();
    std::cerr << "exported " << count << " entries\n";
    return std::cout ? 0 : 1;
  });
}

int audit_query(const std::string& db, audit::LedgerReader::Query q, const std::string& from, const std::string& to,
                bool personal) {
  auto f = audit::normalize_query_time(from), t = audit::normalize_query_time(to);
  if (!f || !t) {
    std::cerr << "--from/--to: give a UTC time as 2026-11-01 or 2026-11-01T10:00:00Z\n";
    return 2;
  }
  if (!f->empty()) q.from = *f;
  if (!t->empty()) q.to = *t;
  return with_reader(db, [&](audit::LedgerReader& r) {
    std::uint64_t count = r.query(q, [&](std::uint64_t seq, std::string_view canonical) {
      if (!personal) {
        std::cout << canonical << "\n";
        return;
      }
      // With the personal data opened beside the sealed entry (which is what was hashed).
      json::object line{{"entry", json::parse(canonical)}};
      auto clear = r.personal(seq);
      if (clear) line["personal"] = json::parse(*clear);
      else if (canonical.find("\"personal\":") != std::string_view::npos) line["personal"] = "erased";
      std::cout << json::serialize(line) << "\n";
    }).count;
    std::cout.flush();
    std::cerr << count << " entries" << (count == q.limit ? " (the limit: narrow the query or raise --limit)" : "") << "\n";
    return std::cout ? 0 : 1;
  });
}

int audit_consistency(const std::string& db, std::uint64_t from, std::optional<std::uint64_t> to) {
  return with_reader(db, [&](audit::LedgerReader& r) {
    audit::ConsistencyProof p = r.prove_consistency(from, to);
    json::object out{{"old_size", p.old_tree.size}, {"new_size", p.new_tree.size},
                     {"proof", hashes(p.proof)},    {"old_checkpoint", p.old_checkpoint},
                     {"new_checkpoint", p.new_checkpoint}};
    std::cout << json::serialize(out) << "\n";
    return 0;
  });
}

std::optional<policy::PolicySet> load_policy(const std::string& file) {
  try {
    return policy::PolicySet::load(file);
  } catch (const config::ConfigError& e) {
    print_problems(e);
    return std::nullopt;
  }
}

std::optional<json::value> read_json_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (!in.good() && !in.eof()) ec = make_error_code(std::errc::io_error);
  if (ec) {
    std::cerr << file << ": " << ec.message() << "\n";
    return std::nullopt;
  }
  return v;
}

// One decision, for trying a policy change or reproducing a decision from the ledger. The request
// is {"principal", "action", "resource", "context"} and the entities a list, in Cedar's JSON forms.
int policy_decide(const std::string& file, const std::string& request_file, const std::string& entities_file) {
  std::optional<policy::PolicySet> set = load_policy(file);
  if (!set) return 2;
  std::optional<json::value> request_json = read_json_file(request_file);
  std::optional<json::value> entities_json = entities_file.empty() ? json::value(json::array()) : read_json_file(entities_file);
  if (!request_json || !entities_json) return 2;
  try {
    if (!request_json->is_object()) throw std::invalid_argument("the request is a JSON object");
    const json::object& r = request_json->as_object();
    policy::Request request;
    request.principal = policy::entity_uid_from_json(r.at("principal"));
    request.action = policy::entity_uid_from_json(r.at("action"));
    request.resource = policy::entity_uid_from_json(r.at("resource"));
    if (const json::value* context = r.if_contains("context")) {
      policy::Value v = policy::value_from_json(*context);
      if (!v.is_record()) throw std::invalid_argument("the context is a JSON object");
      request.context = v.as_record();
    }
    policy::Decision d = set->decide(request, policy::Entities::from_json(*entities_json));
    json::array errors;
    for (const policy::PolicyError& e : d.errors) errors.push_back(json::object{{"policy", e.policy_id}, {"error", e.message}});
    std::cout << json::serialize(json::object{{"decision", d.allow ? "allow" : "deny"},
                                              {"reasons", json::value_from(d.reasons)},
                                              {"errors", errors},
                                              {"policy_hash", set->hash()}})
              << "\n";
    return d.allow ? 0 : 3;
  } catch (const std::exception& e) {
    std::cerr << request_file << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"branchline: operate a Branchline video-banking host"};
  app.require_subcommand(1);

  auto* config_cmd = app.add_subcommand("config", "Work with configuration files");
  config_cmd->require_subcommand(1);
  std::string check_file;
  auto* check_cmd = config_cmd->add_subcommand("check", "Check a configuration and its plugins (runs no plugin code)");
  check_cmd->add_option("FILE", check_file, "configuration file (default: the embedded default)");
  bool skip_secrets = false;
  check_cmd->add_flag("--skip-secrets", skip_secrets,
                      "check that secrets are references, without reading them (for a machine without them)");

  auto* plugins = app.add_subcommand("plugins", "Plugins: list the configured set, inspect a binary");
  plugins->require_subcommand(1);
  std::string list_config, list_data_dir;
  bool list_json = false;
  auto* list_cmd = plugins->add_subcommand("list", "Load every configured plugin and show its status");
  list_cmd->add_option("-c,--config", list_config, "configuration file (default: the embedded default)");
  list_cmd->add_option("--data-dir", list_data_dir, "data directory for the instances (default: a scratch one)");
  list_cmd->add_flag("--json", list_json, "print JSON instead of a table");
  std::string library;
  auto* inspect_cmd = plugins->add_subcommand("inspect", "Show the manifest and descriptor of one plugin binary");
  inspect_cmd->add_option("LIB", library, "path to the plugin's .so")->required();

  auto* audit_cmd = app.add_subcommand("audit", "The audit ledger");
  audit_cmd->require_subcommand(1);
  std::string audit_db;
  auto* append_cmd = audit_cmd->add_subcommand("append", "Append JSON lines from standard input (imports, tests)");
  append_cmd->add_option("--db", audit_db, "ledger file")->required();
  auto* verify_cmd = audit_cmd->add_subcommand("verify", "Check a ledger: exit 0 when intact, else name the first bad entry");
  verify_cmd->add_option("--db", audit_db, "ledger file")->required();
  std::string verify_key, verify_published;
  verify_cmd->add_option("--key", verify_key,
                         "trusted verifier key (the text, or a file holding it); default: the one the ledger recorded");
  verify_cmd->add_option("--published", verify_published, "a published copy of the checkpoints to check the ledger against");
  auto* checkpoint_cmd = audit_cmd->add_subcommand("checkpoint", "Print the latest signed checkpoint");
  checkpoint_cmd->add_option("--db", audit_db, "ledger file")->required();
  auto* key_cmd = audit_cmd->add_subcommand("key", "Print the verifier key the ledger was created with");
  key_cmd->add_option("--db", audit_db, "ledger file")->required();
  std::uint64_t prove_seq = 0, tree_size = 0, from_size = 0, to_size = 0;
  auto* prove_cmd = audit_cmd->add_subcommand("prove", "Inclusion proof of one entry in a signed checkpoint (JSON)");
  prove_cmd->add_option("--db", audit_db, "ledger file")->required();
  prove_cmd->add_option("--seq", prove_seq, "the entry's sequence number")->required();
  auto* tree_size_opt = prove_cmd->add_option("--tree-size", tree_size, "the checkpoint's tree size (default: the latest)");
  audit::LedgerReader::Query query;
  std::string query_from, query_to;
  bool query_personal = false;
  auto* query_cmd = audit_cmd->add_subcommand("query", "Entries by customer, consultation, advisor, action and time (JSON lines)");
  query_cmd->add_option("--db", audit_db, "ledger file")->required();
  query_cmd->add_option("--customer", query.customer, "a customer id");
  query_cmd->add_option("--consultation", query.consultation, "a consultation id");
  query_cmd->add_option("--advisor", query.advisor, "an actor principal");
  query_cmd->add_option("--action", query.action, "an action, e.g. crm.customer.read");
  query_cmd->add_option("--from", query_from, "first time included (UTC)");
  query_cmd->add_option("--to", query_to, "first time excluded (UTC)");
  query_cmd->add_option("--limit", query.limit, "at most this many entries (default 1000)");
  query_cmd->add_flag("--personal", query_personal, "open the personal data too (needs the ledger's key files)");
  audit::LegalHold hold;
  std::string hold_from, hold_to, why, by = local_operator(), erase_customer;
  std::uint64_t hold_id = 0;
  auto* hold_cmd = audit_cmd->add_subcommand("hold", "Place a legal hold: no purging or erasure of what it covers");
  hold_cmd->add_option("--db", audit_db, "ledger file")->required();
  hold_cmd->add_option("--customer", hold.customer, "hold a customer's entries");
  hold_cmd->add_option("--consultation", hold.consultation, "hold a consultation's entries");
  hold_cmd->add_option("--from", hold_from, "hold entries from this time (UTC) ...");
  hold_cmd->add_option("--to", hold_to, "... to this time (excluded)");
  hold_cmd->add_option("--reason", hold.reason, "the matter, e.g. a case number")->required();
  hold_cmd->add_option("--by", hold.by, "who places it (default: the local user)");
  auto* release_cmd = audit_cmd->add_subcommand("release", "Release a legal hold");
  release_cmd->add_option("--db", audit_db, "ledger file")->required();
  release_cmd->add_option("--hold", hold_id, "the hold's id")->required();
  release_cmd->add_option("--reason", why, "why it ends")->required();
  release_cmd->add_option("--by", by, "who releases it (default: the local user)");
  auto* erase_cmd = audit_cmd->add_subcommand("erase", "Erase a customer's personal data (destroys their keys)");
  erase_cmd->add_option("--db", audit_db, "ledger file")->required();
  erase_cmd->add_option("--customer", erase_customer, "the customer id")->required();
  erase_cmd->add_option("--reason", why, "the request, e.g. its reference")->required();
  erase_cmd->add_option("--by", by, "who asks (default: the local user)");
  auto* purge_cmd = audit_cmd->add_subcommand("purge", "Purge the payload of expired entries now");
  purge_cmd->add_option("--db", audit_db, "ledger file")->required();
  std::string purge_config;
  // Required: the defaults are not the bank's periods, and purging is not undone.
  purge_cmd->add_option("-c,--config", purge_config, "the daemon's configuration: its retention classes")->required();

  std::string export_from, export_to;
  auto* export_cmd = audit_cmd->add_subcommand(
      "export", "Entries with their inclusion proofs in the latest checkpoint, as JSON lines (for an examiner)");
  export_cmd->add_option("--db", audit_db, "ledger file")->required();
  export_cmd->add_option("--from", export_from, "first time included (UTC: 2026-11-01 or 2026-11-01T10:00:00Z)");
  export_cmd->add_option("--to", export_to, "first time excluded");
  auto* consistency_cmd =
      audit_cmd->add_subcommand("consistency", "Consistency proof between two signed checkpoints (JSON)");
  consistency_cmd->add_option("--db", audit_db, "ledger file")->required();
  consistency_cmd->add_option("--from-size", from_size, "the older checkpoint's tree size")->required();
  auto* to_size_opt = consistency_cmd->add_option("--to-size", to_size, "the newer checkpoint's tree size (default: the latest)");

  auto* policy_cmd = app.add_subcommand("policy", "Authorization policies (docs/policy.md)");
  policy_cmd->require_subcommand(1);
  std::string policy_file, request_file, entities_file;
  auto* policy_check_cmd = policy_cmd->add_subcommand("check", "Check a policy file; print its hash");
  policy_check_cmd->add_option("FILE", policy_file, "policy file (default: the built-in policy)");
  auto* policy_cedar_cmd = policy_cmd->add_subcommand("cedar", "Print the policies in Cedar's syntax");
  policy_cedar_cmd->add_option("FILE", policy_file, "policy file (default: the built-in policy)");
  auto* policy_decide_cmd = policy_cmd->add_subcommand(
      "decide", "Decide one request (exit 0 allow, 3 deny) and print the decision as JSON");
  policy_decide_cmd->add_option("FILE", policy_file, "policy file (default: the built-in policy)");
  policy_decide_cmd->add_option("--request", request_file, "{principal, action, resource, context} as Cedar JSON")->required();
  policy_decide_cmd->add_option("--entities", entities_file, "the entities, as Cedar's entities JSON");

  CLI11_PARSE(app, argc, argv);
  log::configure(log::Format::Auto, log::Level::Warn);
  if (policy_check_cmd->parsed() || policy_cedar_cmd->parsed()) {
    std::optional<policy::PolicySet> set = load_policy(policy_file);
    if (!set) return 1;
    if (policy_cedar_cmd->parsed()) std::cout << set->cedar_text();
    else std::cout << set->policies().size() << " policies, " << set->field_groups().size() << " field groups, "
                   << set->step_up_rules().size() << " step-up rules; policy hash " << set->hash() << "\n";
    return 0;
  }
  if (policy_decide_cmd->parsed()) return policy_decide(policy_file, request_file, entities_file);
  if (check_cmd->parsed()) return config_check(check_file, skip_secrets);
  if (list_cmd->parsed()) return plugins_list(list_config, list_json, list_data_dir);
  if (inspect_cmd->parsed()) return inspect(library);
  if (append_cmd->parsed()) return audit_append(audit_db);
  if (verify_cmd->parsed()) return audit_verify(audit_db, verify_key, verify_published);
  if (checkpoint_cmd->parsed()) return audit_checkpoint(audit_db);
  if (key_cmd->parsed()) return audit_key(audit_db);
  if (prove_cmd->parsed())
    return audit_prove(audit_db, prove_seq, tree_size_opt->count() ? std::optional(tree_size) : std::nullopt);
  if (export_cmd->parsed()) return audit_export(audit_db, export_from, export_to);
  if (query_cmd->parsed()) return audit_query(audit_db, query, query_from, query_to, query_personal);
  if (hold_cmd->parsed()) {
    if (hold.by.empty()) hold.by = local_operator();
    if (!hold_from.empty() || !hold_to.empty()) {
      auto from = audit::normalize_query_time(hold_from), to = audit::normalize_query_time(hold_to);
      if (!from || !to || from->empty() || to->empty()) {
        std::cerr << "--from and --to: give both, as UTC times (2026-11-01 or 2026-11-01T10:00:00Z)\n";
        return 2;
      }
      hold.from = *from;
      hold.to = *to;
    }
    return with_ledger(audit_db, [&](audit::Ledger& l) {
      std::cout << "legal hold " << l.place_hold(hold) << " placed\n";
      return 0;
    });
  }
  if (release_cmd->parsed())
    return with_ledger(audit_db, [&](audit::Ledger& l) {
      if (!l.release_hold(hold_id, by, why)) {
        std::cerr << "no active legal hold " << hold_id << "\n";
        return 1;
      }
      std::cout << "legal hold " << hold_id << " released\n";
      return 0;
    });
  if (erase_cmd->parsed())
    return with_ledger(audit_db, [&](audit::Ledger& l) {
      switch (l.erase_customer(erase_customer, by, why)) {
        case audit::EraseResult::erased: std::cout << "erased: the personal data of " << erase_customer << " can no longer be read\n"; return 0;
        case audit::EraseResult::no_key: std::cout << "nothing to erase: no personal data of " << erase_customer << " (recorded)\n"; return 0;
        case audit::EraseResult::held: std::cerr << "refused: a legal hold covers " << erase_customer << " (recorded)\n"; return 1;
      }
      return 1;
    });
  if (purge_cmd->parsed()) {
    audit::LedgerOptions options;
    if (!purge_config.empty()) {
      try {
        config::LoadOptions load;
        load.resolve_secrets = false;
        options.retention = config::load_config_file(purge_config, load).audit.retention;
      } catch (const config::ConfigError& e) {
        print_problems(e);
        return 2;
      }
    }
    return with_ledger(
        audit_db,
        [](audit::Ledger& l) {
          audit::PurgeReport r = l.purge_expired();
          std::cout << "purged the payload of " << r.purged << " entries in " << r.batches << " batches"
                    << (r.purged && !r.wal_truncated ? " (the WAL is still in use: the next purge truncates it)" : "")
                    << "\n";
          return 0;
        },
        options);
  }
  if (consistency_cmd->parsed())
    return audit_consistency(audit_db, from_size, to_size_opt->count() ? std::optional(to_size) : std::nullopt);
  return 1;
}
