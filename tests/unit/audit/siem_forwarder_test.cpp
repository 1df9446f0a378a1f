// siem_forwarder against a collector that speaks Splunk's HEC protocol (tests/support): every entry
// arrives, acknowledged, with its ledger index and no personal data; a busy collector, a lost
// acknowledgement, a wrong token, an unreachable collector and a restart lose nothing.
#include "../../support/hec_test_server.hpp"
#include "../../support/rsyslog_receiver.hpp"
#include "../app/process.hpp"
#include "audit/ledger.hpp"
#include "audit/siem_forwarder.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <unistd.h>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;
using test::HecTestServer;

using test::eventually;

class Forwarding : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bl-siem-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    LedgerOptions options;
    options.checkpoint_every = 50;
    ledger_ = Ledger::open(dir_ / "audit.db", options);
  }
  void TearDown() override {
    ledger_.reset();
    fs::remove_all(dir_);
  }

  void append(int n, const std::string& canary = "") {
    for (int i = 0; i < n; ++i) {
      boost::json::object e{{"action", "crm.customer.read"},
                            {"actor", {{"principal", "idp|ann"}, {"role", "advisor"}}},
                            {"resource", {{"type", "customer"}, {"customer", "c-" + std::to_string(i % 7)}}},
                            {"outcome", "success"}};
      if (!canary.empty()) e["personal"] = {{"name", canary}};
      ledger_->append_and_wait(std::move(e));
    }
  }

  HecOptions options(const HecTestServer& hec) {
    HecOptions o;
    o.url = hec.url();
    o.token = "test-token";
    o.channel = "6f1a3c2e-0b7d-4e59-9a0c-2f1d5b8e7a10";
    o.host = "node-1";
    o.origin = "bank/audit";
    o.batch_max = 50;
    o.poll = std::chrono::milliseconds(20);
    o.ack_poll = std::chrono::milliseconds(10);
    o.ack_timeout = std::chrono::milliseconds(2000);
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(100);
    o.policy.allow_plain_http = true;  // the test collector on loopback; production is https
    return o;
  }

  std::unique_ptr<SiemForwarder> forward(const HecOptions& o) {
    return SiemForwarder::start(dir_ / "audit.db", dir_ / "siem.position", o, http_);
  }

  std::string position() {
    std::ifstream in(dir_ / "siem.position");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
  std::unique_ptr<Ledger> ledger_;
  std::shared_ptr<net::HttpClient> http_ = std::make_shared<net::HttpClient>();
};

TEST_F(Forwarding, EveryEntryArrivesAcknowledgedWithItsLedgerIndexAndNoPersonalData) {
  HecTestServer hec;
  append(120, "CANARY-siem-51e2");
  auto f = forward(options(hec));
  const std::uint64_t size = ledger_->size();
  ASSERT_TRUE(eventually([&] { return f->status().delivered == size; })) << f->status().last_error;
  std::set<std::uint64_t> want;
  for (std::uint64_t i = 1; i <= size; ++i) want.insert(i);
  EXPECT_EQ(hec.ledger_indexes(), want);
  EXPECT_EQ(hec.raw().find("CANARY-siem-51e2"), std::string::npos) << "personal data reached the SIEM";
  // OCSF, with what a SIEM needs to drop duplicates.
  auto events = hec.events();
  const auto& first = events.front();
  EXPECT_EQ(first.at("sourcetype"), "branchline:ocsf");
  EXPECT_EQ(first.at("host"), "node-1");
  EXPECT_EQ(first.at("event").at("class_uid"), 6003);
  EXPECT_EQ(first.at("event").at("metadata").at("uid"), "bank/audit:1");
  // The signed checkpoints went too, once the entries they cover had.
  std::size_t checkpoints = 0;
  for (const auto& e : events)
    if (e.at("sourcetype") == "branchline:ocsf:checkpoint") {
      ++checkpoints;
      EXPECT_NE(std::string(e.at("event").at("checkpoint").as_string()).find("\n\n\xE2\x80\x94 "), std::string::npos);
    }
  EXPECT_GE(checkpoints, 2u);
  EXPECT_NE(position().find("\"delivered\":" + std::to_string(size)), std::string::npos) << position();
  // New entries follow.
  append(10);
  ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); }));
}

TEST_F(Forwarding, ABusyCollectorIsRetriedWithBackoffAndNothingIsSkipped) {
  HecTestServer hec;
  hec.busy_next = 3;
  append(60);
  auto f = forward(options(hec));
  ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); })) << f->status().last_error;
  EXPECT_GE(f->status().failures, 3u);
  EXPECT_EQ(hec.ledger_indexes().size(), ledger_->size());
}

TEST_F(Forwarding, ALostAcknowledgementSendsTheBatchAgainAndDuplicatesCarryTheirIndex) {
  HecTestServer hec;
  hec.lose_acks_next = 1;
  append(30);
  HecOptions o = options(hec);
  o.ack_timeout = std::chrono::milliseconds(200);
  auto f = forward(o);
  ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); })) << f->status().last_error;
  EXPECT_GE(f->status().resends, 1u);
  EXPECT_GT(hec.events().size(), static_cast<std::size_t>(ledger_->size()));  // the batch came twice
  EXPECT_EQ(hec.ledger_indexes().size(), ledger_->size());                     // and dedupes to one each
}

TEST_F(Forwarding, AWrongTokenOrAnUnreachableCollectorIsRetriedNeverSkipped) {
  HecTestServer hec;
  append(10);
  HecOptions bad = options(hec);
  bad.token = "wrong";
  {
    auto f = forward(bad);
    ASSERT_TRUE(eventually([&] { return f->status().failures >= 2; }));
    EXPECT_EQ(f->status().delivered, 0u);
    EXPECT_NE(f->status().last_error.find("401"), std::string::npos) << f->status().last_error;
    EXPECT_EQ(f->status().last_error.find("wrong"), std::string::npos);  // the token is never repeated
  }
  HecOptions nowhere = options(hec);
  nowhere.url = "http://127.0.0.1:1";
  {
    auto f = forward(nowhere);
    ASSERT_TRUE(eventually([&] { return f->status().failures >= 2; }));
    EXPECT_EQ(f->status().delivered, 0u);
  }
  EXPECT_TRUE(hec.events().empty());
  auto f = forward(options(hec));  // fixed: everything from entry 1
  ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); }));
  EXPECT_EQ(hec.ledger_indexes().size(), ledger_->size());
}

TEST_F(Forwarding, ACollectorThatHangsTimesOutAndIsRetriedUntilItAnswers) {
  HecTestServer hec;
  hec.stall_ms = 1000;  // longer than the request timeout below
  append(20);
  HecOptions o = options(hec);
  o.policy.default_timeout = std::chrono::milliseconds(200);
  auto f = forward(o);
  ASSERT_TRUE(eventually([&] { return f->status().failures >= 1; }));
  EXPECT_EQ(f->status().delivered, 0u);
  hec.stall_ms = 0;
  ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); })) << f->status().last_error;
  EXPECT_EQ(hec.ledger_indexes().size(), ledger_->size());
}

TEST_F(Forwarding, AfterAStopItResumesFromWhatTheCollectorAcknowledged) {
  HecTestServer hec;
  append(40);
  {
    auto f = forward(options(hec));
    ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); }));
  }
  std::size_t before = hec.events().size();
  append(25);
  auto f = forward(options(hec));
  ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); }));
  auto events = hec.events();
  // Nothing acknowledged was sent again; nothing after it was skipped.
  for (std::size_t i = before; i < events.size(); ++i) {
    if (auto* index = events[i].at("fields").as_object().if_contains("ledger_index")) {
      EXPECT_GT(std::stoull(std::string(index->as_string())), 40u);  // 40 were acknowledged before
    }
  }
  EXPECT_EQ(hec.ledger_indexes().size(), ledger_->size());
}

// ---- RFC 5425: syslog over TLS, into Debian's rsyslogd ----

class SyslogForwarding : public Forwarding {
 protected:
  void SetUp() override {
    Forwarding::SetUp();
    if (!test::rsyslog_available()) GTEST_SKIP() << "rsyslogd is not installed (./tests/run.sh installs rsyslog-gnutls)";
    ASSERT_TRUE(test::make_test_pki(dir_));
    ASSERT_TRUE(test::make_test_pki(dir_, "other"));  // a CA the receiver does not trust
  }
  SyslogOptions syslog(unsigned short port, const std::string& client = "client") {
    SyslogOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.ca_file = (dir_ / "ca.pem").string();
    o.cert_file = (dir_ / (client + ".pem")).string();
    o.key_file = (dir_ / (client + ".key")).string();
    o.hostname = "node-1";
    o.origin = "bank/audit";
    o.batch_max = 25;
    o.poll = std::chrono::milliseconds(20);
    o.backoff_initial = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(100);
    return o;
  }
  // How many times each ledger index is in what rsyslog wrote.
  static std::map<std::uint64_t, int> indexes(const std::string& received) {
    std::map<std::uint64_t, int> out;
    std::istringstream in(received);
    for (std::string line; std::getline(in, line);) {
      auto at = line.find("[ledger@32473 index=\"");
      if (at != std::string::npos) ++out[std::stoull(line.substr(at + 21))];
    }
    return out;
  }
};

TEST_F(SyslogForwarding, RsyslogReceivesEveryEntryExactlyOnceOverMutualTls) {
  test::RsyslogReceiver rsyslog(dir_);
  ASSERT_TRUE(rsyslog.running()) << rsyslog.log();
  append(100, "CANARY-syslog-93c0");
  {
    auto f = SiemForwarder::start_syslog(dir_ / "audit.db", dir_ / "syslog.position", syslog(rsyslog.port()));
    ASSERT_TRUE(eventually([&] { return indexes(rsyslog.received()).size() == ledger_->size(); }))
        << f->status().last_error << rsyslog.log();
  }  // an orderly stop: the position becomes current
  auto got = indexes(rsyslog.received());
  for (std::uint64_t i = 1; i <= ledger_->size(); ++i) EXPECT_EQ(got[i], 1) << "entry " << i;
  std::string received = rsyslog.received();
  EXPECT_EQ(received.find("CANARY-syslog-93c0"), std::string::npos) << "personal data reached the SIEM";
  // RFC 5424 as sent: <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [SD] MSG
  EXPECT_NE(received.find("<110>1 "), std::string::npos);
  EXPECT_NE(received.find(" node-1 branchline - audit [ledger@32473 index=\"1\"] {"), std::string::npos);
  EXPECT_NE(received.find("[checkpoint@32473 size="), std::string::npos);
  // Restarted: syslog confirms nothing (rsyslog does not answer our close_notify), so the durable
  // position lags one batch and that last batch is sent again, and only it.
  {
    auto f = SiemForwarder::start_syslog(dir_ / "audit.db", dir_ / "syslog.position", syslog(rsyslog.port()));
    ASSERT_TRUE(eventually([&] { return f->status().delivered == ledger_->size(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto after = indexes(rsyslog.received());
  ASSERT_EQ(after.size(), ledger_->size());
  std::uint64_t resent = 0;
  for (const auto& [index, count] : after) {
    EXPECT_LE(count, 2) << index;
    if (count == 2) {
      ++resent;
      EXPECT_GT(index, ledger_->size() - 25) << "only the last, unconfirmed batch is sent again";
    }
  }
  EXPECT_LE(resent, 25u);
}

TEST_F(SyslogForwarding, AClientTheReceiverDoesNotTrustDeliversNothing) {
  test::RsyslogReceiver rsyslog(dir_);
  ASSERT_TRUE(rsyslog.running()) << rsyslog.log();
  append(10);
  auto f = SiemForwarder::start_syslog(dir_ / "audit.db", dir_ / "syslog.position", syslog(rsyslog.port(), "other-client"));
  ASSERT_TRUE(eventually([&] { return rsyslog.log().find("certificate") != std::string::npos || f->status().failures > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(indexes(rsyslog.received()).empty());
}

}  // namespace
}  // namespace branchline::audit
