// The executables end to end: `branchline config check`, `branchline plugins list`, and
// `branchlined` starting, running degraded, refusing to start, and shutting down on SIGTERM.
#include "process.hpp"

#include "../../support/hec_test_server.hpp"

#include "audit/ledger.hpp"
#include "security/crypto_policy.hpp"

#include <sqlite3.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace branchline::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kBin = BRANCHLINE_BIN_DIR;

// Every entry of an audit ledger, as its canonical text, one per line (after verifying it).
std::string ledger_text(const fs::path& db) {
  EXPECT_TRUE(audit::verify_ledger(db).intact);
  sqlite3* handle = nullptr;
  std::string out;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(handle, "SELECT canonical FROM entries ORDER BY seq", -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) + "\n";
    sqlite3_finalize(s);
  }
  sqlite3_close(handle);
  return out;
}
const std::string kPlugins = TEST_PLUGIN_DIR;

class Executables : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("branchline-app-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A config with the test plugin directory and the given plugin entries.
  fs::path write_config(const std::string& plugins, const std::string& name = "bank.yaml") {
    fs::path file = dir_ / name;
    std::ofstream(file) << "branchline: 1\n"
                           "node:\n"
                           "  id: test-node\n"
                           "  data_dir: " << (dir_ / "data").string() << "\n"
                           "log:\n"
                           "  format: json\n"
                           "host:\n"
                           "  plugin_dirs: [" << kPlugins << "]\n"
                           "  drain_timeout_ms: 2000\n"
                           "plugins:\n" << plugins;
    return file;
  }

  json::value health() {
    std::string text = read_file(dir_ / "data/run/health.json");
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return ec ? json::value() : v;
  }
  std::string health_status() {
    json::value h = health();
    return h.is_object() && h.as_object().contains("status") ? std::string(h.at("status").as_string()) : "";
  }

  int run(std::vector<std::string> argv, std::string* out = nullptr, std::string* err = nullptr,
          std::vector<std::string> env = {}) {
    Process p(std::move(argv), dir_ / ("run" + std::to_string(runs_++)), std::move(env));
    int code = p.wait();
    if (out) *out = p.out();
    if (err) *err = p.err();
    return code;
  }

  fs::path dir_;
  int runs_ = 0;
};

const std::string kTwoCrms =
    "  - id: c-crm\n"
    "    plugin: c-crm\n"
    "    kind: crm\n"
    "  - id: cpp-crm\n"
    "    plugin: cpp-crm\n"
    "    kind: crm\n"
    "    settings: {mode: async, delay_ms: 5}\n";

TEST_F(Executables, ConfigCheckAcceptsAGoodFileWithoutRunningPluginCode) {
  std::string out, err;
  EXPECT_EQ(run({kBin + "/branchline", "config", "check", write_config(kTwoCrms).string()}, &out, &err), 0) << err;
  EXPECT_NE(out.find("ok (2 plugin instances checked"), std::string::npos) << out;
}

TEST_F(Executables, ConfigCheckReportsEachProblemAtItsLine) {
  std::string err;
  fs::path file = write_config(
      "  - id: c-crm\n"
      "    plugin: c-crm\n"
      "    kind: identity\n"            // line 13: the kind differs from the manifest's
      "  - id: cpp\n"
      "    plugin: cpp-crm\n"
      "    kind: crm\n"
      "    settings: {mode: sideways}\n"  // line 17: rejected by the plugin's own schema
      "  - id: gone\n"
      "    plugin: no-such-plugin\n"     // line 19: no library
      "    kind: crm\n");
  EXPECT_EQ(run({kBin + "/branchline", "config", "check", file.string()}, nullptr, &err), 1);
  EXPECT_NE(err.find(file.string() + ":13:11: plugin 'c-crm' ("), std::string::npos) << err;
  EXPECT_NE(err.find("kind-mismatch"), std::string::npos) << err;
  EXPECT_NE(err.find(file.string() + ":17:22: plugin 'cpp-crm': settings-rejected: '/plugins/1/settings/mode': "
                                     "'sideways' is not one of the allowed values; fix: use one of: normal, async"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(file.string() + ":19:13: plugin 'no-such-plugin': file-missing: no no-such-plugin.so in"),
            std::string::npos)
      << err;
}

TEST_F(Executables, ConfigCheckRefusesAPluginWithAnInvalidSchema) {
  std::string err;
  fs::path file = write_config("  - {id: bad, plugin: broken-bad-schema, kind: crm}\n");
  EXPECT_EQ(run({kBin + "/branchline", "config", "check", file.string()}, nullptr, &err), 1);
  EXPECT_NE(err.find("schema-invalid"), std::string::npos) << err;
}

TEST_F(Executables, ConfigCheckCanSkipSecretsThatAreNotOnThisMachine) {
  fs::path file = write_config(kTwoCrms + "    secrets: {api_token: \"${env:BL_TEST_UNSET_TOKEN}\"}\n");
  std::string err;
  EXPECT_EQ(run({kBin + "/branchline", "config", "check", file.string()}, nullptr, &err), 1);
  EXPECT_NE(err.find("environment variable 'BL_TEST_UNSET_TOKEN' is not set"), std::string::npos) << err;
  EXPECT_EQ(run({kBin + "/branchline", "config", "check", "--skip-secrets", file.string()}), 0);
}

TEST_F(Executables, PluginsListLoadsEveryConfiguredPlugin) {
  std::string out, err;
  fs::path file = write_config(kTwoCrms);
  ASSERT_EQ(run({kBin + "/branchline", "plugins", "list", "--config", file.string(), "--json"}, &out, &err), 0) << err;
  json::array list = json::parse(out).as_array();
  ASSERT_EQ(list.size(), 2u);
  for (const auto& p : list) {
    EXPECT_EQ(p.at("state").as_string(), "loaded");
    EXPECT_EQ(p.at("abi").as_string(), "1.0");
    EXPECT_EQ(p.at("vendor").as_string(), "Branchline tests");
  }
  EXPECT_EQ(run({kBin + "/branchline", "plugins", "list", "--config", file.string()}, &out), 0);
  EXPECT_NE(out.find("cpp-crm"), std::string::npos);
  EXPECT_NE(out.find("loaded"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "data")) << "plugins list must not touch the configured data directory";
}

TEST_F(Executables, DaemonRunsUntilSigtermAndShutsDownInOrder) {
  Process daemon({kBin + "/branchlined", "--config", write_config(kTwoCrms).string()}, dir_ / "daemon");
  ASSERT_TRUE(eventually([&] { return health_status() == "ok"; })) << daemon.err();
  json::value h = health();
  EXPECT_EQ(h.at("plugins").as_array().size(), 2u);
  EXPECT_EQ(h.at("plugins").as_array()[1].at("state").as_string(), "loaded");
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(), 0) << daemon.err();
  EXPECT_EQ(health_status(), "stopped");
  std::string log = daemon.err();
  // Reverse order of creation.
  auto second = log.find("plugin instance 'cpp-crm' stopped");
  auto first = log.find("plugin instance 'c-crm' stopped");
  ASSERT_NE(second, std::string::npos) << log;
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_LT(second, first);
  std::string audit = ledger_text(dir_ / "data/audit.db");
  EXPECT_NE(audit.find("\"action\":\"plugin.load\""), std::string::npos);
  EXPECT_NE(audit.find("\"action\":\"host.stop\""), std::string::npos);
}

TEST_F(Executables, OptionalPluginFailureLeavesTheHostRunningDegraded) {
  Process daemon({kBin + "/branchlined", "--config",
                  write_config(kTwoCrms + "  - {id: flaky, plugin: broken-init-fails, kind: crm, optional: true}\n")
                      .string()},
                 dir_ / "daemon");
  ASSERT_TRUE(eventually([&] { return health_status() == "degraded"; })) << daemon.err();
  json::value h = health();
  const json::value& flaky = h.at("plugins").as_array()[2];
  EXPECT_EQ(flaky.at("state").as_string(), "failed");
  EXPECT_EQ(flaky.at("failure").as_string(), "init-failed");
  EXPECT_NE(daemon.err().find("the host runs degraded"), std::string::npos);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(), 0) << daemon.err();
}

TEST_F(Executables, RequiredPluginFailureStopsTheStartWithExitStatus3) {
  Process daemon({kBin + "/branchlined", "--config",
                  write_config(kTwoCrms + "  - {id: needed, plugin: broken-init-fails, kind: crm}\n").string()},
                 dir_ / "daemon");
  EXPECT_EQ(daemon.wait(), 3);
  EXPECT_NE(daemon.err().find("init-failed"), std::string::npos) << daemon.err();
  EXPECT_EQ(health_status(), "failed");
  // The two instances created before it were unloaded.
  EXPECT_NE(daemon.err().find("plugin instance 'c-crm' stopped"), std::string::npos);
}

TEST_F(Executables, BadConfigurationFailsAtStartWithOneLinePerProblem) {
  fs::path file = write_config(kTwoCrms + "  - {id: x, plugin: c-crm, kind: crm, optional: yes}\n");
  Process daemon({kBin + "/branchlined", "--config", file.string()}, dir_ / "daemon");
  EXPECT_EQ(daemon.wait(), 2);
  EXPECT_EQ(daemon.err(), file.string() +
                              ":18:49: '/plugins/2/optional' must be true or false, but it is text; fix: write true "
                              "or false (YAML 1.2 reads yes/no/on/off as text)\n");
}

TEST_F(Executables, ASecondDaemonOnTheSameDataDirectoryIsRefused) {
  fs::path file = write_config(kTwoCrms);
  Process first({kBin + "/branchlined", "--config", file.string()}, dir_ / "first");
  ASSERT_TRUE(eventually([&] { return health_status() == "ok"; })) << first.err();
  Process second({kBin + "/branchlined", "--config", file.string()}, dir_ / "second");
  EXPECT_EQ(second.wait(), 1);
  EXPECT_NE(second.err().find("another branchlined is running"), std::string::npos) << second.err();
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(), 0);
}

TEST_F(Executables, PlantedSecretNeverAppearsInLogsOrErrors) {
  const std::string secret = "planted-secret-7f3a9c0e";
  fs::path token_file = dir_ / "token";
  std::ofstream(token_file) << secret << "\n";
  std::string plugins =
      "  - id: leaky-env\n"
      "    plugin: cpp-crm\n"
      "    kind: crm\n"
      "    optional: true\n"
      "    settings: {leak_secret: true}\n"
      "    secrets: {api_token: \"${env:BL_PLANTED}\"}\n"
      "  - id: leaky-file\n"
      "    plugin: cpp-crm\n"
      "    kind: crm\n"
      "    optional: true\n"
      "    settings: {leak_secret: true}\n"
      "    secrets: {api_token: \"${file:" + token_file.string() + "}\"}\n";
  Process daemon({kBin + "/branchlined", "--config", write_config(plugins).string()}, dir_ / "daemon",
                 {"BL_PLANTED=" + secret});
  ASSERT_TRUE(eventually([&] { return health_status() == "degraded"; })) << daemon.err();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(), 0);
  std::string everything = daemon.err() + daemon.out() + read_file(dir_ / "data/run/health.json") +
                           read_file(dir_ / "data/audit.db") + read_file(dir_ / "data/audit.db-wal");
  EXPECT_EQ(everything.find(secret), std::string::npos) << everything;
  // The plugin did leak it, twice per instance: proof that redaction, not luck, kept it out.
  EXPECT_NE(daemon.err().find("connecting with token [redacted]"), std::string::npos) << daemon.err();
  EXPECT_NE(everything.find("vendor refused token [redacted]"), std::string::npos) << everything;

  // And the same through `branchline plugins list`.
  std::string out, err;
  run({kBin + "/branchline", "plugins", "list", "--config", (dir_ / "bank.yaml").string()}, &out, &err,
      {"BL_PLANTED=" + secret});
  EXPECT_EQ((out + err).find(secret), std::string::npos) << out << err;
  EXPECT_NE(err.find("[redacted]"), std::string::npos) << err;
}

TEST_F(Executables, TheDefaultConfigurationLoadsAllFiveReferencePlugins) {
  std::string out, err;
  ASSERT_EQ(run({kBin + "/branchline", "plugins", "list", "--config", std::string(BRANCHLINE_SOURCE_DIR) +
                 "/config/branchline.yaml", "--json"}, &out, &err), 0) << err;
  json::array list = json::parse(out).as_array();
  std::vector<std::string> plugins;
  for (const auto& p : list) {
    EXPECT_EQ(p.at("state").as_string(), "loaded") << json::serialize(p);
    plugins.emplace_back(p.at("plugin").as_string());
  }
  EXPECT_EQ(plugins, (std::vector<std::string>{"identity-local", "crm-sqlite", "core-banking-sqlite", "queue-local",
                                               "event-sink-log"}));
}

TEST_F(Executables, DaemonRunsOnTheEmbeddedDefault) {
  // No --config: the embedded config/branchline.yaml, data in ./var/branchline of the working directory.
  Process daemon({kBin + "/branchlined"}, dir_ / "daemon", {}, dir_);
  fs::path health_file = dir_ / "var/branchline/run/health.json";
  ASSERT_TRUE(eventually([&] { return read_file(health_file).find("\"status\":\"ok\"") != std::string::npos; }))
      << daemon.err();
  json::value h = json::parse(read_file(health_file));
  EXPECT_EQ(h.at("plugins").as_array().size(), 5u);
  EXPECT_EQ(h.at("environment").as_string(), "development");

  // The API, over TLS 1.3 with the development certificate made on first start.
  ASSERT_EQ(h.at("api").as_string(), "127.0.0.1:8443");
  const std::string ca = (dir_ / "var/branchline/tls/dev-cert.pem").string();
  std::string out, err;
  EXPECT_EQ(run({"/usr/bin/curl", "-sS", "--cacert", ca, "https://127.0.0.1:8443/readyz"}, &out, &err), 0) << err;
  EXPECT_EQ(out, R"({"status":"ok"})");
  EXPECT_EQ(run({"/usr/bin/curl", "-sS", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                 "https://localhost:8443/api/v1/openapi.json"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "1.1 200");
  EXPECT_NE(run({"/usr/bin/curl", "-sS", "--cacert", ca, "--tls-max", "1.2", "https://127.0.0.1:8443/healthz"}, &out, &err), 0);
  // Protected routes ask the configured identity plugin (identity-local here) about the token.
  EXPECT_EQ(run({"/usr/bin/curl", "-sS", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", "-H",
                 "Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln", "https://127.0.0.1:8443/api/v1/me"}, &out, &err), 0)
      << err;
  EXPECT_EQ(out, "401");
  // SIGHUP reloads the certificate, and the reload is in the ledger.
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon.err().find("TLS certificate reloaded") != std::string::npos; })) << daemon.err();
  daemon.signal(SIGINT);
  EXPECT_EQ(daemon.wait(), 0) << daemon.err();
  std::string audit = ledger_text(dir_ / "var/branchline/audit.db");
  std::size_t reload = audit.find("\"action\":\"host.tls.reload\"");
  ASSERT_NE(reload, std::string::npos) << audit;
  EXPECT_NE(audit.substr(reload, audit.find('\n', reload) - reload).find("\"outcome\":\"success\""), std::string::npos);
  std::size_t refused = audit.find("\"action\":\"auth.token\"");
  ASSERT_NE(refused, std::string::npos) << audit;
  EXPECT_NE(audit.substr(refused, audit.find('\n', refused) - refused).find("\"outcome\":\"denied\""), std::string::npos);
}

TEST_F(Executables, ABadPolicyFileStopsTheStartWithItsLineAndColumn) {
  fs::path policy = dir_ / "policy.yaml";
  std::ofstream(policy) << "branchline_policy: 1\npolicies:\n  - {id: p, effect: permit, when: \"principal.x ==\"}\n";
  fs::path file = write_config("  []\n");
  std::ofstream(file, std::ios::app) << "api: {listen: 127.0.0.1:0, policy_file: " << policy.string() << "}\n";
  Process daemon({kBin + "/branchlined", "--config", file.string()}, dir_ / "daemon");
  EXPECT_EQ(daemon.wait(), 2);
  EXPECT_EQ(daemon.err(), policy.string() + ":3:50: 'when' of policy 'p': the expression ends too early; fix: write a "
                                            "Cedar expression; see docs/policy.md#conditions\n");
  std::string out, err;
  EXPECT_EQ(run({kBin + "/branchline", "config", "check", file.string()}, &out, &err), 1);
  EXPECT_NE(err.find(policy.string() + ":3:50:"), std::string::npos) << err;
}

TEST_F(Executables, SighupReloadsThePolicyFileAndABadOneLeavesThePolicyInForce) {
  fs::path policy = dir_ / "policy.yaml";
  fs::copy_file(fs::path(BRANCHLINE_SOURCE_DIR) / "config/policy.yaml", policy);
  fs::path file = write_config("  []\n");
  std::ofstream(file, std::ios::app) << "api: {listen: 127.0.0.1:0, policy_file: " << policy.string() << "}\n";
  Process daemon({kBin + "/branchlined", "--config", file.string()}, dir_ / "daemon");
  ASSERT_TRUE(eventually([&] { return read_file(dir_ / "data/run/health.json").find("\"status\":\"ok\"") != std::string::npos; }))
      << daemon.err();

  // Unchanged, then a new rule, then a file that does not load.
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon.err().find("(unchanged)") != std::string::npos; })) << daemon.err();
  std::string text = read_file(policy);
  text.insert(text.find("\n# Money movement"), "  - id: profiles-frozen\n    effect: forbid\n    actions: [crm.customer.read]\n");
  std::ofstream(policy) << text;
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon.err().find("(was ") != std::string::npos; })) << daemon.err();
  std::ofstream(policy) << "branchline_policy: 1\npolicies:\n  - {id: p, effect: permit, when: \"principal.x ==\"}\n";
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon.err().find("the policy in force stays") != std::string::npos; })) << daemon.err();
  // The fault is logged as at start: file, line, column and the fix.
  EXPECT_NE(daemon.err().find(policy.string() + ":3:50: 'when' of policy 'p'"), std::string::npos) << daemon.err();
  daemon.signal(SIGINT);
  EXPECT_EQ(daemon.wait(), 0) << daemon.err();

  // Each reload is on the record with the hashes: unchanged, changed, refused.
  std::vector<json::object> entries;
  std::istringstream lines(ledger_text(dir_ / "data/audit.db"));
  for (std::string line; std::getline(lines, line);) {
    json::object entry = json::parse(line).as_object();
    if (entry.at("action") == "host.policy.reload") entries.push_back(std::move(entry));
  }
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].at("outcome"), "success");
  EXPECT_EQ(entries[0].at("hash"), entries[0].at("previous_hash"));
  EXPECT_EQ(entries[0].at("resource").at("id"), policy.string().c_str());
  EXPECT_EQ(entries[1].at("outcome"), "success");
  EXPECT_NE(entries[1].at("hash"), entries[1].at("previous_hash"));
  EXPECT_EQ(entries[1].at("previous_hash"), entries[0].at("hash"));
  EXPECT_EQ(entries[2].at("outcome"), "failure");
  EXPECT_EQ(entries[2].at("previous_hash"), entries[1].at("hash"));  // the set in force stayed
  EXPECT_FALSE(entries[2].contains("hash"));
}

TEST_F(Executables, TheApiRefusesToServeProductionWithTheDevelopmentCertificate) {
  fs::path file = dir_ / "prod-api.yaml";
  std::ofstream(file) << "branchline: 1\nnode: {id: n, environment: production}\napi: {listen: 127.0.0.1:0}\nplugins: []\n";
  std::string out, err;
  EXPECT_EQ(run({kBin + "/branchline", "config", "check", file.string()}, &out, &err), 1);
  EXPECT_NE(err.find(file.string() + ":3:1: the API has no certificate"), std::string::npos) << err;
}

TEST_F(Executables, AuditAppendAndVerifyFromTheCommandLine) {
  fs::path db = dir_ / "ledger.db";
  std::string out, err;
  ASSERT_EQ(run({"/bin/sh", "-c",
                 "printf '{\"action\":\"crm.lookup\"}\\n{\"action\":\"core.transfer\"}\\n' | " + kBin +
                     "/branchline audit append --db " + db.string()},
                &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("appended 2 entries (sequence 1 to 2); ledger size 3"), std::string::npos) << out;
  EXPECT_EQ(run({kBin + "/branchline", "audit", "verify", "--db", db.string()}, &out), 0) << out;
  EXPECT_NE(out.find("intact: 3 entries"), std::string::npos) << out;
  // A bad line stops the import, says where, and is still recorded as a partial import.
  EXPECT_EQ(run({"/bin/sh", "-c", "printf '{\"a\":1}\\n[1]\\n' | " + kBin + "/branchline audit append --db " + db.string()},
                &out, &err),
            1);
  EXPECT_NE(err.find("stdin:2: not a JSON object"), std::string::npos) << err;
  // Tampering is named.
  EXPECT_EQ(run({"/bin/sh", "-c", "printf 'garbage' | dd of=" + db.string() + " bs=1 seek=4096 conv=notrunc 2>/dev/null; " +
                 kBin + "/branchline audit verify --db " + db.string()}, &out),
            1);
}

TEST_F(Executables, PolicyCheckCedarAndDecideFromTheCommandLine) {
  const std::string bl = kBin + "/branchline";
  std::string out, err;
  ASSERT_EQ(run({bl, "policy", "check"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("policy hash "), std::string::npos) << out;
  ASSERT_EQ(run({bl, "policy", "cedar"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("@id(\"advisors-serve-customers-of-their-region\")\npermit ("), std::string::npos) << out;

  fs::path bad = dir_ / "bad-policy.yaml";
  std::ofstream(bad) << "branchline_policy: 1\npolicies:\n  - id: p\n    effect: permit\n    when: context.x = 1\n";
  EXPECT_EQ(run({bl, "policy", "check", bad.string()}, &out, &err), 1);
  EXPECT_EQ(err, bad.string() + ":5:21: 'when' of policy 'p': '=' is not an operator; write '=='; fix: write a Cedar "
                                "expression; see docs/policy.md#conditions\n");

  EXPECT_EQ(run({bl, "policy", "check", (dir_ / "missing.yaml").string()}, &out, &err), 1);
  EXPECT_EQ(err, (dir_ / "missing.yaml").string() +
                     ":0:0: cannot open the file: No such file or directory; fix: check api.policy_file, or the path given\n");

  fs::path request = dir_ / "request.json", entities = dir_ / "entities.json";
  std::ofstream(request) << R"({"principal": {"type": "User", "id": "ann"}, "action": {"type": "Action",
    "id": "crm.customer.read"}, "resource": {"type": "Customer", "id": "c-1"}, "context": {}})";
  std::ofstream(entities) << R"([{"uid": {"type": "User", "id": "ann"}, "attrs": {"region": "east"},
    "parents": [{"type": "Role", "id": "advisor"}]},
    {"uid": {"type": "Customer", "id": "c-1"}, "attrs": {"region": "east"}, "parents": []}])";
  ASSERT_EQ(run({bl, "policy", "decide", "--request", request.string(), "--entities", entities.string()}, &out, &err), 0)
      << err;
  EXPECT_NE(out.find(R"({"decision":"allow","reasons":["advisors-serve-customers-of-their-region"],"errors":[])"),
            std::string::npos)
      << out;
  EXPECT_EQ(run({bl, "policy", "decide", "--request", request.string()}, &out, &err), 3);  // ann is no one without entities
  EXPECT_NE(out.find(R"("decision":"deny")"), std::string::npos) << out;
  std::ofstream(request) << "{";
  EXPECT_EQ(run({bl, "policy", "decide", "--request", request.string()}, &out, &err), 2);
}

TEST_F(Executables, AuditHoldsErasureAndPurgeFromTheCommandLine) {
  fs::path db = dir_ / "ledger.db";
  std::string out, err;
  const std::string bl = kBin + "/branchline";
  ASSERT_EQ(run({"/bin/sh", "-c",
                 "printf '{\"action\":\"crm.read\",\"time\":\"2020-01-01T00:00:00.000000Z\","
                 "\"resource\":{\"customer\":\"c-1\"},\"personal\":{\"name\":\"Ada\"}}\\n' | " +
                     bl + " audit append --db " + db.string()},
                &out, &err),
            0)
      << err;
  ASSERT_EQ(run({bl, "audit", "hold", "--db", db.string(), "--customer", "c-1", "--reason", "case 7", "--by", "counsel:ann"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("legal hold 1 placed"), std::string::npos) << out;
  EXPECT_EQ(run({bl, "audit", "hold", "--db", db.string(), "--from", "2020-01-01", "--reason", "x"}, &out, &err), 2);
  EXPECT_EQ(run({bl, "audit", "erase", "--db", db.string(), "--customer", "c-1", "--reason", "GDPR 1"}, &out, &err), 1);
  EXPECT_NE(err.find("refused: a legal hold covers c-1"), std::string::npos) << err;
  EXPECT_NE(run({bl, "audit", "purge", "--db", db.string()}, &out, &err), 0);  // no retention policy given
  fs::path config = write_config(kTwoCrms);
  EXPECT_EQ(run({bl, "audit", "purge", "--db", db.string(), "--config", config.string()}, &out, &err), 0) << err;
  EXPECT_NE(out.find("purged the payload of 0 entries"), std::string::npos) << out;
  EXPECT_EQ(run({bl, "audit", "release", "--db", db.string(), "--hold", "1", "--reason", "settled"}, &out, &err), 0) << err;
  EXPECT_EQ(run({bl, "audit", "release", "--db", db.string(), "--hold", "1", "--reason", "again"}, &out, &err), 1);
  EXPECT_EQ(run({bl, "audit", "erase", "--db", db.string(), "--customer", "c-1", "--reason", "GDPR 1"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("erased"), std::string::npos) << out;
  EXPECT_EQ(run({bl, "audit", "purge", "--db", db.string(), "--config", config.string()}, &out, &err), 0) << err;
  EXPECT_NE(out.find("purged the payload of 1 entries"), std::string::npos) << out;
  EXPECT_EQ(run({bl, "audit", "verify", "--db", db.string(), "--key", (dir_ / "audit-signing.key.pub").string()}, &out, &err), 0)
      << out << err;
  EXPECT_NE(out.find("1 payloads purged by retention"), std::string::npos) << out;
  EXPECT_EQ(run({bl, "audit", "verify", "--db", db.string(), "--key", "not-a-key"}, &out, &err), 2);
}

TEST_F(Executables, AuditorsQueryTheLedgerByCustomerConsultationAdvisorActionAndTime) {
  fs::path db = dir_ / "ledger.db";
  std::string out, err;
  const std::string bl = kBin + "/branchline";
  const std::string lines =
      R"({"action":"crm.customer.read","time":"2026-01-05T10:00:00.000000Z","actor":{"principal":"idp|ann"},"resource":{"customer":"c-1","consultation":"k-1"},"personal":{"name":"Ada"}})" "\n"
      R"({"action":"core.operation.transfer","time":"2026-02-05T10:00:00.000000Z","actor":{"principal":"idp|bob"},"resource":{"customer":"c-1","consultation":"k-2"}})" "\n"
      R"({"action":"crm.customer.read","time":"2026-03-05T10:00:00.000000Z","actor":{"principal":"idp|ann"},"resource":{"customer":"c-2","consultation":"k-3"}})" "\n";
  std::ofstream(dir_ / "in.jsonl") << lines;
  ASSERT_EQ(run({"/bin/sh", "-c", bl + " audit append --db " + db.string() + " < " + (dir_ / "in.jsonl").string()}, &out, &err), 0)
      << err;
  auto count = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{bl, "audit", "query", "--db", db.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    EXPECT_EQ(run(argv, &out, &err), 0) << err;
    return std::count(out.begin(), out.end(), '\n');
  };
  EXPECT_EQ(count({"--customer", "c-1"}), 2);
  EXPECT_EQ(count({"--consultation", "k-3"}), 1);
  EXPECT_EQ(count({"--advisor", "idp|ann"}), 2);
  EXPECT_EQ(count({"--action", "crm.customer.read", "--from", "2026-02-01"}), 1);
  EXPECT_EQ(count({"--from", "2026-01-01", "--to", "2026-02-06"}), 2);
  EXPECT_EQ(count({"--customer", "c-1", "--limit", "1"}), 1);
  EXPECT_NE(err.find("the limit"), std::string::npos) << err;
  // Sealed in the ledger, opened on request with the ledger's keys.
  EXPECT_EQ(count({"--customer", "c-1", "--action", "crm.customer.read"}), 1);
  EXPECT_EQ(out.find("Ada"), std::string::npos) << out;
  EXPECT_EQ(count({"--customer", "c-1", "--action", "crm.customer.read", "--personal"}), 1);
  EXPECT_NE(out.find(R"("personal":{"name":"Ada"})"), std::string::npos) << out;
  EXPECT_EQ(run({bl, "audit", "query", "--db", db.string(), "--from", "yesterday"}, &out, &err), 2);
}

TEST_F(Executables, TheDaemonPublishesCheckpointsAndKeepsItsLedgerToItself) {
  fs::path config = write_config(kTwoCrms);
  std::ofstream(config, std::ios::app) << "audit:\n  origin: bank.example/test-node\n  checkpoint_interval_ms: 50\n"
                                          "  publish_to: " << (dir_ / "published").string() << "\n";
  Process daemon({kBin + "/branchlined", "--config", config.string()}, dir_ / "daemon");
  ASSERT_TRUE(eventually([&] { return health_status() == "ok"; })) << daemon.err();
  fs::path db = dir_ / "data/audit.db";
  std::string out, err;
  // A second writer is refused while the daemon runs; readers are not.
  EXPECT_EQ(run({"/bin/sh", "-c", "echo '{}' | " + kBin + "/branchline audit append --db " + db.string()}, &out, &err), 1);
  EXPECT_NE(err.find("open in another process"), std::string::npos) << err;
  ASSERT_TRUE(eventually([&] { return fs::exists(dir_ / "published") && fs::file_size(dir_ / "published") > 0; }));
  EXPECT_EQ(run({kBin + "/branchline", "audit", "checkpoint", "--db", db.string()}, &out, &err), 0) << err;
  EXPECT_EQ(out.rfind("bank.example/test-node\n", 0), 0u) << out;
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(), 0) << daemon.err();
  EXPECT_EQ(run({kBin + "/branchline", "audit", "verify", "--db", db.string(), "--key",
                 (dir_ / "data/audit-signing.key.pub").string(), "--published", (dir_ / "published").string()},
                &out, &err),
            0)
      << out << err;
  EXPECT_NE(out.find("intact"), std::string::npos) << out;
}

TEST_F(Executables, SiemForwardingSurvivesSigkillAndDeliversEveryEntryAtLeastOnce) {
  test::HecTestServer hec("hec-token-7d1f");
  hec.stall_ms = 15;  // a slow collector, so that the kill lands mid-way
  // A ledger with history to forward: the daemon makes it (its origin), the CLI adds to it.
  fs::path config = write_config(kTwoCrms);
  {
    Process first({kBin + "/branchlined", "--config", config.string()}, dir_ / "daemon0");
    ASSERT_TRUE(eventually([&] { return health_status() == "ok"; })) << first.err();
    first.signal(SIGTERM);
    ASSERT_EQ(first.wait(), 0);
  }
  std::ofstream in(dir_ / "history.jsonl");
  for (int i = 0; i < 300; ++i)
    in << R"({"action":"crm.customer.read","outcome":"success","resource":{"customer":"c-)" << i % 9
       << R"("},"personal":{"name":"CANARY-daemon-88"}})" << "\n";
  in.close();
  std::string out, err;
  ASSERT_EQ(run({"/bin/sh", "-c", kBin + "/branchline audit append --db " + (dir_ / "data/audit.db").string() + " < " +
                                      (dir_ / "history.jsonl").string()},
                &out, &err),
            0)
      << err;
  std::ofstream(config, std::ios::app) << "audit:\n  siem:\n    splunk_hec:\n"
                                          "      url: " << hec.url() << "\n      allow_plain_http: true\n"
                                          "      batch_max: 10\n      ack_timeout_ms: 2000\n"
                                          "      secrets:\n        token: ${env:HEC_TOKEN}\n";
  {
    Process daemon({kBin + "/branchlined", "--config", config.string()}, dir_ / "daemon1", {"HEC_TOKEN=hec-token-7d1f"});
    bool some = eventually([&] { return hec.ledger_indexes().size() >= 60; });
    if (!some) {
      daemon.signal(SIGTERM);
      daemon.wait();
    }
    ASSERT_TRUE(some) << daemon.err() << read_file(config);
    daemon.signal(SIGKILL);
    ASSERT_EQ(daemon.wait(), 128 + SIGKILL);
  }
  std::size_t before_restart = hec.ledger_indexes().size();
  EXPECT_LT(before_restart, 300u) << "the kill should land before everything was sent";
  hec.stall_ms = 0;
  Process daemon({kBin + "/branchlined", "--config", config.string()}, dir_ / "daemon2", {"HEC_TOKEN=hec-token-7d1f"});
  ASSERT_TRUE(eventually([&] { return health_status() == "ok"; })) << daemon.err();
  // Everything the ledger holds arrives, none skipped, each at least once.
  ASSERT_TRUE(eventually([&] {
    auto got = hec.ledger_indexes();
    return !got.empty() && got.size() == *got.rbegin() && got.size() >= 305;
  })) << hec.ledger_indexes().size();
  EXPECT_EQ(hec.raw().find("CANARY-daemon-88"), std::string::npos) << "personal data reached the SIEM";
  EXPECT_EQ(hec.raw().find("hec-token-7d1f"), std::string::npos);
  EXPECT_EQ(daemon.err().find("hec-token-7d1f"), std::string::npos) << "the token is a secret";
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(), 0);
}

TEST_F(Executables, RequireFipsRefusesToStartWithoutAFipsProvider) {
  fs::path config = write_config(kTwoCrms);
  std::ofstream(config, std::ios::app) << "security:\n  require_fips: true\n";
  Process daemon({kBin + "/branchlined", "--config", config.string()}, dir_ / "daemon");
  if (security::fips_available()) {
    // A machine with a FIPS provider installed starts, with it in force.
    ASSERT_TRUE(eventually([&] { return health_status() == "ok"; })) << daemon.err();
    daemon.signal(SIGTERM);
    EXPECT_EQ(daemon.wait(), 0);
    return;
  }
  EXPECT_EQ(daemon.wait(), 2);
  std::string err = daemon.err();
  EXPECT_NE(err.find("bank.yaml:19:17: security.require_fips is set, but OpenSSL's FIPS provider cannot be loaded"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("docs/compliance.md"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(fs::exists(dir_ / "data/audit.db"));  // nothing started
}

TEST_F(Executables, IdentityLocalStopsAProductionStart) {
  std::string config = read_file(std::string(BRANCHLINE_SOURCE_DIR) + "/config/branchline.yaml");
  config.replace(config.find("environment: development"), 24, "environment: production");
  config.replace(config.find("data_dir: var/branchline"), 24, "data_dir: " + (dir_ / "data").string());
  // Without the API, whose development certificate production refuses at the configuration check.
  std::size_t api = config.find("\napi:\n") + 1;
  config.erase(api, config.find("\n# The plugin set") + 1 - api);
  std::ofstream(dir_ / "prod.yaml") << config;
  Process daemon({kBin + "/branchlined", "--config", (dir_ / "prod.yaml").string()}, dir_ / "daemon");
  EXPECT_EQ(daemon.wait(), 3);
  EXPECT_NE(daemon.err().find("refuses to run when the host's environment is production"), std::string::npos)
      << daemon.err();
}

}  // namespace
}  // namespace branchline::test
