// config: the schema-checked host configuration; each bad input gives one clear line, at its place.
#include "config/config.hpp"

#include "common/log.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

namespace branchline::config {
namespace {

const std::string kValid =
    "branchline: 1\n"
    "node:\n"
    "  id: n1\n"
    "  environment: staging\n"
    "plugins:\n"
    "  - id: crm\n"
    "    plugin: c-crm\n"
    "    kind: crm\n"
    "    settings: {}\n";

LoadOptions env(std::map<std::string, std::string> vars) {
  LoadOptions options;
  options.getenv = [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  return options;
}

std::vector<Diagnostic> problems(const std::string& text, const LoadOptions& options = env({})) {
  try {
    load_config_text(text, "bank.yaml", options);
  } catch (const ConfigError& e) {
    for (const Diagnostic& d : e.diagnostics()) {
      std::string line = d.to_string();
      EXPECT_EQ(line.find('\n'), std::string::npos);
      EXPECT_EQ(line.rfind("bank.yaml:", 0), 0u) << line;
      EXPECT_NE(line.find("; fix: "), std::string::npos) << line;
    }
    return e.diagnostics();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

// The one problem of a config that has exactly one.
Diagnostic problem(const std::string& text, const LoadOptions& options = env({})) {
  auto all = problems(text, options);
  EXPECT_EQ(all.size(), 1u);
  for (const auto& d : all) std::cerr << "  " << d.to_string() << "\n";
  return all.empty() ? Diagnostic{} : all.front();
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(Config, ValidFileLoadsIntoTypedSettings) {
  HostConfig cfg = load_config_text(kValid, "bank.yaml", env({}));
  EXPECT_EQ(cfg.node_id, "n1");
  EXPECT_EQ(cfg.environment, "staging");
  EXPECT_EQ(cfg.data_dir, "var/branchline");
  ASSERT_EQ(cfg.plugins.size(), 1u);
  EXPECT_EQ(cfg.plugins[0].id, "crm");
  EXPECT_EQ(cfg.plugins[0].kind, "crm");
  EXPECT_FALSE(cfg.plugins[0].optional);
  EXPECT_EQ(cfg.plugins[0].pointer, "/plugins/0");
}

TEST(Config, EmbeddedDefaultLoads) {
  HostConfig cfg = load_config_text(embedded_default_config(), kEmbeddedName, env({}));
  EXPECT_EQ(cfg.environment, "development");
}

TEST(Config, NotYaml) {
  Diagnostic d = problem("branchline: 1\nnode: {id: [\n");
  EXPECT_NE(d.message.find("not valid YAML"), std::string::npos);
}

TEST(Config, DuplicateKey) {
  Diagnostic d = problem(replace(kValid, "  id: n1\n", "  id: n1\n  id: n2\n"));
  EXPECT_EQ(d.message, "duplicate key 'id'");
  EXPECT_EQ(d.mark.line, 4);
}

TEST(Config, AnchorAndAlias) {
  EXPECT_NE(problem(replace(kValid, "settings: {}", "settings: &s {}")).message.find("anchors"), std::string::npos);
}

TEST(Config, YesStaysTextWhereTextIsExpected) {
  HostConfig cfg = load_config_text(replace(kValid, "id: n1", "id: yes"), "bank.yaml", env({}));
  EXPECT_EQ(cfg.node_id, "yes");
}

TEST(Config, YesWhereABooleanIsExpectedSaysWriteTrueOrFalse) {
  Diagnostic d = problem(replace(kValid, "    kind: crm\n", "    kind: crm\n    optional: yes\n"));
  EXPECT_EQ(d.mark.line, 9);
  EXPECT_EQ(d.mark.column, 15);
  EXPECT_NE(d.message.find("must be true or false, but it is text"), std::string::npos) << d.message;
  EXPECT_NE(d.fix.find("write true or false"), std::string::npos);
}

TEST(Config, LeadingZeroNumberWhereTextIsExpectedSaysQuoteIt) {
  Diagnostic d = problem(replace(kValid, "id: n1", "id: 017"));
  EXPECT_EQ(d.mark.line, 3);
  EXPECT_EQ(d.mark.column, 7);
  EXPECT_NE(d.message.find("must be text, but it is the number 17"), std::string::npos) << d.message;
  EXPECT_EQ(d.fix, "quote it: \"017\"");
}

TEST(Config, WrongType) {
  Diagnostic d = problem(kValid + "host:\n  drain_timeout_ms: soon\n");
  EXPECT_EQ(d.mark.line, 11);
  EXPECT_NE(d.message.find("'/host/drain_timeout_ms' must be a whole number"), std::string::npos) << d.message;
}

TEST(Config, UnknownKeyIsReportedAtTheKeyWithASuggestion) {
  Diagnostic d = problem(replace(kValid, "    settings: {}\n", "    setings: {}\n"));
  EXPECT_EQ(d.mark.line, 9);
  EXPECT_EQ(d.mark.column, 5);
  EXPECT_NE(d.message.find("unknown key 'setings'"), std::string::npos);
  EXPECT_EQ(d.fix, "did you mean 'settings'?");
  Diagnostic far = problem(kValid + "colour: blue\n");
  EXPECT_NE(far.fix.find("the keys allowed here are:"), std::string::npos);
}

TEST(Config, MissingRequiredKey) {
  Diagnostic d = problem(replace(kValid, "    kind: crm\n", ""));
  EXPECT_EQ(d.message, "missing required key 'kind' in '/plugins/0'");
  EXPECT_EQ(d.mark.line, 6);
}

TEST(Config, ValueNotAllowed) {
  Diagnostic d = problem(replace(kValid, "environment: staging", "environment: prod"));
  EXPECT_NE(d.message.find("'prod' is not one of the allowed values"), std::string::npos);
  EXPECT_EQ(d.fix, "use one of: development, staging, production");
}

TEST(Config, ManyProblemsAreReportedTogetherInFileOrder) {
  auto all = problems(replace(replace(kValid, "environment: staging", "environment: prod"), "kind: crm", "kind: cmr"));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_LT(all[0].mark.line, all[1].mark.line);
}

TEST(Config, AuditRetentionLoadsAndUnknownClassesAreNamedWhereTheyAreUsed) {
  const std::string audit =
      "audit:\n"
      "  retention: {standard: 30d, regulated: 7y, mortgage: 25y}\n"
      "  retention_by_consultation_type: {mortgage_advice: mortgage, loan_origination: regulatd}\n"
      "  purge_interval_s: 600\n";
  Diagnostic d = problem(replace(kValid, "plugins:\n", audit + "plugins:\n"));
  EXPECT_NE(d.message.find("retention class 'regulatd' is not defined"), std::string::npos) << d.message;
  EXPECT_NE(d.fix.find("mortgage, regulated, standard"), std::string::npos) << d.fix;
  EXPECT_GT(d.mark.column, 40);  // at the value, not the section
  HostConfig cfg = load_config_text(replace(kValid, "plugins:\n", replace(audit, "regulatd", "regulated") + "plugins:\n"),
                                    "bank.yaml", env({}));
  EXPECT_EQ(cfg.audit.retention.classes.at("mortgage").years, 25);
  EXPECT_EQ(cfg.audit.retention.classes.at("investment").years, 10);  // the defaults stay unless redefined
  EXPECT_EQ(cfg.audit.retention.by_consultation_type.at("mortgage_advice"), "mortgage");
  EXPECT_EQ(cfg.audit.purge_interval, std::chrono::seconds(600));
  EXPECT_EQ(cfg.audit.origin, "branchline/" + cfg.node_id);
  Diagnostic bad = problem(replace(kValid, "plugins:\n", "audit:\n  retention: {standard: 30m}\nplugins:\n"));
  EXPECT_NE(bad.message.find("'30m' does not have the expected form"), std::string::npos) << bad.message;
  EXPECT_EQ(bad.fix, "write days (\"30d\") or calendar years (\"7y\")");
}

TEST(Config, SiemForwardingLoadsWithItsTokenAsASecret) {
  const std::string siem =
      "audit:\n"
      "  siem:\n"
      "    splunk_hec:\n"
      "      url: https://splunk.bank.example:8088\n"
      "      index: audit\n"
      "      secrets:\n"
      "        token: ${env:HEC_TOKEN}\n"
      "    syslog:\n"
      "      host: siem.bank.example\n"
      "      ca_file: /etc/ssl/bank-ca.pem\n"
      "      cert_file: /etc/branchline/syslog.pem\n"
      "      key_file: /etc/branchline/syslog.key\n";
  HostConfig cfg = load_config_text(replace(kValid, "plugins:\n", siem + "plugins:\n"), "bank.yaml",
                                    env({{"HEC_TOKEN", "hec-secret-1234"}}));
  ASSERT_TRUE(cfg.audit.splunk_hec);
  EXPECT_EQ(cfg.audit.splunk_hec->token, "hec-secret-1234");
  EXPECT_EQ(log::redact("token hec-secret-1234"), "token [redacted]");
  ASSERT_TRUE(cfg.audit.syslog);
  EXPECT_EQ(cfg.audit.syslog->port, 6514);
  // Plain http needs saying so, and never in production.
  Diagnostic d = problem(replace(replace(kValid, "plugins:\n", siem + "plugins:\n"), "https://splunk", "http://splunk"),
                         env({{"HEC_TOKEN", "hec-secret-1234"}}));
  EXPECT_NE(d.message.find("plain http"), std::string::npos) << d.message;
  // A token written in the file is refused.
  Diagnostic literal = problem(replace(kValid, "plugins:\n", replace(siem, "${env:HEC_TOKEN}", "abcdefgh") + "plugins:\n"));
  EXPECT_NE(literal.message.find("is not a reference"), std::string::npos) << literal.message;
}

TEST(Config, InstanceIdMustBeUnique) {
  Diagnostic d = problem(kValid + "  - id: crm\n    plugin: cpp-crm\n    kind: crm\n");
  EXPECT_EQ(d.mark.line, 10);
  EXPECT_NE(d.message.find("'crm' is used twice (first at line 6)"), std::string::npos);
}

TEST(Config, TheApiChecksTokensWithTheOnlyIdentityInstanceOrTheOneNamed) {
  const std::string identity = "  - id: staff-idp\n    plugin: identity-oidc\n    kind: identity\n";
  const std::string customer_idp = "  - id: customer-idp\n    plugin: identity-oidc\n    kind: identity\n";
  std::string with_api = replace(kValid, "plugins:\n", "api: {listen: 127.0.0.1:0}\nplugins:\n");
  HostConfig cfg = load_config_text(with_api + identity, "bank.yaml", env({}));
  EXPECT_EQ(cfg.api->identity, "staff-idp");
  EXPECT_EQ(cfg.api->max_token_lifetime, std::chrono::seconds(3600));
  EXPECT_EQ(load_config_text(with_api, "bank.yaml", env({})).api->identity, "");  // none: 503 at the API

  Diagnostic d = problem(with_api + identity + customer_idp);
  EXPECT_EQ(d.mark.line, 5);
  EXPECT_NE(d.to_string().find("the API does not know which of the 2 identity instances checks its tokens; fix: name one "
                               "in api.identity, e.g. identity: staff-idp"),
            std::string::npos)
      << d.to_string();
  std::string named = replace(kValid, "plugins:\n", "api:\n  identity: customer-idp\nplugins:\n");
  EXPECT_EQ(load_config_text(named + identity + customer_idp, "bank.yaml", env({})).api->identity, "customer-idp");
  d = problem(replace(kValid, "plugins:\n", "api:\n  identity: crm\nplugins:\n"));
  EXPECT_EQ(d.mark.line, 6);
  EXPECT_NE(d.message.find("'crm' is not an instance of kind identity"), std::string::npos) << d.message;
}

TEST(Config, InProductionTheApiNeedsItsOwnCertificateAndPublicUrl) {
  std::string production = replace(kValid, "environment: staging", "environment: production");
  std::string with_tls = replace(production, "plugins:\n",
                                 "api:\n  tls: {cert_file: /etc/branchline/api.pem, key_file: /etc/branchline/api.key}\nplugins:\n");
  Diagnostic d = problem(with_tls);
  EXPECT_EQ(d.mark.line, 5);  // the api: key
  EXPECT_NE(d.to_string().find("no auth.public_url"), std::string::npos) << d.to_string();
  EXPECT_NE(d.to_string().find("fix: add api.auth.public_url"), std::string::npos) << d.to_string();
  std::string complete = replace(with_tls, "plugins:\n", "  auth: {public_url: \"https://api.bank.example\"}\nplugins:\n");
  EXPECT_EQ(load_config_text(complete, "bank.yaml", env({})).api->public_url, "https://api.bank.example");
  // Without its certificate, production refuses the development one.
  std::string no_tls = replace(production, "plugins:\n", "api:\n  auth: {public_url: \"https://api.bank.example\"}\nplugins:\n");
  EXPECT_NE(problem(no_tls).message.find("development certificate is not used in production"), std::string::npos);
}

TEST(Config, LogoutEntriesAreKeptAtLeastAsLongAsTheTokensTheyEnded) {
  std::string with_api = replace(kValid, "plugins:\n",
                                 "api:\n  auth: {max_token_lifetime_s: 86400}\naudit:\n  retention: {standard: 1d}\nplugins:\n");
  Diagnostic d = problem(with_api);
  EXPECT_EQ(d.mark.line, 8);  // the standard class, the default
  EXPECT_NE(d.to_string().find("would purge auth.logout entries"), std::string::npos) << d.to_string();
  EXPECT_NE(d.to_string().find("fix: keep the default class at least 2d"), std::string::npos) << d.to_string();
  EXPECT_NO_THROW(load_config_text(replace(with_api, "standard: 1d", "standard: 2d"), "bank.yaml", env({})));
}

TEST(Config, TheCustomerRoutesUseTheOnlyCrmAndCoreBankingInstancesOrTheOnesNamed) {
  std::string with_api = replace(kValid, "plugins:\n", "api: {listen: 127.0.0.1:0}\nplugins:\n");
  const std::string core = "  - id: core\n    plugin: core-banking-sqlite\n    kind: core_banking\n";
  HostConfig cfg = load_config_text(with_api + core, "bank.yaml", env({}));
  EXPECT_EQ(cfg.api->crm, "crm");
  EXPECT_EQ(cfg.api->core_banking, "core");
  const std::string second_crm = "  - id: crm-eu\n    plugin: crm-sqlite\n    kind: crm\n";
  Diagnostic d = problem(with_api + second_crm);
  EXPECT_NE(d.to_string().find("the API does not know which of the 2 crm instances serves its customer profiles; fix: "
                               "name one in api.crm, e.g. crm: crm"),
            std::string::npos)
      << d.to_string();
  std::string named = replace(kValid, "plugins:\n", "api:\n  crm: crm-eu\nplugins:\n");
  EXPECT_EQ(load_config_text(named + second_crm, "bank.yaml", env({})).api->crm, "crm-eu");
  d = problem(replace(kValid, "plugins:\n", "api:\n  core_banking: crm\nplugins:\n"));
  EXPECT_EQ(d.mark.line, 6);
  EXPECT_NE(d.message.find("'crm' is not an instance of kind core_banking"), std::string::npos) << d.message;
}

TEST(Config, SecretsResolveFromEnvironmentAndAreRedacted) {
  std::string text = kValid + "    secrets:\n      api_token: ${env:BL_TEST_TOKEN}\n";
  HostConfig cfg = load_config_text(text, "bank.yaml", env({{"BL_TEST_TOKEN", "s3cr3t-planted-token"}}));
  EXPECT_EQ(cfg.plugins[0].secrets.at("api_token"), "s3cr3t-planted-token");
  EXPECT_EQ(log::redact("token=s3cr3t-planted-token"), "token=[redacted]");
}

TEST(Config, UnsetEnvironmentVariable) {
  Diagnostic d = problem(kValid + "    secrets:\n      api_token: ${env:BL_NOT_SET}\n");
  EXPECT_EQ(d.mark.line, 11);
  EXPECT_EQ(d.message, "environment variable 'BL_NOT_SET' is not set");
}

TEST(Config, SecretFromFileDropsOneTrailingNewline) {
  auto path = std::filesystem::temp_directory_path() / ("bl-secret-" + std::to_string(::getpid()));
  std::ofstream(path) << "file-secret-value\n";
  HostConfig cfg = load_config_text(kValid + "    secrets:\n      key: ${file:" + path.string() + "}\n", "bank.yaml");
  EXPECT_EQ(cfg.plugins[0].secrets.at("key"), "file-secret-value");
  std::filesystem::remove(path);
}

TEST(Config, UnreadableSecretFile) {
  Diagnostic missing = problem(kValid + "    secrets:\n      key: ${file:/nonexistent/secret}\n");
  EXPECT_NE(missing.message.find("cannot read secret file '/nonexistent/secret': No such file"), std::string::npos)
      << missing.message;
  Diagnostic directory = problem(kValid + "    secrets:\n      key: ${file:/}\n");
  EXPECT_NE(directory.message.find("cannot read secret file '/': it is a directory"), std::string::npos) << directory.message;
}

TEST(Config, SecretsAreReferencesNeverLiterals) {
  Diagnostic d = problem(kValid + "    secrets:\n      key: hunter2-literal\n");
  EXPECT_EQ(d.message, "secret 'key' is not a reference");
  EXPECT_EQ(d.to_string().find("hunter2"), std::string::npos);
}

TEST(Config, SecretReferencesOutsideSecretsAreRefused) {
  Diagnostic d = problem(replace(kValid, "settings: {}", "settings: {token: \"${env:X}\"}"));
  EXPECT_NE(d.message.find("only resolved under an instance's 'secrets:'"), std::string::npos);
}

TEST(Config, MissingFile) {
  try {
    load_config_file("/nonexistent/branchline.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/branchline.yaml:0:0: cannot open", 0), 0u) << e.what();
  }
}

TEST(Config, ShippedExamplesLoad) {
  for (const char* name : {"credit-union.yaml", "eu-bank.yaml"}) {
    std::filesystem::path file = std::filesystem::path(BRANCHLINE_SOURCE_DIR) / "config/examples" / name;
    SCOPED_TRACE(file.string());
    std::map<std::string, std::string> vars;
    for (const char* v : {"CRM_API_TOKEN", "CORE_API_TOKEN", "SIEM_HEC_TOKEN", "OIDC_CLIENT_SECRET", "KAFKA_PASSWORD"})
      vars[v] = std::string("example-") + v;
    EXPECT_NO_THROW(load_config_file(file, env(vars)));
  }
}

}  // namespace
}  // namespace branchline::config
