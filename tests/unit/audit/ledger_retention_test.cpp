// The ledger's retention, legal holds and crypto-shredding: purged payloads and erased keys are
// gone from the files (database and WAL, read as raw bytes), and the ledger still verifies.
#include "../../support/ledger_entries.hpp"
#include "audit/ledger.hpp"
#include "audit/personal_keys.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;

std::string raw(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class LedgerRetention : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bl-retention-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    file_ = dir_ / "audit.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Every file the ledger keeps, as raw bytes: the database, its WAL, the key store and its WAL.
  std::string all_files() {
    std::string out;
    for (const auto& e : fs::directory_iterator(dir_)) out += raw(e.path());
    return out;
  }
  std::vector<std::string> actions(const fs::path& file) {
    std::vector<std::string> out;
    sqlite3* db = nullptr;
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT json_extract(canonical, '$.action') FROM entries WHERE purged IS NULL ORDER BY seq", -1, &s,
                       nullptr);
    while (sqlite3_step(s) == SQLITE_ROW)
      out.emplace_back(sqlite3_column_text(s, 0) ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0)) : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }

  fs::path dir_, file_;
};

boost::json::object old_entry(const std::string& retention, const std::string& text, const std::string& customer = "c-1") {
  return boost::json::object{{"action", "crm.lookup"},
                             {"time", "2020-01-01T00:00:00.000000Z"},
                             {"retention", retention},
                             {"resource", {{"type", "customer"}, {"customer", customer}}},
                             {"note", text}};
}

TEST_F(LedgerRetention, ExpiredPayloadsArePurgedFromTheFilesAndTheTreeStillVerifies) {
  const std::string canary = "CANARY-purge-7f3a9c";
  std::uint64_t canary_seq = 0;
  {
    auto ledger = Ledger::open(file_);
    for (int i = 0; i < 10; ++i) ledger->append_and_wait(old_entry("standard", "old " + std::to_string(i)));
    canary_seq = ledger->append_and_wait(old_entry("standard", canary));
    for (int i = 0; i < 5; ++i) ledger->append_and_wait(old_entry("regulated", "kept " + std::to_string(i)));
    ledger->append_and_wait(boost::json::object{{"action", "recent"}});
    ASSERT_NE(all_files().find(canary), std::string::npos);  // the test can see it before

    PurgeReport r = ledger->purge_expired();
    EXPECT_EQ(r.purged, 11u);  // 2020 standard entries; 2020 + 7 years of regulated is not over
    EXPECT_TRUE(r.wal_truncated);
    EXPECT_EQ(ledger->purge_expired().purged, 0u);
    // Even long after every class has run out, the purge records themselves stay.
    EXPECT_EQ(ledger->purge_expired(std::chrono::system_clock::now() + std::chrono::years(20)).purged, 6u);
  }
  EXPECT_EQ(all_files().find(canary), std::string::npos) << "purged bytes survive in the files";
  VerifyReport v = verify_ledger(file_);
  ASSERT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.purged, 17u);  // 11, then the 6 left, 20 years on
  // The purged entry's place is still proven; the purges themselves are on record.
  InclusionProof p = LedgerReader::open(file_)->prove_inclusion(canary_seq);
  EXPECT_TRUE(p.purged);
  EXPECT_TRUE(verify_inclusion(p.leaf, canary_seq - 1, p.tree.size, p.proof, p.tree.root));
  auto a = actions(file_);
  EXPECT_EQ(std::count(a.begin(), a.end(), "audit.purge"), 2);
}

TEST_F(LedgerRetention, AnEntryEmptiedByHandIsNotTakenForAPurge) {
  {
    auto ledger = Ledger::open(file_);
    for (int i = 0; i < 10; ++i) ledger->append_and_wait(old_entry("standard", "x"));
    ledger->append_and_wait(boost::json::object{{"action", "recent"}, {"resource", {{"customer", "c-9"}}}});
  }
  sqlite3* db = nullptr;
  sqlite3_open(file_.c_str(), &db);
  sqlite3_exec(db, "UPDATE entries SET canonical = '', purged = '2026-01-01T00:00:00.000000Z' WHERE seq = 11", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.first_bad, 11u);
  EXPECT_NE(r.problem.find("no audit.purge record names it"), std::string::npos) << r.problem;
}

TEST_F(LedgerRetention, ALegalHoldStopsPurgingUntilReleasedAndIsAudited) {
  auto ledger = Ledger::open(file_);
  for (int i = 0; i < 4; ++i) ledger->append_and_wait(old_entry("standard", "held", "c-held"));
  for (int i = 0; i < 3; ++i) {
    auto e = old_entry("standard", "in consultation", "c-2");
    e["resource"].as_object()["consultation"] = "k-77";
    ledger->append_and_wait(e);
  }
  auto ranged = old_entry("standard", "in range", "c-3");
  ranged["time"] = "2020-06-01T00:00:00.000000Z";
  ledger->append_and_wait(ranged);
  ledger->append_and_wait(old_entry("standard", "free", "c-4"));

  std::uint64_t by_customer = ledger->place_hold({"c-held", std::nullopt, std::nullopt, std::nullopt, "litigation 2026-17", "counsel:ann"});
  ledger->place_hold({std::nullopt, "k-77", std::nullopt, std::nullopt, "complaint 991", "counsel:ann"});
  ledger->place_hold({std::nullopt, std::nullopt, "2020-05-01", "2020-07-01", "examination", "counsel:ann"});
  EXPECT_THROW(ledger->place_hold({}), std::invalid_argument);

  EXPECT_EQ(ledger->purge_expired().purged, 1u);  // only c-4's entry is free
  EXPECT_TRUE(ledger->release_hold(by_customer, "counsel:ann", "settled"));
  EXPECT_FALSE(ledger->release_hold(by_customer, "counsel:ann", "again"));
  EXPECT_EQ(ledger->purge_expired().purged, 4u);
  ledger.reset();
  auto a = actions(file_);
  EXPECT_EQ(std::count(a.begin(), a.end(), "audit.hold.place"), 3);
  EXPECT_EQ(std::count(a.begin(), a.end(), "audit.hold.release"), 1);
  EXPECT_TRUE(verify_ledger(file_).intact);
}

TEST_F(LedgerRetention, PurgingInBatchesLetsAppendsThrough) {
  LedgerOptions options;
  options.purge_batch = 10;
  auto ledger = Ledger::open(file_, options);
  for (int i = 0; i < 300; ++i) ledger->append_and_wait(old_entry("standard", "x"));
  std::atomic<bool> purging{true};
  std::atomic<int> appended{0};
  std::thread appender([&] {
    while (purging) {
      ledger->append_and_wait(boost::json::object{{"action", "during.purge"}});
      ++appended;
    }
  });
  while (appended == 0) std::this_thread::yield();  // the appender is running before the purge starts
  PurgeReport r = ledger->purge_expired();
  purging = false;
  appender.join();
  EXPECT_EQ(r.purged, 300u);
  EXPECT_EQ(r.batches, 30u);
  ledger.reset();
  // Appends were committed between purge batches, not held back until the pass ended.
  auto a = actions(file_);
  auto first_purge = std::find(a.begin(), a.end(), "audit.purge");
  auto last_purge = std::find(a.rbegin(), a.rend(), "audit.purge").base();
  EXPECT_NE(std::find(first_purge, last_purge, "during.purge"), last_purge);
  EXPECT_TRUE(verify_ledger(file_).intact);
}

TEST_F(LedgerRetention, ErasureShredsTheCustomersKeyAndTheLedgerStillVerifies) {
  const std::string canary = "CANARY-erase-2b81d0";
  std::uint64_t seq = 0, other = 0;
  {
    auto ledger = Ledger::open(file_);
    seq = ledger->append_and_wait(boost::json::object{
        {"action", "crm.profile.read"},
        {"resource", {{"type", "customer"}, {"customer", "c-9"}}},
        {"personal", {{"name", canary}, {"ip", "198.51.100.7"}}}});
    other = ledger->append_and_wait(boost::json::object{
        {"action", "crm.profile.read"},
        {"resource", {{"type", "customer"}, {"customer", "c-10"}}},
        {"personal", {{"name", "someone else"}}}});
    // Personal data without a customer to key it is refused.
    EXPECT_THROW(ledger->append_and_wait(boost::json::object{{"action", "x"}, {"personal", {{"a", 1}}}}),
                 std::invalid_argument);
  }
  // Sealed before it was hashed: never in the files in clear, readable with the key.
  EXPECT_EQ(all_files().find(canary), std::string::npos);
  EXPECT_NE(LedgerReader::open(file_)->personal(seq)->find(canary), std::string::npos);
  std::string wrapped_key = [&] {
    sqlite3* db = nullptr;
    sqlite3_open_v2((dir_ / "audit-keys.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT wrapped FROM keys WHERE customer = 'c-9'", -1, &s, nullptr);
    sqlite3_step(s);
    std::string out(static_cast<const char*>(sqlite3_column_blob(s, 0)), static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }();
  ASSERT_EQ(wrapped_key.size(), 60u);
  {
    auto ledger = Ledger::open(file_);
    EXPECT_EQ(ledger->erase_customer("c-9", "dpo:lee", "GDPR art. 17 request 2026-0042"), EraseResult::erased);
    EXPECT_EQ(ledger->erase_customer("c-nobody", "dpo:lee", "request"), EraseResult::no_key);
  }
  EXPECT_FALSE(LedgerReader::open(file_)->personal(seq));
  EXPECT_TRUE(LedgerReader::open(file_)->personal(other));  // another customer's data is untouched
  EXPECT_EQ(all_files().find(wrapped_key), std::string::npos) << "the erased key survives in a file";
  VerifyReport v = verify_ledger(file_);
  EXPECT_TRUE(v.intact) << v.problem;
  auto a = actions(file_);
  EXPECT_EQ(std::count(a.begin(), a.end(), "audit.erase"), 2);
}

TEST_F(LedgerRetention, ALegalHoldRefusesErasureAndTheRefusalIsAudited) {
  auto ledger = Ledger::open(file_);
  std::uint64_t seq = ledger->append_and_wait(boost::json::object{
      {"action", "x"}, {"resource", {{"type", "customer"}, {"customer", "c-5"}}}, {"personal", {{"n", "v"}}}});
  ledger->place_hold({"c-5", std::nullopt, std::nullopt, std::nullopt, "litigation", "counsel:ann"});
  EXPECT_EQ(ledger->erase_customer("c-5", "dpo:lee", "request"), EraseResult::held);
  ledger.reset();
  EXPECT_TRUE(LedgerReader::open(file_)->personal(seq));
  auto a = actions(file_);
  EXPECT_EQ(std::count(a.begin(), a.end(), "audit.erase"), 1);  // the refusal
}

TEST_F(LedgerRetention, AnErasureInterruptedAfterItsFirstPhaseIsFinishedAtTheNextOpen) {
  std::uint64_t seq = 0;
  {
    auto ledger = Ledger::open(file_);
    seq = ledger->append_and_wait(boost::json::object{
        {"action", "x"}, {"resource", {{"type", "customer"}, {"customer", "c-7"}}}, {"personal", {{"n", "v"}}}});
  }
  // As if the process died right after marking the key.
  PersonalKeys::open(dir_ / "audit-keys.db", dir_ / "audit-kek.key")->begin_erase("c-7");
  { auto ledger = Ledger::open(file_); }
  EXPECT_FALSE(LedgerReader::open(file_)->personal(seq));
  auto a = actions(file_);
  EXPECT_EQ(std::count(a.begin(), a.end(), "audit.erase"), 1);
  EXPECT_TRUE(PersonalKeys::open(dir_ / "audit-keys.db", dir_ / "audit-kek.key")->pending_erasures().empty());
}

TEST_F(LedgerRetention, AnInterruptedErasureIsNotCompletedUnderAHoldPlacedSince) {
  std::uint64_t seq = 0;
  {
    auto ledger = Ledger::open(file_);
    seq = ledger->append_and_wait(boost::json::object{
        {"action", "x"}, {"resource", {{"type", "customer"}, {"customer", "c-8"}}}, {"personal", {{"n", "v"}}}});
    ledger->place_hold({"c-8", std::nullopt, std::nullopt, std::nullopt, "litigation", "counsel:ann"});
  }
  PersonalKeys::open(dir_ / "audit-keys.db", dir_ / "audit-kek.key")->begin_erase("c-8");
  { auto ledger = Ledger::open(file_); }
  EXPECT_TRUE(LedgerReader::open(file_)->personal(seq));  // the key is live again
  EXPECT_TRUE(PersonalKeys::open(dir_ / "audit-keys.db", dir_ / "audit-kek.key")->pending_erasures().empty());
}

TEST_F(LedgerRetention, TimesAreRfc3339UtcOrTheEntryIsRefused) {
  auto ledger = Ledger::open(file_);
  EXPECT_THROW(ledger->append_and_wait(boost::json::object{{"action", "x"}, {"time", 5}}), std::invalid_argument);
  EXPECT_THROW(ledger->append_and_wait(boost::json::object{{"action", "x"}, {"time", "2026-01-01T10:00:00+01:00"}}),
               std::invalid_argument);
  EXPECT_THROW(ledger->append_and_wait(boost::json::object{{"action", "x"}, {"time", "2026-02-30T10:00:00Z"}}),
               std::invalid_argument);
  ledger->append_and_wait(boost::json::object{{"action", "x"}, {"time", "2026-01-01T10:00:00.5Z"}});
  ledger.reset();
  auto entries = test::ledger_entries(file_);
  EXPECT_EQ(entries.back().at("time"), "2026-01-01T10:00:00.500000Z");
}

TEST_F(LedgerRetention, ASecondWriterIsRefused) {
  auto ledger = Ledger::open(file_);
  try {
    Ledger::open(file_);
    ADD_FAILURE() << "a second writer opened the ledger";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another process"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace branchline::audit
