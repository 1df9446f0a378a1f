// ledger: durable appends with group commit, tree heads, and verification that names the first
// bad sequence number for each kind of tampering.
#include "audit/ledger.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
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

// The WAL is copied back by a thread of its own while the writer commits; the writer finishes
// the copy once the WAL passes 1000 pages, so that the WAL starts again from its beginning. A
// background checkpointer alone never catches up under steady load, and the WAL grew without end.
TEST_F(LedgerTest, TheWalStaysBoundedUnderSteadyLoad) {
  auto ledger = Ledger::open(file_);
  const fs::path wal = file_.string() + "-wal";
  constexpr int kThreads = 16, kEach = 1500;
  const std::string padding(600, 'x');  // ~1 KB per entry: without restarts the WAL reaches ~88 MB
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        ledger->append_and_wait(boost::json::object{{"action", "crm.customer.read"}, {"thread", t}, {"i", i}, {"note", padding}});
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ledger->size(), static_cast<std::uint64_t>(kThreads * kEach));
  // Nothing shrinks the file while the ledger is open: its size is the most the WAL held. About
  // 1000 pages of 4 KiB and the commits until the writer's checkpoint; never the whole history.
  const std::uintmax_t size = fs::file_size(wal);
  EXPECT_LT(size, std::uintmax_t{16} << 20) << "the WAL grew to " << size << " bytes";
  ledger.reset();
  VerifyReport report = verify_ledger(file_);
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.entries, static_cast<std::uint64_t>(kThreads * kEach));
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

TEST_F(LedgerTest, TheFirstEntryOfATimeIsFoundByBisection) {
  {
    auto ledger = Ledger::open(file_);
    for (int day = 1; day <= 9; ++day)
      ledger->append_and_wait(boost::json::object{{"action", "test.day"},
                                                  {"time", "2026-01-0" + std::to_string(day) + "T12:00:00.000000Z"}});
  }
  auto reader = LedgerReader::open(file_);
  std::uint64_t base = reader->first_seq_from("2026-01-01T00:00:00.000000Z");  // entries the ledger wrote itself come first
  EXPECT_EQ(reader->first_seq_from("2026-01-04T00:00:00.000000Z"), base + 3);
  EXPECT_EQ(reader->first_seq_from("2026-01-04T12:00:00.000000Z"), base + 3);  // that very time
  EXPECT_EQ(reader->first_seq_from("2026-01-04T12:00:00.000001Z"), base + 4);
  EXPECT_EQ(reader->first_seq_from("2025-01-01T00:00:00.000000Z"), 1u);
  EXPECT_EQ(reader->first_seq_from("2027-01-01T00:00:00.000000Z"), reader->last_seq() + 1);
}

TEST_F(LedgerTest, PagesStopAtTheirLimitOrTheirBytesAndSayThereMayBeMore) {
  {
    LedgerOptions options;
    options.checkpoint_interval = std::chrono::hours(1);  // only the one written at close
    auto ledger = Ledger::open(file_, options);
    ledger->append_and_wait(boost::json::object{{"action", "crm.lookup"}, {"n", -1}});
    // Before any checkpoint, there is nothing an export could be checked against.
    EXPECT_THROW(LedgerReader::open(file_)->export_entries({}, [](const std::string&) {}, [](const auto&) {}),
                 std::invalid_argument);
    for (int i = 0; i < 9; ++i) ledger->append_and_wait(boost::json::object{{"action", "crm.lookup"}, {"n", i}});
  }
  auto reader = LedgerReader::open(file_);
  LedgerReader::Query q;
  q.limit = 4;
  std::vector<std::uint64_t> seen;
  auto page = reader->query(q, [&](std::uint64_t seq, std::string_view) { seen.push_back(seq); });
  EXPECT_EQ(page.count, 4u);
  EXPECT_EQ(page.last_seq, 4u);
  EXPECT_TRUE(page.more);  // at the limit
  q.limit = 100;
  q.max_bytes = 1;  // the first entry already reaches it
  page = reader->query(q, [&](std::uint64_t, std::string_view) {});
  EXPECT_EQ(page.count, 1u);
  EXPECT_TRUE(page.more);
  q.max_bytes = UINT64_MAX;
  q.after = 8;
  page = reader->query(q, [&](std::uint64_t, std::string_view) {});
  EXPECT_EQ(page.count, 2u);
  EXPECT_FALSE(page.more);  // the end

  LedgerReader::ExportRange range;
  range.max_bytes = 1;
  page = reader->export_entries(range, [](const std::string&) {}, [](const auto&) {});
  EXPECT_EQ(page.count, 1u);
  EXPECT_TRUE(page.more);
  EXPECT_EQ(page.tree_size, 10u);
  range.max_bytes = UINT64_MAX;
  range.after = 1;
  page = reader->export_entries(range, [](const std::string&) {}, [](const auto&) {});
  EXPECT_EQ(page.count, 9u);
  EXPECT_EQ(page.last_seq, 10u);
  EXPECT_FALSE(page.more);
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

TEST_F(LedgerTest, RowsDeletedFromTheEndOfACommitAreNamed) {
  fill(10);
  // As if the last commit had held entries 10 and 11 and 11 was deleted: 10 carries no head.
  sql("UPDATE entries SET head = NULL WHERE seq = 10; DELETE FROM checkpoints;");
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.first_bad, 11u);
  EXPECT_NE(r.problem.find("not the end of a commit"), std::string::npos) << r.problem;
  EXPECT_THROW(Ledger::open(file_), std::runtime_error);  // and the writer refuses to go on from there
}

TEST_F(LedgerTest, ALedgerWithTheOldHeadsTableIsMigrated) {
  fill(20);
  Hash root_before = verify_ledger(file_).root;
  // The layout before heads moved into the entries' rows.
  sql("CREATE TABLE heads (size INTEGER PRIMARY KEY, root BLOB NOT NULL, frontier BLOB NOT NULL, time TEXT NOT NULL);"
      "INSERT INTO heads SELECT seq, zeroblob(32), head, '' FROM entries WHERE head IS NOT NULL;"
      "ALTER TABLE entries DROP COLUMN head;");
  {
    auto ledger = Ledger::open(file_);
    EXPECT_EQ(ledger->root(), root_before);
    ledger->append_and_wait(boost::json::object{{"action", "after migration"}});
  }
  VerifyReport r = verify_ledger(file_);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.heads_checked, 21u);
}

TEST_F(LedgerTest, AnInsertedRowIsNamed) {
  fill(100);
  // Room is made at 50 and a well-formed row, with its own valid leaf hash, is put there.
  sql("UPDATE entries SET seq = -seq WHERE seq >= 50; UPDATE entries SET seq = 1 - seq WHERE seq <= -50;");
  std::string text = R"({"action":"inserted","seq":50,"time":"2026-01-01T00:00:00.000000Z"})";
  sql("INSERT INTO entries(seq, canonical, leaf) VALUES(50, '" + text + "', x'" + to_hex(leaf_hash(text)) + "')");
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  ASSERT_TRUE(r.first_bad);
  EXPECT_EQ(*r.first_bad, 50u) << r.problem;
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
  ASSERT_TRUE(r.first_bad) << r.problem;  // where reading breaks: the first entry not vouched for
  EXPECT_LE(*r.first_bad, 200u);
  EXPECT_FALSE(verify_ledger(dir_ / "absent.db").intact);
}

// ---- checkpoints and proofs ----

std::vector<Hash> leaves_of(const fs::path& file) {
  std::vector<Hash> out;
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT leaf FROM entries ORDER BY seq", -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    Hash h;
    std::memcpy(h.data(), sqlite3_column_blob(s, 0), 32);
    out.push_back(h);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(LedgerTest, CheckpointsAreSignedNotesThatTheRecordedKeyOpens) {
  LedgerOptions options;
  options.origin = "bank.example/audit";
  options.checkpoint_every = 10;
  auto ledger = Ledger::open(file_, options);
  for (int i = 0; i < 25; ++i) ledger->append_and_wait(boost::json::object{{"action", "x"}, {"i", i}});
  EXPECT_GE(ledger->checkpointed(), 20u);
  ledger.reset();  // a last checkpoint at close
  auto reader = LedgerReader::open(file_);
  auto note = reader->latest_checkpoint();
  ASSERT_TRUE(note);
  // The verifier key written beside the signing key opens it.
  std::string vkey = slurp(dir_ / "audit-signing.key.pub");
  vkey.pop_back();
  EXPECT_EQ(vkey, reader->verifier_key());
  auto opened = open_note(*note, {*NoteVerifier::parse(vkey)});
  ASSERT_TRUE(opened);
  auto c = Checkpoint::parse(opened->text);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->origin, "bank.example/audit");
  EXPECT_EQ(c->size, 25u);
  EXPECT_EQ(c->root, root(leaves_of(file_)));
  EXPECT_EQ(c->time.size(), 27u);
  EXPECT_EQ(fs::status(dir_ / "audit-signing.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(LedgerTest, ACheckpointIsWrittenAfterTheIntervalWithoutFurtherAppends) {
  LedgerOptions options;
  options.checkpoint_every = 1000000;
  options.checkpoint_interval = std::chrono::milliseconds(50);
  auto ledger = Ledger::open(file_, options);
  ledger->append_and_wait(boost::json::object{{"action", "x"}});
  for (int i = 0; i < 200 && ledger->checkpointed() != 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ledger->checkpointed(), 1u);
}

TEST_F(LedgerTest, InclusionProofsFromStoredHashesEqualTheReferenceAtEveryIndex) {
  LedgerOptions options;
  options.checkpoint_every = 1;  // a checkpoint at every commit, so every size below can be proven
  {
    auto ledger = Ledger::open(file_, options);
    for (int i = 0; i < 70; ++i) ledger->append_and_wait(boost::json::object{{"action", "x"}, {"i", i}});
  }
  std::vector<Hash> leaves = leaves_of(file_);
  auto reader = LedgerReader::open(file_);
  for (std::uint64_t size : {1u, 16u, 17u, 33u, 64u, 70u}) {
    for (std::uint64_t seq = 1; seq <= size; ++seq) {
      InclusionProof p = reader->prove_inclusion(seq, size);
      EXPECT_EQ(p.proof, *inclusion_proof(leaves, seq - 1, size)) << seq << "/" << size;
      EXPECT_TRUE(verify_inclusion(p.leaf, seq - 1, size, p.proof, p.tree.root));
      EXPECT_EQ(p.leaf, leaf_hash(p.entry));
    }
  }
  EXPECT_EQ(reader->prove_inclusion(5).tree.size, 70u);  // the latest checkpoint by default
  EXPECT_THROW(reader->prove_inclusion(71), std::invalid_argument);
  EXPECT_THROW(reader->prove_inclusion(0), std::invalid_argument);
  EXPECT_THROW(reader->prove_inclusion(1, 1000), std::invalid_argument);
}

TEST_F(LedgerTest, ConsistencyProofsBetweenCheckpointsEqualTheReference) {
  LedgerOptions options;
  options.checkpoint_every = 1;
  {
    auto ledger = Ledger::open(file_, options);
    for (int i = 0; i < 40; ++i) ledger->append_and_wait(boost::json::object{{"action", "x"}, {"i", i}});
  }
  std::vector<Hash> leaves = leaves_of(file_);
  auto reader = LedgerReader::open(file_);
  for (std::uint64_t m = 1; m <= 40; ++m)
    for (std::uint64_t n : {m, std::uint64_t{32}, std::uint64_t{40}}) {
      if (n < m) continue;
      ConsistencyProof p = reader->prove_consistency(m, n);
      EXPECT_EQ(p.proof, *consistency_proof(leaves, m, n)) << m << "->" << n;
      EXPECT_TRUE(verify_consistency(m, n, p.old_tree.root, p.new_tree.root, p.proof));
    }
  EXPECT_THROW(reader->prove_consistency(30, 20), std::invalid_argument);
}

TEST_F(LedgerTest, ProofsAreServedBesideARunningWriter) {
  LedgerOptions options;
  options.checkpoint_every = 8;
  auto ledger = Ledger::open(file_, options);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) ledger->append_and_wait(boost::json::object{{"action", "x"}, {"i", i}});
  });
  while (ledger->checkpointed() < 64) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto reader = LedgerReader::open(file_);
  for (int round = 0; round < 50; ++round) {
    InclusionProof p = reader->prove_inclusion(3);
    ASSERT_TRUE(verify_inclusion(p.leaf, 2, p.tree.size, p.proof, p.tree.root));
  }
  stop = true;
  writer.join();
}

TEST_F(LedgerTest, ALedgerRefusesAnotherKeyOrOrigin) {
  fill(3);
  fs::rename(dir_ / "audit-signing.key", dir_ / "old.key");
  try {
    Ledger::open(file_);
    ADD_FAILURE() << "opened with a new key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not the key"), std::string::npos) << e.what();
  }
  fs::remove(dir_ / "audit-signing.key");
  fs::rename(dir_ / "old.key", dir_ / "audit-signing.key");
  LedgerOptions other;
  other.origin = "another/origin";
  EXPECT_THROW(Ledger::open(file_, other), std::runtime_error);
  EXPECT_NO_THROW(Ledger::open(file_));
}

TEST_F(LedgerTest, EveryCheckpointIsPublishedAndVerifyChecksTheCopy) {
  LedgerOptions options;
  options.checkpoint_every = 10;
  options.publish_to = dir_ / "published.checkpoints";
  {
    auto ledger = Ledger::open(file_, options);
    for (int i = 0; i < 35; ++i) ledger->append_and_wait(boost::json::object{{"action", "x"}, {"i", i}});
  }
  PublishedCopy copy = split_published(slurp(options.publish_to));
  EXPECT_EQ(copy.notes.size(), 4u);  // 10, 20, 30, and 35 at close
  auto key = NoteVerifier::parse(LedgerReader::open(file_)->verifier_key());
  VerifyReport r = verify_ledger(file_, {key, options.publish_to});
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.checkpoints_checked, 8u);  // 4 stored, 4 published
}

TEST_F(LedgerTest, AForgerWhoRewritesEverythingIsCaughtByThePublishedCopy) {
  LedgerOptions options;
  options.checkpoint_every = 10;
  options.publish_to = dir_ / "published.checkpoints";
  {
    auto ledger = Ledger::open(file_, options);
    for (int i = 0; i < 40; ++i) ledger->append_and_wait(boost::json::object{{"action", "x"}, {"i", i}});
  }
  std::string published = slurp(options.publish_to);
  // The forger has the database and the signing key, but not the published copy: they rebuild
  // the whole ledger from entry 15 on with one entry changed, and re-sign.
  std::vector<std::string> texts;
  {
    sqlite3* db = nullptr;
    sqlite3_open(file_.c_str(), &db);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT canonical FROM entries ORDER BY seq", -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) texts.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    sqlite3_finalize(s);
    sqlite3_close(db);
  }
  fs::remove(file_);
  fs::remove(file_.string() + "-wal");
  fs::remove(file_.string() + "-shm");
  {
    LedgerOptions forged = options;
    forged.publish_to.clear();
    auto ledger = Ledger::open(file_, forged);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      boost::json::object e = boost::json::parse(texts[i]).as_object();
      e.erase("seq");
      if (i == 14) e["action"] = "forged";
      ledger->append_and_wait(std::move(e));
    }
  }
  EXPECT_TRUE(verify_ledger(file_).intact);  // consistent in itself
  VerifyReport r = verify_ledger(file_, {std::nullopt, options.publish_to});
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.first_bad, 11u);  // after the published checkpoint of size 10, which still matches
  EXPECT_NE(r.problem.find("published checkpoint of size 20"), std::string::npos) << r.problem;
}

TEST_F(LedgerTest, ACheckpointWithAWrongSignatureIsNamed) {
  fill(20);
  sql("UPDATE checkpoints SET note = replace(note, substr(note, length(note) - 6, 4), 'AAAA')");
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  EXPECT_NE(r.problem.find("not validly signed"), std::string::npos) << r.problem;
}

TEST_F(LedgerTest, AWrongStoredSubtreeHashIsNamed) {
  fill(40);
  sql("UPDATE subtrees SET hash = zeroblob(32) WHERE level = 4 AND idx = 1");
  VerifyReport r = verify_ledger(file_);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.first_bad, 17u);
  EXPECT_THROW(LedgerReader::open(file_)->prove_inclusion(5), std::runtime_error);  // its path uses 17..32
}

}  // namespace
}  // namespace branchline::audit
