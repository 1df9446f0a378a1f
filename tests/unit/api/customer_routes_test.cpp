// The customer routes end to end on loopback: a real HTTPS client, the API with the gate, the real
// identity-oidc plugin, and the real crm-sqlite and core-banking-sqlite plugins through the real
// host, deciding with the built-in policy and writing the real ledger. A profile carries only the
// field groups the caller's role allows; every decision (and each field group's) is in the
// ledger before the answer; operations need an Idempotency-Key and a recent second factor.
#include "../../support/api_stack.hpp"
#include "../../support/scoped_tmpfs.hpp"

#include <fstream>

namespace branchline::test {
namespace {

namespace json = boost::json;

constexpr const char* kTransfer =
    R"({"type":"transfer","params":{"from_account":"acc-1001-chk","to_account":"acc-1002-chk","amount_minor":1500}})";

std::set<std::string> keys(const json::value& object) {
  std::set<std::string> out;
  for (const auto& [k, v] : object.as_object()) out.emplace(k);
  return out;
}

class ApiCustomers : public ApiStack {
 protected:
  void SetUp() override {
    ApiStack::SetUp();
    // c-1001, c-1002 and c-1004 in the advisors' region; c-1003 in eu-west.
    crm_instance_ = start("crm-sqlite", BL_KIND_CRM, R"({"demo_region":"north"})", "crm-1");
    core_instance_ = start("core-banking-sqlite", BL_KIND_CORE_BANKING, "{}", "core-1");
    crm_ = std::make_shared<api::PluginCrm>("crm-1", io_.get_executor(), std::chrono::seconds(10));
    core_ = std::make_shared<api::PluginCoreBanking>("core-1", io_.get_executor(), std::chrono::seconds(10));
    crm_->bind(crm_instance_.get());
    core_->bind(core_instance_.get());
  }

  void TearDown() override {
    if (api_) api_->shutdown(std::chrono::milliseconds(500));
    api_.reset();
    crm_->unbind();
    core_->unbind();
    crm_instance_.reset();
    core_instance_.reset();
    careless_.reset();
    slow_.reset();
    ApiStack::TearDown();
  }

  api::ApiContext plugins() const {
    api::ApiContext context;
    context.crm = crm_;
    context.core_banking = core_;
    return context;
  }
  void serve() { start_api(std::nullopt, nullptr, plugins()); }

  // A test plugin (tests/plugins) as instance `id`, in place of a reference one.
  std::unique_ptr<host::PluginInstance> test_plugin(const std::string& file, bl_plugin_kind kind, const std::string& id) {
    auto library = host::PluginLibrary::load(std::filesystem::path(TEST_PLUGIN_DIR) / file, kind);
    host::InstanceConfig config;
    config.id = id;
    return host::PluginInstance::create(library, std::move(config), env_);
  }

  std::string advisor() { return token_for("advisor-1", {"advisor"}); }

  net::HttpResponse post(const std::string& token, const std::string& path, const std::string& key, std::string body) {
    net::HttpHeaders headers{{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
    if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
    return send("POST", path, std::move(headers), std::move(body));
  }

  std::int64_t balance(const std::string& customer, const std::string& account) {
    net::HttpResponse r = get(advisor(), "/api/v1/customers/" + customer + "/accounts");
    EXPECT_EQ(r.http_status, 200) << r.body;
    json::value body = json::parse(r.body);
    for (const auto& a : body.at("accounts").as_array())
      if (a.at("account_id") == account.c_str()) return a.at("balance_minor").as_int64();
    return -1;
  }

  std::unique_ptr<host::PluginInstance> crm_instance_, core_instance_, careless_, slow_;
  std::shared_ptr<api::PluginCrm> crm_;
  std::shared_ptr<api::PluginCoreBanking> core_;
};

TEST_F(ApiCustomers, AnAdvisorSeesOnlyTheFieldGroupsOfTheirRoleAndEachGroupsDecisionIsAudited) {
  serve();
  net::HttpResponse r = get(advisor(), "/api/v1/customers/c-1001");
  ASSERT_EQ(r.http_status, 200) << r.body;
  json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("customer_id"), "c-1001");
  // identity, contact and relationship; never references (external_ref), never region (in no group).
  EXPECT_EQ(keys(body.at("fields")), (std::set<std::string>{"name", "preferred_language", "email", "phone", "segment",
                                                            "products", "kyc_status"}));
  EXPECT_EQ(body.at("fields").at("name"), "Ada Lovelace");
  EXPECT_EQ(body.at("field_groups"), (json::array{"contact", "identity", "relationship"}));

  json::object entry = decision_entry(body.at("decision_id"));  // durable before the answer
  ASSERT_FALSE(entry.empty());
  EXPECT_EQ(entry.at("resource"), (json::object{{"type", "customer"}, {"id", "c-1001"}, {"customer", "c-1001"}}));
  const json::object& decision = entry.at("decision").as_object();
  EXPECT_EQ(decision.at("action"), "crm.customer.read");
  EXPECT_EQ(decision.at("result"), "allow");
  EXPECT_EQ(decision.at("rules"), (json::array{"advisors-serve-customers-of-their-region"}));
  std::map<std::string, json::object> groups;
  for (const auto& g : decision.at("field_groups").as_array()) groups[std::string(g.at("group").as_string())] = g.as_object();
  ASSERT_EQ(groups.size(), 4u);
  for (const char* allowed : {"identity", "contact", "relationship"}) {
    EXPECT_EQ(groups[allowed].at("result"), "allow") << allowed;
    EXPECT_EQ(groups[allowed].at("rules"), (json::array{"advisors-see-working-groups"})) << allowed;
  }
  EXPECT_EQ(groups["references"].at("result"), "deny");
  EXPECT_EQ(groups["references"].at("rules"), json::array{});  // a default deny: nothing permits it

  // The CRM was asked for the region alone, then for the allowed fields only.
  // The CRM's entry of the field read is not waited for by the answer (plugins/common/audit.hpp).
  std::vector<json::object> reads = entries("crm.customer.read", 2);
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].at("fields"), (json::array{"region"}));
  std::set<std::string> asked;
  for (const auto& f : reads[1].at("fields").as_array()) asked.emplace(f.as_string());
  EXPECT_EQ(asked, keys(body.at("fields")));
  EXPECT_EQ(reads[1].at("correlation_id"), json::value(header(r, "X-Request-Id")));
  EXPECT_EQ(reads[1].at("actor").at("principal"), json::value(idp_.issuer + "|advisor-1"));
}

TEST_F(ApiCustomers, WhatTheCrmSaidOfACustomersRegionIsReusedWhileFreshFoundOrNot) {
  serve();  // the default: reused for 30 s
  // A region read is written before the decision that uses it, which is durable before the answer.
  auto region_reads = [&] {
    std::size_t n = 0;
    for (const auto& e : entries("crm.customer.read"))
      if (e.at("fields") == json::array{"region"}) ++n;
    return n;
  };
  ASSERT_EQ(get(advisor(), "/api/v1/customers/c-1001").http_status, 200);
  ASSERT_EQ(get(advisor(), "/api/v1/customers/c-1001").http_status, 200);
  ASSERT_EQ(get(advisor(), "/api/v1/customers/c-1001/accounts").http_status, 200);
  EXPECT_EQ(region_reads(), 1u);
  EXPECT_EQ(get(advisor(), "/api/v1/customers/c-1003").http_status, 403);  // another region, also from the cache next time
  EXPECT_EQ(get(advisor(), "/api/v1/customers/c-1003").http_status, 403);
  EXPECT_EQ(region_reads(), 2u);
  // A missing one (403 to an advisor, as a forbidden one) is cached as well: no timing tells it apart.
  EXPECT_EQ(get(advisor(), "/api/v1/customers/c-9999").http_status, 403);
  EXPECT_EQ(get(advisor(), "/api/v1/customers/c-9999").http_status, 403);
  EXPECT_EQ(region_reads(), 3u);

  // With the cache off, every read asks.
  api_->shutdown(std::chrono::milliseconds(500));
  api::ApiContext context = plugins();
  context.customer_attribute_cache = std::chrono::seconds(0);
  start_api(std::nullopt, nullptr, std::move(context));
  ASSERT_EQ(get(advisor(), "/api/v1/customers/c-1001").http_status, 200);
  ASSERT_EQ(get(advisor(), "/api/v1/customers/c-1001").http_status, 200);
  EXPECT_EQ(region_reads(), 5u);
}

TEST_F(ApiCustomers, ASupervisorAlsoSeesReferencesAndACustomerSeesOnlyTheirOwnProfile) {
  serve();
  net::HttpResponse r = get(token_for("sup-1", {"supervisor", "advisor"}), "/api/v1/customers/c-1002");
  ASSERT_EQ(r.http_status, 200) << r.body;
  json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("fields").at("external_ref"), "CIF-1002");
  EXPECT_EQ(body.at("field_groups"), (json::array{"contact", "identity", "references", "relationship"}));

  json::object customer_claims = idp_.claims("c-1001");
  customer_claims["roles"] = json::array{"customer"};
  customer_claims["customer"] = "c-1001";
  customer_claims.erase("region");
  std::string customer = idp_.token(customer_claims);
  r = get(customer, "/api/v1/customers/c-1001");
  ASSERT_EQ(r.http_status, 200) << r.body;
  body = json::parse(r.body);
  EXPECT_EQ(body.at("fields").at("email"), "ada@example.org");
  EXPECT_FALSE(body.at("fields").as_object().contains("external_ref"));
  EXPECT_EQ(json::parse(get(customer, "/api/v1/customers/c-1001/accounts").body).at("accounts").as_array().size(), 2u);

  r = get(customer, "/api/v1/customers/c-1002");  // someone else's
  EXPECT_EQ(r.http_status, 403);
  EXPECT_EQ(get(customer, "/api/v1/customers/c-1002/accounts").http_status, 403);
}

TEST_F(ApiCustomers, AnotherRegionsCustomerIsRefusedAndAMissingOneLooksTheSameToThoseWhoMayNotSeeIt) {
  serve();
  net::HttpResponse elsewhere = get(advisor(), "/api/v1/customers/c-1003");  // eu-west
  EXPECT_EQ(elsewhere.http_status, 403);
  net::HttpResponse missing = get(advisor(), "/api/v1/customers/c-9999");
  EXPECT_EQ(missing.http_status, 403);  // not 404: no probing for customer ids
  std::vector<json::object> denials;
  for (auto& e : entries("policy.decide"))
    if (e.at("outcome") == "denied") denials.push_back(std::move(e));
  ASSERT_EQ(denials.size(), 2u);  // both durable before their answers
  for (const auto& d : denials) {
    EXPECT_EQ(d.at("decision").at("rules"), json::array{});
    EXPECT_FALSE(d.at("decision").as_object().contains("field_groups"));  // no group is asked after a deny
  }
  // Only the region was read for either.
  for (const auto& read : entries("crm.customer.read")) EXPECT_EQ(read.at("fields"), (json::array{"region"}));

  // A caller who may see the customer is told it does not exist.
  json::object claims = idp_.claims("c-9999");
  claims["roles"] = json::array{"customer"};
  claims["customer"] = "c-9999";
  EXPECT_EQ(get(idp_.token(claims), "/api/v1/customers/c-9999").http_status, 404);
  EXPECT_EQ(get(advisor(), "/api/v1/customers/c%201001").http_status, 400);
}

TEST_F(ApiCustomers, AConnectorThatAnswersMoreThanItIsAskedLeaksNothingThePolicyHides) {
  crm_->unbind();
  careless_ = test_plugin("careless-crm.so", BL_KIND_CRM, "crm-1");
  crm_->bind(careless_.get());
  serve();
  net::HttpResponse r = get(advisor(), "/api/v1/customers/c-1001");
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(keys(json::parse(r.body).at("fields")), (std::set<std::string>{"name", "email"}));
  // It answers every lookup with c-1001: for anyone else, its answer is refused, not used.
  r = get(advisor(), "/api/v1/customers/c-1002");
  EXPECT_EQ(r.http_status, 502);
  EXPECT_EQ(r.body.find("Ada"), std::string::npos);
}

TEST_F(ApiCustomers, ATransferNeedsAnIdempotencyKeyAndARepeatedKeyAnswersTheFirstResult) {
  serve();
  std::string token = advisor();
  const std::string path = "/api/v1/customers/c-1001/operations";
  EXPECT_EQ(post(token, path, "", kTransfer).http_status, 400);  // no key
  std::int64_t before = balance("c-1001", "acc-1001-chk");

  net::HttpResponse first = post(token, path, "7c0f6f3e-key-1", kTransfer);
  ASSERT_EQ(first.http_status, 201) << first.body;
  json::value op = json::parse(first.body);
  EXPECT_EQ(op.at("state"), "completed");
  EXPECT_EQ(op.at("customer_id"), "c-1001");
  EXPECT_EQ(header(first, "Location"), path + "/" + std::string(op.at("operation_id").as_string()));
  json::object entry = decision_entry(op.at("decision_id"));  // durable before the operation
  ASSERT_FALSE(entry.empty());
  EXPECT_EQ(entry.at("decision").at("action"), "core.operation.transfer");
  EXPECT_EQ(entry.at("resource").at("operation_type"), "transfer");

  // The client retries (a timeout, a lost answer): the same result, booked once.
  net::HttpResponse again = post(token, path, "\"7c0f6f3e-key-1\"", kTransfer);  // as an sf-string
  ASSERT_EQ(again.http_status, 201) << again.body;
  EXPECT_EQ(json::parse(again.body).at("operation_id"), op.at("operation_id"));
  EXPECT_EQ(balance("c-1001", "acc-1001-chk"), before - 1500);

  // The same key for another body is refused; the same key from someone else is their own.
  std::string other = R"({"type":"transfer","params":{"from_account":"acc-1001-chk","to_account":"acc-1002-chk","amount_minor":9}})";
  EXPECT_EQ(post(token, path, "7c0f6f3e-key-1", other).http_status, 422);
  net::HttpResponse theirs = post(token_for("advisor-2", {"advisor"}), path, "7c0f6f3e-key-1", kTransfer);
  ASSERT_EQ(theirs.http_status, 201) << theirs.body;
  EXPECT_NE(json::parse(theirs.body).at("operation_id"), op.at("operation_id"));
  EXPECT_EQ(balance("c-1001", "acc-1001-chk"), before - 3000);

  // The operation is read under its customer only.
  std::string id(op.at("operation_id").as_string());
  net::HttpResponse read = get(token, path + "/" + id);
  ASSERT_EQ(read.http_status, 200) << read.body;
  EXPECT_EQ(json::parse(read.body).at("details").at("amount_minor"), 1500);
  EXPECT_EQ(get(token, "/api/v1/customers/c-1002/operations/" + id).http_status, 404);

  // Malformed requests never reach the core.
  EXPECT_EQ(post(token, path, "k-2", R"({"type":"Transfer!"})").http_status, 400);
  EXPECT_EQ(post(token, path, "k-2", R"({"type":"read"})").http_status, 400);  // would be core.operation.read
  EXPECT_EQ(post(token, path, "k-2", "not json").http_status, 400);
  EXPECT_EQ(post(token, path, std::string(256, 'k'), kTransfer).http_status, 400);
  EXPECT_EQ(send("POST", path, {{"Authorization", "Bearer " + token}, {"Idempotency-Key", "k-3"}, {"Content-Type", "text/plain"}},
                 kTransfer).http_status, 415);
}

TEST_F(ApiCustomers, ACallerWithoutAValidTokenIsAnswered401WhateverElseIsWrongWithTheRequest) {
  serve();
  const std::string operations = "/api/v1/customers/c-1001/operations";
  // No token, then a token that is not one: 401 with the Bearer challenge, never the 400 or 415 a
  // signed-in caller would get, and each refusal on the record.
  for (const std::string& authorization : {std::string(), std::string("Bearer not-a-token")}) {
    net::HttpHeaders auth;
    if (!authorization.empty()) auth.emplace_back("Authorization", authorization);
    auto with = [&](net::HttpHeaders more) {
      net::HttpHeaders all = auth;
      all.insert(all.end(), more.begin(), more.end());
      return all;
    };
    for (const net::HttpResponse& r : {
             send("POST", operations, with({{"Content-Type", "application/json"}}), kTransfer),  // no key
             send("POST", operations, with({{"Idempotency-Key", "k-1"}, {"Content-Type", "text/plain"}}), kTransfer),
             send("POST", operations, with({{"Idempotency-Key", "k-1"}, {"Content-Type", "application/json"}}), "not json"),
             send("POST", "/api/v1/customers/c%201001/operations", with({{"Idempotency-Key", "k-1"}, {"Content-Type", "application/json"}}), kTransfer),
             send("GET", "/api/v1/customers/c%201001", with({})),
             send("GET", operations + "/op%20bad", with({})),
         }) {
      EXPECT_EQ(r.http_status, 401) << authorization << ": " << r.body;
      EXPECT_EQ(header(r, "WWW-Authenticate").rfind("Bearer", 0), 0u) << header(r, "WWW-Authenticate");
    }
  }
  EXPECT_EQ(entries("auth.token").size(), 12u);
  EXPECT_TRUE(entries("policy.decide").empty());
  // Signed in, the same requests are told what is wrong with them.
  std::string token = advisor();
  EXPECT_EQ(post(token, operations, "", kTransfer).http_status, 400);
  EXPECT_EQ(get(token, "/api/v1/customers/c%201001").http_status, 400);
  EXPECT_EQ(get(token, operations + "/op%20bad").http_status, 400);
}

TEST_F(ApiCustomers, AWriteTheCoreDidNotAnswerInTimeIs504AndItsRetryWithTheSameKeyAnswersTheFirstResult) {
  // A core that books at once but answers after 1.5 s, behind a port that waits 300 ms.
  core_->unbind();
  slow_ = test_plugin("slow-core.so", BL_KIND_CORE_BANKING, "core-1");
  core_ = std::make_shared<api::PluginCoreBanking>("core-1", io_.get_executor(), std::chrono::milliseconds(300));
  core_->bind(slow_.get());
  serve();
  std::string token = advisor();  // loa:2, signed in 30 s ago: money movement may go ahead
  const std::string path = "/api/v1/customers/c-1001/operations";
  net::HttpResponse first = post(token, path, "slow-key-1", kTransfer);
  EXPECT_EQ(first.http_status, 504) << first.body;
  EXPECT_NE(first.body.find("retry with the same Idempotency-Key"), std::string::npos) << first.body;
  EXPECT_EQ(json::parse(first.body).at("status"), 504);
  // The operation was decided (and is on the record) before the core was asked.
  std::vector<json::object> decided = entries("policy.decide");
  ASSERT_FALSE(decided.empty());
  EXPECT_EQ(decided.back().at("decision").at("action"), "core.operation.transfer");
  EXPECT_EQ(decided.back().at("outcome"), "success");

  // The client retries with the same key: the first booking's result, not a second booking.
  net::HttpResponse retry = post(token, path, "slow-key-1", kTransfer);
  ASSERT_EQ(retry.http_status, 201) << retry.body;
  EXPECT_EQ(json::parse(retry.body).at("operation_id"), "op-1");
  std::string other = R"({"type":"transfer","params":{"from_account":"acc-1001-chk","to_account":"acc-1002-chk","amount_minor":9}})";
  EXPECT_EQ(post(token, path, "slow-key-1", other).http_status, 422);  // the key, for another request
  net::HttpResponse another = post(token, path, "slow-key-2", kTransfer);
  EXPECT_EQ(another.http_status, 504) << another.body;
  EXPECT_EQ(json::parse(post(token, path, "slow-key-2", kTransfer).body).at("operation_id"), "op-2");
}

TEST_F(ApiCustomers, MoneyMovementAsksForAStepUpOverHttpAndGoesAheadOnceItIsMet) {
  serve();
  json::object weak = idp_.claims("advisor-1");
  weak["acr"] = "urn:branchline:loa:1";
  weak["amr"] = json::array{"pwd"};
  const std::string path = "/api/v1/customers/c-1001/operations";
  net::HttpResponse r = post(idp_.token(weak), path, "step-1", kTransfer);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_EQ(header_values(r, "WWW-Authenticate").front(),
            "Bearer realm=\"branchline\", error=\"insufficient_user_authentication\", error_description=\"a stronger "
            "or more recent authentication is required\", acr_values=\"urn:branchline:loa:2\", max_age=300");
  json::object stale = idp_.claims("advisor-1");
  stale["auth_time"] = now() - 3600;  // a second factor, but an hour ago
  EXPECT_EQ(post(idp_.token(stale), path, "step-1", kTransfer).http_status, 401);
  std::int64_t before = balance("c-1001", "acc-1001-chk");
  EXPECT_EQ(before, 254'300);  // nothing moved

  r = post(advisor(), path, "step-1", kTransfer);  // loa:2, signed in 30 s ago
  ASSERT_EQ(r.http_status, 201) << r.body;
  EXPECT_EQ(balance("c-1001", "acc-1001-chk"), before - 1500);
  std::vector<json::object> step_ups;
  for (auto& e : entries("policy.decide"))
    if (e.at("decision").as_object().contains("step_up")) step_ups.push_back(std::move(e));
  ASSERT_EQ(step_ups.size(), 2u);
  EXPECT_EQ(step_ups[0].at("decision").at("step_up").at("unmet"), "acr");
  EXPECT_EQ(step_ups[1].at("decision").at("step_up").at("unmet"), "too old");

  // An auditor may read the ledger, never act on accounts (segregation of duties).
  r = post(token_for("auditor-1", {"auditor", "advisor"}), path, "sod-1", kTransfer);
  EXPECT_EQ(r.http_status, 403);
  json::object denial = entries("policy.decide").back();
  EXPECT_EQ(denial.at("decision").at("rules"), (json::array{"auditors-never-act-on-accounts"}));
}

TEST_F(ApiCustomers, WhenTheLedgerCannotBeWrittenAProfileReadIs503AndNoDataLeaves) {
  ScopedTmpfs disk(data_dir_ / "small-disk", "2m");
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs CAP_SYS_ADMIN (./tests/run.sh runs as root)";
  std::shared_ptr<audit::Ledger> ledger = audit::Ledger::open(data_dir_ / "small-disk" / "audit.db");
  start_api(std::nullopt, ledger, plugins());
  ASSERT_EQ(get(advisor(), "/api/v1/customers/c-1001").http_status, 200);  // the ledger works
  {
    std::ofstream fill(data_dir_ / "small-disk" / "fill", std::ios::binary);
    std::string block(64 * 1024, 'x');
    while (fill.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  // The CRM is read while the decision's entry is written; the entry fails, so the answer is 503.
  for (const char* path : {"/api/v1/customers/c-1002", "/api/v1/customers/c-1002/accounts"}) {
    net::HttpResponse r = get(advisor(), path);
    EXPECT_EQ(r.http_status, 503) << path;
    EXPECT_NE(r.body.find("audit ledger cannot be written"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("Grace"), std::string::npos);
    EXPECT_EQ(r.body.find("acc-1002"), std::string::npos);
  }
  // A change does not even start.
  std::int64_t before = 0;
  {
    auto accounts = ok(*core_instance_, &bl_core_banking_api::list_accounts, R"({"customer_id":"c-1001"})");
    before = accounts.at("accounts").at(0).at("balance_minor").as_int64();
  }
  EXPECT_EQ(post(advisor(), "/api/v1/customers/c-1001/operations", "full-1", kTransfer).http_status, 503);
  auto accounts = ok(*core_instance_, &bl_core_banking_api::list_accounts, R"({"customer_id":"c-1001"})");
  EXPECT_EQ(accounts.at("accounts").at(0).at("balance_minor").as_int64(), before);
  api_->shutdown(std::chrono::milliseconds(500));
  api_.reset();
  gate_.reset();
  std::filesystem::remove(data_dir_ / "small-disk" / "fill");
  ledger.reset();  // before the disk goes
}

TEST_F(ApiCustomers, APluginThatIsDownIsA503AndNothingIsDecided) {
  serve();
  crm_->unbind();
  net::HttpResponse r = get(advisor(), "/api/v1/customers/c-1001");
  EXPECT_EQ(r.http_status, 503);
  EXPECT_FALSE(header(r, "Retry-After").empty());
  EXPECT_TRUE(entries("policy.decide").empty());
  crm_->bind(crm_instance_.get());
  core_->unbind();
  r = get(advisor(), "/api/v1/customers/c-1001/accounts");
  EXPECT_EQ(r.http_status, 503);
  core_->bind(core_instance_.get());
}

}  // namespace
}  // namespace branchline::test
