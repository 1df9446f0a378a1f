// The auditors' and operators' routes end to end on loopback: a real HTTPS client, the API with the
// gate, the real identity-oidc plugin, the real ledger read through the audit archive's reader, and
// a real plugin set for the status. Reading the ledger is itself decided and on the record before
// the answer; an export page checks with the Go verifier (tools/verify-export) when it is built.
#include "../../support/api_stack.hpp"

#include "api/audit_archive.hpp"
#include "config/config.hpp"
#include "host/plugin_set.hpp"
#include "host/status_board.hpp"

#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <fstream>
#include <latch>
#include <sstream>

namespace branchline::test {
namespace {

namespace json = boost::json;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class ApiAudit : public ApiStack {
 protected:
  void TearDown() override {
    if (api_) api_->shutdown(std::chrono::milliseconds(500));
    api_.reset();
    archive_.reset();
    ApiStack::TearDown();
  }

  void serve(std::function<json::object()> host_status = nullptr) {
    archive_ = std::make_shared<api::AuditArchive>(data_dir_ / "audit.db");
    api::ApiContext context;
    context.audit_archive = archive_;
    context.host_status = std::move(host_status);
    start_api(std::nullopt, nullptr, std::move(context));
  }

  std::string auditor() { return token_for("auditor-1", {"auditor"}); }
  audit::Ledger& ledger() { return static_cast<audit::Ledger&>(*env_.audit); }

  // Waits until a signed checkpoint covers the ledger as it is now (the ledger signs one at most
  // every second, on a commit), so that an export includes every entry so far.
  void checkpoint_everything() {
    std::uint64_t size = ledger().size();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ledger().checkpointed() < size && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      ledger().append_and_wait(json::object{{"action", "test.tick"}});
    }
    ASSERT_GE(ledger().checkpointed(), size);
  }

  std::shared_ptr<api::AuditArchive> archive_;
};

TEST_F(ApiAudit, AnAuditorQueriesTheLedgerPageByPageAndEachQueryIsItselfOnTheRecord) {
  serve();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(me(idp_.token()).http_status, 200);  // three decisions of advisor-1
  std::string advisor = idp_.issuer + "|advisor-1";

  net::HttpResponse r = get(auditor(), "/api/v1/audit/entries?action=policy.decide&actor=" + advisor + "&limit=2");
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("count"), 2);
  const json::array& first = body.at("entries").as_array();
  ASSERT_EQ(first.size(), 2u);
  for (const auto& e : first) {
    EXPECT_EQ(e.at("action"), "policy.decide");
    EXPECT_EQ(e.at("actor").at("principal"), json::value(advisor));
    EXPECT_EQ(e.at("decision").at("action"), "session.me.read");
  }
  EXPECT_LT(first[0].at("seq").as_int64(), first[1].at("seq").as_int64());  // oldest first
  // A full page links to the next one: the same criteria, after the last seq.
  std::string next(body.at("next").as_string());
  EXPECT_NE(next.find("&after=" + std::to_string(first[1].at("seq").as_int64())), std::string::npos) << next;
  EXPECT_NE(next.find("&until="), std::string::npos) << next;  // the first page fixed the end
  EXPECT_EQ(next.rfind("/api/v1/audit/entries?", 0), 0u) << next;

  json::value rest = json::parse(get(auditor(), next).body);
  ASSERT_EQ(rest.at("count"), 1);  // the third decision, and no more (the auditor's own are not advisor-1's)
  EXPECT_GT(rest.at("entries").at(0).at("seq").as_int64(), first[1].at("seq").as_int64());
  EXPECT_FALSE(rest.as_object().contains("next"));

  // The query is on the record, durable before the answer: who asked, what, and the rule that allowed it.
  json::object decided = decision_entry(body.at("decision_id"));
  ASSERT_FALSE(decided.empty());
  EXPECT_EQ(decided.at("decision").at("action"), "audit.ledger.query");
  EXPECT_EQ(decided.at("decision").at("result"), "allow");
  EXPECT_EQ(decided.at("decision").at("rules"), (json::array{"auditors-read-the-ledger"}));
  EXPECT_EQ(decided.at("actor").at("principal"), json::value(idp_.issuer + "|auditor-1"));
  EXPECT_EQ(decided.at("resource").at("criteria"),
            (json::object{{"action", "policy.decide"}, {"actor", advisor}, {"limit", "2"}}));
}

TEST_F(ApiAudit, PagingEndsEvenWhenEachPageAddsAMatchingEntry) {
  serve();
  // The auditor's own decisions, one a page: each page writes one more, but the first page fixed
  // the end, so the pages run out.
  std::string actor = idp_.issuer + "|auditor-1";
  std::string path = "/api/v1/audit/entries?action=policy.decide&actor=" + actor + "&limit=1";
  std::string t = auditor();
  std::vector<std::int64_t> seen;
  for (int page = 0; page < 10 && !path.empty(); ++page) {
    net::HttpResponse r = get(t, path);
    ASSERT_EQ(r.http_status, 200) << r.body;
    json::value body = json::parse(r.body);
    for (const auto& e : body.at("entries").as_array()) seen.push_back(e.at("seq").as_int64());
    path = body.as_object().contains("next") ? std::string(body.at("next").as_string()) : "";
  }
  EXPECT_TRUE(path.empty()) << "still paging: " << path;
  EXPECT_EQ(seen.size(), 1u);  // the first page's own decision, and nothing after the end it fixed
  EXPECT_EQ(get(t, "/api/v1/audit/entries?until=0").http_status, 400);
}

TEST_F(ApiAudit, AQueryAboutACustomerIsIndexedAsAnAccessToThatCustomersRecords) {
  serve();
  ledger().append_and_wait(json::object{{"action", "crm.customer.read"}, {"resource", {{"type", "customer"}, {"customer", "c-1001"}}}});
  ledger().append_and_wait(json::object{{"action", "crm.customer.read"}, {"resource", {{"type", "customer"}, {"customer", "c-1002"}}}});
  net::HttpResponse r = get(auditor(), "/api/v1/audit/entries?customer=c-1001&action=crm.customer.read&from=2020-01-01");
  ASSERT_EQ(r.http_status, 200) << r.body;
  json::value body = json::parse(r.body);
  ASSERT_EQ(body.at("count"), 1);
  EXPECT_EQ(body.at("entries").at(0).at("resource").at("customer"), "c-1001");
  // The auditor's queries are now themselves among c-1001's records, this one included: the
  // ledger is read only once the query's own entry is durable.
  json::value again = json::parse(get(auditor(), "/api/v1/audit/entries?customer=c-1001&action=policy.decide").body);
  ASSERT_EQ(again.at("count"), 2) << again;
  EXPECT_EQ(again.at("entries").at(0).at("policy_decision"), body.at("decision_id"));
  EXPECT_EQ(again.at("entries").at(1).at("policy_decision"), again.at("decision_id"));
  for (const auto& e : again.at("entries").as_array()) EXPECT_EQ(e.at("decision").at("action"), "audit.ledger.query");
}

TEST_F(ApiAudit, OnlyAuditorsReadTheLedgerAndEveryRefusalIsAudited) {
  serve();
  for (const char* route : {"/api/v1/audit/entries", "/api/v1/audit/export"}) {
    net::HttpResponse r = get(idp_.token(), route);  // an advisor
    EXPECT_EQ(r.http_status, 403) << route << " " << r.body;
    EXPECT_EQ(get("not-a-token", route).http_status, 401) << route;
  }
  std::vector<std::string> denied;
  for (auto& e : entries("policy.decide"))
    if (e.at("decision").at("result") == "deny") denied.emplace_back(e.at("decision").at("action").as_string());
  EXPECT_EQ(denied, (std::vector<std::string>{"audit.ledger.query", "audit.ledger.export"}));
  EXPECT_EQ(entries("auth.token").size(), 2u);  // the two refused tokens
}

TEST_F(ApiAudit, AMalformedQueryIs400AndReadsNothing) {
  serve();
  std::string t = auditor();
  for (const char* path : {"/api/v1/audit/entries?costumer=c-1001",            // a typo is not ignored
                           "/api/v1/audit/entries?customer=a&customer=b",       // repeated
                           "/api/v1/audit/entries?from=yesterday",              // not a time
                           "/api/v1/audit/entries?to=2026-11-01T10:00:00%2B01:00",  // not UTC
                           "/api/v1/audit/entries?limit=0", "/api/v1/audit/entries?limit=1001",
                           "/api/v1/audit/entries?after=-1", "/api/v1/audit/entries?action=%ZZ",
                           "/api/v1/audit/entries?actor=a%0Ab",                 // a control character
                           "/api/v1/audit/entries?actor=%C3%A9",                // not ASCII
                           "/api/v1/audit/entries?customer=c%201001",           // not an id
                           "/api/v1/audit/export?limit=10001", "/api/v1/audit/export?customer=c-1001",
                           "/api/v1/audit/export?tree_size=x"}) {
    net::HttpResponse r = get(t, path);
    EXPECT_EQ(r.http_status, 400) << path << " " << r.body;
    EXPECT_EQ(header(r, "Content-Type"), "application/problem+json") << path;
    // Without a token the query string is not looked at: 401.
    EXPECT_EQ(send("GET", path, {}).http_status, 401) << path;
  }
  EXPECT_TRUE(entries("policy.decide").empty());
}

class ApiAuditExport : public ApiAudit {
 protected:
  // Two pages of an export of five entries (and whatever the fixture wrote before them).
  void export_two_pages() {
    serve();
    for (int i = 0; i < 5; ++i) ledger().append_and_wait(json::object{{"action", "test.entry"}, {"n", i}});
    checkpoint_everything();
    std::string t = auditor();
    first_ = get(t, "/api/v1/audit/export?from=2020-01-01&limit=3");
    ASSERT_EQ(first_.http_status, 200) << first_.body;
    link_ = header(first_, "Link");
    ASSERT_FALSE(link_.empty());
    second_ = get(t, link_.substr(1, link_.find('>') - 1));
    ASSERT_EQ(second_.http_status, 200) << second_.body;
  }
  net::HttpResponse first_, second_;
  std::string link_;
};

TEST_F(ApiAuditExport, APageIsTheCliFormatWithProofsAndThePagesShareOneCheckpoint) {
  export_two_pages();
  EXPECT_EQ(header(first_, "Content-Type"), "application/jsonl");
  std::vector<std::string> page = lines(first_.body);
  ASSERT_EQ(page.size(), 4u);
  json::value head = json::parse(page[0]);
  EXPECT_EQ(head.at("from"), "2020-01-01T00:00:00.000000Z");
  EXPECT_EQ(head.at("limit"), 3);
  std::string note(head.at("checkpoint").as_string());
  EXPECT_EQ(note.rfind("branchline/audit\n", 0), 0u);
  std::vector<std::int64_t> seqs;
  for (std::size_t i = 1; i < page.size(); ++i) {
    json::value line = json::parse(page[i]);
    seqs.push_back(line.at("seq").as_int64());
    EXPECT_TRUE(line.at("proof").is_array());
    EXPECT_EQ(json::parse(line.at("entry").as_string()).at("seq"), line.at("seq"));  // the canonical text, as hashed
  }
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3}));
  // The next page: the same criteria, the same tree (fixed by this page), after seq 3.
  std::string size = note.substr(note.find('\n') + 1, note.find('\n', note.find('\n') + 1) - note.find('\n') - 1);
  EXPECT_EQ(link_, "</api/v1/audit/export?from=2020-01-01&limit=3&tree_size=" + size + "&after=3>; rel=\"next\"");
  EXPECT_FALSE(header(first_, "X-Decision-Id").empty());

  std::vector<std::string> page2 = lines(second_.body);
  ASSERT_GE(page2.size(), 2u);
  EXPECT_EQ(json::parse(page2[0]).at("checkpoint"), json::value(note));  // against the same checkpoint
  EXPECT_EQ(json::parse(page2[0]).at("after"), 3);
  EXPECT_EQ(json::parse(page2[1]).at("seq"), 4);

  json::object decided = decision_entry(json::value(header(first_, "X-Decision-Id")));
  ASSERT_FALSE(decided.empty());
  EXPECT_EQ(decided.at("decision").at("action"), "audit.ledger.export");
  EXPECT_EQ(decided.at("resource").at("criteria"), (json::object{{"from", "2020-01-01"}, {"limit", "3"}}));
  // A tree size with no checkpoint is the client's mistake.
  EXPECT_EQ(get(auditor(), "/api/v1/audit/export?tree_size=999999").http_status, 400);
}

// A query that finds the archive's queue full is told to come back (503, Retry-After), after its
// decision is on the record like any other.
TEST_F(ApiAudit, WhenTheArchiveIsBusyAQueryIs503WithRetryAfter) {
  serve();
  std::latch running(1), release(1);
  auto nothing = [](const std::string&) {};
  ASSERT_TRUE(archive_->run(
      [&](audit::LedgerReader&) {
        running.count_down();
        release.wait();
      },
      nothing));
  running.wait();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(archive_->run([&](audit::LedgerReader&) { release.wait(); }, nothing));  // the queue, full
  net::HttpResponse r = get(auditor(), "/api/v1/audit/entries?action=policy.decide");
  release.count_down();
  EXPECT_EQ(r.http_status, 503) << r.body;
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_NE(r.body.find("too many audit reads"), std::string::npos) << r.body;
  std::vector<json::object> decided;  // durable before the archive was asked
  for (auto& e : entries("policy.decide"))
    if (e.at("decision").at("action") == "audit.ledger.query") decided.push_back(std::move(e));
  ASSERT_EQ(decided.size(), 1u);
  EXPECT_EQ(decided[0].at("decision").at("result"), "allow");
  EXPECT_EQ(get(auditor(), "/api/v1/audit/entries?action=policy.decide").http_status, 200);  // free again
}

// Until the ledger has signed its first checkpoint there is nothing an export could be checked
// against: 503 with Retry-After, not an empty or unsigned page.
TEST_F(ApiAudit, AnExportBeforeTheFirstCheckpointIs503WithRetryAfter) {
  std::filesystem::create_directories(data_dir_ / "fresh");
  audit::LedgerOptions options;
  options.checkpoint_interval = std::chrono::hours(1);  // no checkpoint during the test
  options.checkpoint_every = 1'000'000;
  std::shared_ptr<audit::Ledger> fresh = audit::Ledger::open(data_dir_ / "fresh" / "audit.db", options);
  archive_ = std::make_shared<api::AuditArchive>(data_dir_ / "fresh" / "audit.db");
  api::ApiContext context;
  context.audit_archive = archive_;
  start_api(std::nullopt, fresh, std::move(context));
  net::HttpResponse r = get(auditor(), "/api/v1/audit/export?from=2020-01-01");
  EXPECT_EQ(r.http_status, 503) << r.body;
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_EQ(header(r, "Content-Type"), "application/problem+json");
  EXPECT_NE(r.body.find("no signed checkpoint yet"), std::string::npos) << r.body;
  EXPECT_EQ(fresh->checkpointed(), 0u);
  EXPECT_GE(fresh->size(), 1u);  // the export's own decision was recorded all the same
}

// An implementation that is not ours (Go's sumdb/tlog and sumdb/note, tools/verify-export) agrees
// with each page's proofs and signature.
TEST_F(ApiAuditExport, TheGoVerifierAcceptsEachPage) {
#ifndef VERIFY_EXPORT_BIN
  GTEST_SKIP() << "branchline-verify-export is not built (Go or golang.org/x/mod missing; ./tests/run.sh installs them)";
#else
  export_two_pages();
  auto reader = audit::LedgerReader::open(data_dir_ / "audit.db");
  std::ofstream(data_dir_ / "key") << reader->verifier_key() << "\n";
  for (const auto& [name, text] : {std::pair{"page1.jsonl", first_.body}, std::pair{"page2.jsonl", second_.body}}) {
    std::ofstream(data_dir_ / name) << text;
    std::string command = std::string(VERIFY_EXPORT_BIN) + " -key " + (data_dir_ / "key").string() + " " +
                          (data_dir_ / name).string() + " > " + (data_dir_ / "verify.out").string() + " 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << name << ": " << std::ifstream(data_dir_ / "verify.out").rdbuf();
  }
  // And refuses a page whose entry was altered in transit.
  std::string altered = first_.body;
  altered.replace(altered.find("test.entry"), 10, "test.Entry");
  std::ofstream(data_dir_ / "altered.jsonl") << altered;
  std::string command = std::string(VERIFY_EXPORT_BIN) + " -key " + (data_dir_ / "key").string() + " " +
                        (data_dir_ / "altered.jsonl").string() + " > /dev/null 2>&1";
  EXPECT_NE(std::system(command.c_str()), 0);
#endif
}

TEST_F(ApiAudit, AnOperatorSeesTheHostAndItsPluginsHealthAndNobodyElseDoes) {
  // A real plugin set: a CRM that runs, and an optional instance whose library is missing.
  config::HostConfig cfg = config::load_config_text(
      "branchline: 1\nnode: {id: node-1, environment: development, region: north, data_dir: " + data_dir_.string() + "}\n"
      "plugins:\n"
      "  - {id: crm, plugin: crm-sqlite, kind: crm, settings: {seed_demo_data: true}}\n"
      "  - {id: missing, plugin: no-such-plugin, kind: crm, optional: true, settings: {}}\n",
      "status.yaml");
  host::HostEnvironment env = env_;
  std::unique_ptr<host::PluginSet> plugins = host::PluginSet::start(cfg, env, {REFERENCE_PLUGIN_DIR});
  // The status board branchlined serves, over this plugin set and the real ledger.
  auto board = std::make_shared<host::StatusBoard>(std::static_pointer_cast<const audit::Ledger>(env_.audit),
                                                   [&] { return std::string(plugins->degraded() ? "degraded" : "ok"); });
  board->facts({{"node", "node-1"}, {"environment", "development"}, {"region", "north"}, {"started_at", "2026-11-24T10:00:00Z"}});
  board->attach(plugins.get());
  serve([board] { return board->status(); });
  std::uint64_t size_before = ledger().append_and_wait(json::object{{"action", "test.entry"}});

  json::object claims = idp_.claims("operator-1");
  claims["roles"] = json::array{"operator"};
  net::HttpResponse r = get(idp_.token(claims), "/api/v1/status");
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  json::value body = json::parse(r.body);
  EXPECT_EQ(body.at("status"), "degraded");
  const json::array& list = body.at("plugins").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("id"), "crm");
  EXPECT_EQ(list[0].at("state"), "loaded");
  EXPECT_EQ(list[0].at("health").at("status"), "ok");
  EXPECT_EQ(list[0].at("calls_in_flight"), 0);
  EXPECT_EQ(list[1].at("state"), "failed");
  EXPECT_FALSE(list[1].as_object().contains("health"));
  EXPECT_FALSE(body.at("decision_id").as_string().empty());
  // Everything the OpenAPI document says a status has.
  for (const char* member : {"node", "environment", "region", "status", "started_at", "plugins", "ledger", "decision_id"})
    EXPECT_TRUE(body.as_object().contains(member)) << member;
  EXPECT_GE(body.at("ledger").at("size").as_int64(), static_cast<std::int64_t>(size_before));
  EXPECT_TRUE(body.at("ledger").as_object().contains("checkpointed"));

  EXPECT_EQ(get(idp_.token(), "/api/v1/status").http_status, 403);  // an advisor
  EXPECT_EQ(get(auditor(), "/api/v1/status").http_status, 403);
  std::vector<std::string> results;
  for (auto& e : entries("policy.decide"))
    if (e.at("decision").at("action") == "host.status.read") {
      results.emplace_back(e.at("decision").at("result").as_string());
      EXPECT_EQ(e.at("resource"), (json::object{{"type", "host"}, {"id", "node-1"}}));
    }
  EXPECT_EQ(results, (std::vector<std::string>{"allow", "deny", "deny"}));
  api_->shutdown(std::chrono::milliseconds(500));
  api_.reset();
  board->attach(nullptr);
  plugins->shutdown();
}

// The archive itself: one reader thread, a bounded queue, failures reported, nothing left hanging.
TEST(AuditArchive, ABoundedQueueRefusesBeyondItAndEveryQueuedJobIsAnsweredAtTheEnd) {
  auto dir = std::filesystem::temp_directory_path() / ("branchline-archive-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  audit::Ledger::open(dir / "audit.db")->append_and_wait(json::object{{"action", "test.entry"}});
  std::latch running(1), release(1);
  std::atomic<int> ran{0}, failed{0};
  {
    api::AuditArchive archive(dir / "audit.db", 2);
    bool first = archive.run(
        [&](audit::LedgerReader& reader) {
          EXPECT_FALSE(reader.verifier_key().empty());
          running.count_down();
          release.wait();
          ++ran;
        },
        [&](const std::string&) { ++failed; });
    EXPECT_TRUE(first);
    if (first) running.wait();  // the first job holds the reader thread
    for (int i = 0; i < 2; ++i) EXPECT_TRUE(archive.run([&](audit::LedgerReader&) { ++ran; }, [&](const std::string&) { ++failed; }));
    EXPECT_FALSE(archive.run([&](audit::LedgerReader&) { ++ran; }, [&](const std::string&) { ++failed; }));  // full
    release.count_down();  // never left waiting, whatever failed above
    archive.stop();
    EXPECT_FALSE(archive.run([&](audit::LedgerReader&) { ++ran; }, [&](const std::string&) { ++failed; }));  // stopped
  }
  // The running job finished; the queued ones ran or, at the stop, were answered as failed: none lost.
  EXPECT_EQ(ran + failed, 3);
  EXPECT_GE(ran, 1);

  // A ledger that is not there is a failure with the reason, not a crash; the next job opens it
  // afresh and runs once it is there.
  {
    api::AuditArchive archive(dir / "later.db");
    std::promise<std::string> reason;
    ASSERT_TRUE(archive.run([](audit::LedgerReader&) { ADD_FAILURE() << "ran without a ledger"; },
                            [&](const std::string& why) { reason.set_value(why); }));
    EXPECT_NE(reason.get_future().get().find("later.db"), std::string::npos);
    audit::Ledger::open(dir / "later.db")->append_and_wait(json::object{{"action", "test.entry"}});
    std::promise<std::uint64_t> last;
    ASSERT_TRUE(archive.run([&](audit::LedgerReader& reader) { last.set_value(reader.last_seq()); },
                            [&](const std::string& why) { last.set_exception(std::make_exception_ptr(std::runtime_error(why))); }));
    EXPECT_GE(last.get_future().get(), 1u);
    // A job that throws something that is not an exception does not take the thread down.
    std::promise<std::string> odd;
    ASSERT_TRUE(archive.run([](audit::LedgerReader&) { throw 42; }, [&](const std::string& why) { odd.set_value(why); }));
    EXPECT_EQ(odd.get_future().get(), "an unknown error");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace branchline::test
