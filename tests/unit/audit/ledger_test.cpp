// ledger: durable appends with group commit, tree heads, and verification that names the first
// bad sequence number for each kind of tampering.
#include "audit/ledger.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>
#include <unistd.h>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bl-ledger-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    file_ = dir_ / "ledger.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void fill(std::uint64_t n) {
    auto ledger = Ledger::open(file_);
    for (std::uint64_t i = 0; i < n; ++i)
      ledger->append_and_wait(boost::json::object{{"action", "crm.lookup"}, {"n", i}});
  }
  // Tampering as someone with the sqlite3 shell would do it.
  void sql(const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_close(db);
  }

  fs::path dir_, file_;
};

TEST(Frontier, RootEqualsTheTreeRootAtEverySizeAndSurvivesSerialisation) {
  Frontier f;
  std::vector<Hash> leaves;
  EXPECT_EQ(f.root(), empty_root());
  for (int i = 0; i < 100; ++i) {
    leaves.push_back(leaf_hash(std::to_string(i)));
    f.append(leaves.back());
    ASSERT_EQ(f.root(), root(leaves)) << i + 1;
    auto copy = Frontier::parse(f.serialize());
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->root(), f.root());
    EXPECT_EQ(copy->size(), f.size());
  }
  EXPECT_FALSE(Frontier::parse("short"));
  std::string bad = f.serialize();
  bad.pop_back();
  EXPECT_FALSE(Frontier::parse(bad));
}

TEST_F(LedgerTest, ConcurrentAppendsAreAllAcknowledgedOnceWithUniqueSequenceNumbers) {
  auto ledger = Ledger::open(file_);
  constexpr int kThreads = 8, kEach = 50;
  std::atomic<int> acked{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::promise<bl_status> done;
        ledger->append(boost::json::object{{"action", "test"}, {"thread", t}, {"i", i}},
                       [&done](bl_status s) { done.set_value(s); });
        (done.get_future().get() == BL_OK ? acked : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acked.load(), kThreads * kEach);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(ledger->size(), static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_LE(ledger->commits(), static_cast<std::uint64_t>(kThreads * kEach));
  Hash root_before = ledger->root();
  ledger.reset();
  VerifyReport report = verify_ledger(file_);
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.entries, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(report.root, root_before);
  // Reopened, it continues where it was.
  auto again = Ledger::open(file_);
  EXPECT_EQ(again->root(), root_before);
  EXPECT_EQ(again->append_and_wait(boost::json::object{{"action", "after"}}), static_cast<std::uint64_t>(kThreads * kEach + 1));
}

TEST_F(LedgerTest, AnEntryThatCannotBeCanonicalisedTakesNoSequenceNumber) {
  auto ledger = Ledger::open(file_);
  ledger->append_and_wait(boost::json::object{{"action", "first"}});
  EXPECT_THROW(ledger->append_and_wait(boost::json::object{{"big", std::int64_t{1} << 60}}), std::invalid_argument);
  EXPECT_EQ(ledger->append_and_wait(boost::json::object{{"action", "second"}}), 2u);
  ledger.reset();
  EXPECT_TRUE(verify_ledger(file_).intact);
}

TEST_F(LedgerTest, EntriesCarryTheirSequenceNumberAndTime) {
  fill(3);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT canonical FROM entries WHERE seq = 2", -1, &s, nullptr);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  std::string text(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  sqlite3_finalize(s);
  sqlite3_close(db);
  boost::json::value v = boost::json::parse(text);
  EXPECT_EQ(v.at("seq").as_int64(), 2);
  EXPECT_EQ(v.at("time").as_string().size(), 27u);  // 2026-11-24T10:00:00.123456Z
  EXPECT_EQ(text.find(' '), std::string::npos);     // canonical: no whitespace
}

TEST_F(LedgerTest, AnEditedRowIsNamed) {
  fill(100);
  sql("UPDATE entries SET canonical = replace(canonical, 'crm.lookup', 'crm.looked') WHERE seq = 37");
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.first_bad, 37u);
  EXPECT_NE(r.problem.find("altered"), std::string::npos) << r.problem;
}

TEST_F(LedgerTest, ADeletedRowIsNamed) {
  fill(100);
  sql("DELETE FROM entries WHERE seq = 50");
  VerifyReport r = verify_ledger(file_);
  EXPECT_EQ(r.first_bad, 50u);
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

TEST_F(LedgerTest, TheLastRowsDeletedAreNamed) {
  fill(100);
  sql("DELETE FROM entries WHERE seq > 95");
  VerifyReport r = verify_ledger(file_);
  EXPECT_EQ(r.first_bad, 96u);
}

TEST_F(LedgerTest, TwoSwappedRowsAreNamed) {
  fill(100);
  sql("UPDATE entries SET seq = -10 WHERE seq = 10; UPDATE entries SET seq = 10 WHERE seq = 11;"
      "UPDATE entries SET seq = 11 WHERE seq = -10;");
  VerifyReport r = verify_ledger(file_);
  EXPECT_EQ(r.first_bad, 10u);
  EXPECT_NE(r.problem.find("out of place"), std::string::npos) << r.problem;
}

TEST_F(LedgerTest, ARowRewrittenWithItsLeafHashIsCaughtByTheTreeHead) {
  fill(100);
  // The careful forger recomputes the leaf hash of the edited text; the tree heads still disagree.
  Hash forged = leaf_hash(R"({"action":"nothing","n":59,"seq":60,"time":"2026-01-01T00:00:00.000000Z"})");
  std::string hex = to_hex(forged);
  sql("UPDATE entries SET canonical = '{\"action\":\"nothing\",\"n\":59,\"seq\":60,\"time\":\"2026-01-01T00:00:00.000000Z\"}',"
      " leaf = x'" + hex + "' WHERE seq = 60");
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  ASSERT_TRUE(r.first_bad);
  EXPECT_LE(*r.first_bad, 60u);
  EXPECT_NE(r.problem.find("tree head"), std::string::npos) << r.problem;
}

TEST_F(LedgerTest, ATruncatedFileIsReportedNotCrashedOn) {
  fill(200);
  fs::resize_file(file_, fs::file_size(file_) / 2);
  fs::remove(file_.string() + "-wal");
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  EXPECT_FALSE(r.problem.empty());
  EXPECT_FALSE(verify_ledger(dir_ / "absent.db").intact);
}

}  // namespace
}  // namespace branchline::audit
