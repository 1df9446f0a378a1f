// Real faults for the audit ledger:
//  - a process appending from many threads is killed with SIGKILL, five times, at different
//    moments; after each kill every acknowledged entry is in the ledger with the sequence number
//    it was acknowledged with, the ledger verifies (also against its published checkpoints), and
//    it reopens and goes on;
//  - the ledger's file system fills up during appends (a 4 MiB tmpfs mounted for the test): the
//    callers get an error, nothing acknowledged is lost, and once space is freed the same ledger
//    appends again, with no sequence number skipped.
#include "../support/scoped_tmpfs.hpp"
#include "../unit/app/process.hpp"

#include "audit/ledger.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

namespace branchline::test {
namespace {

namespace fs = std::filesystem;

struct Acked {
  int round, writer;
  std::int64_t n;
};

std::map<std::uint64_t, Acked> acknowledged(const std::string& out) {
  std::map<std::uint64_t, Acked> acks;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string word;
    std::uint64_t seq;
    Acked a{};
    if (words >> word >> seq >> a.round >> a.writer >> a.n && word == "acked") acks[seq] = a;
  }
  return acks;
}

std::map<std::uint64_t, std::string> entries(const fs::path& db_file) {
  std::map<std::uint64_t, std::string> out;
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT seq, canonical FROM entries", -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW)
    out[static_cast<std::uint64_t>(sqlite3_column_int64(s, 0))] = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST(LedgerFault, EveryAcknowledgedEntrySurvivesSigkillAndTheLedgerVerifies) {
  fs::path dir = fs::temp_directory_path() / ("branchline-ledger-fault-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db = dir / "audit.db", published = dir / "checkpoints";
  std::mt19937 random(20261124);
  std::map<std::uint64_t, Acked> all;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Process writer({LEDGER_DRIVER, db.string(), published.string(), std::to_string(round), "8"},
                   dir / ("run" + std::to_string(round)));
    // Kill it at a different moment each round: after some hundreds of acknowledgements, plus a
    // random delay of up to 20 ms so that the kill lands anywhere in a commit.
    std::size_t target = 200 + random() % 800;
    ASSERT_TRUE(eventually([&] { return acknowledged(writer.out()).size() >= target; })) << writer.err();
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 20000));
    writer.signal(SIGKILL);
    ASSERT_EQ(writer.wait(), 128 + SIGKILL);

    auto acks = acknowledged(writer.out());
    auto stored = entries(db);
    RecordProperty("acknowledged_round_" + std::to_string(round), static_cast<int>(acks.size()));
    ASSERT_GE(acks.size(), target);
    for (const auto& [seq, a] : acks) {
      auto it = stored.find(seq);
      ASSERT_NE(it, stored.end()) << "acknowledged entry " << seq << " is lost";
      auto e = boost::json::parse(it->second).as_object();
      ASSERT_EQ(e.at("round").as_int64(), a.round);
      ASSERT_EQ(e.at("writer").as_int64(), a.writer);
      ASSERT_EQ(e.at("n").as_int64(), a.n);
    }
    all.insert(acks.begin(), acks.end());
    // Entries acknowledged in earlier rounds are still there.
    for (const auto& [seq, a] : all) ASSERT_TRUE(stored.count(seq)) << seq;

    audit::VerifyReport r = audit::verify_ledger(db, {std::nullopt, published});
    ASSERT_TRUE(r.intact) << r.problem;
    EXPECT_GE(r.entries, acks.rbegin()->first);
    EXPECT_GT(r.checkpoints_checked, 0u);
  }
  fs::remove_all(dir);
}

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tmpfs_.mounted()) {
      if (tmpfs_.permission_denied())
        GTEST_SKIP() << "mounting a tmpfs needs CAP_SYS_ADMIN; ./tests/run.sh runs as root and has it";
      FAIL() << "mount tmpfs: " << tmpfs_.error();
    }
    mount_ = tmpfs_.path();
  }
  test::ScopedTmpfs tmpfs_{fs::temp_directory_path() / ("branchline-full-" + std::to_string(::getpid())), "4m"};
  fs::path mount_;
};

TEST_F(DiskFull, AppendsFailCleanlyNothingAcknowledgedIsLostAndAppendsResumeWhenSpaceReturns) {
  const fs::path db = mount_ / "audit.db";
  auto ledger = audit::Ledger::open(db);
  tmpfs_.fill_leaving(1024 * 1024);  // about 1 MiB free
  const std::string payload(2000, 'p');
  std::vector<std::uint64_t> acked;
  bool failed = false;
  for (int i = 0; i < 5000 && !failed; ++i) {
    try {
      acked.push_back(ledger->append_and_wait(boost::json::object{{"action", "fill"}, {"i", i}, {"payload", payload}}));
    } catch (const std::runtime_error&) {
      failed = true;  // the caller is told; nothing is acknowledged
    }
  }
  ASSERT_TRUE(failed) << "the file system never filled up";
  ASSERT_GE(acked.size(), 20u) << "the test should fill the disk after some appends, not at once";
  RecordProperty("acknowledged_before_full", static_cast<int>(acked.size()));
  // The failed append took no sequence number: the tree is as the last acknowledgement left it.
  EXPECT_EQ(ledger->size(), acked.back());

  fs::remove(mount_ / "filler");
  EXPECT_EQ(ledger->append_and_wait(boost::json::object{{"action", "space again"}}), acked.back() + 1);
  ledger.reset();

  audit::VerifyReport r = audit::verify_ledger(db);
  ASSERT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.entries, acked.back() + 1);
  auto stored = entries(db);
  for (std::size_t i = 0; i < acked.size(); ++i) {
    ASSERT_TRUE(stored.count(acked[i])) << acked[i];
    EXPECT_EQ(boost::json::parse(stored[acked[i]]).at("i").as_int64(), static_cast<std::int64_t>(i));
  }
}

}  // namespace
}  // namespace branchline::test
