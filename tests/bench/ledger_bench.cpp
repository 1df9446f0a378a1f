// ledger_bench: the audit ledger's figures for docs/performance.md, each beside its baseline in
// the same run (a load program rather than Google Benchmark, because the baseline's batch size is
// the one the ledger formed in the same run).
//
//  1. Durable, acknowledged appends per second with 1, 8 and 64 concurrent appenders. Appenders
//     are asynchronous, as the server's are: each issues an append, and issues its next one from
//     the acknowledgement, which is posted to an io_context thread as the host posts it to its
//     executor. Latency is from append() to the acknowledgement running on that thread. The baseline is a bare
//     SQLite writer (one thread, WAL, synchronous=FULL) committing the same canonical rows into the
//     same table, in batches of the mean size the ledger formed in that run.
//  2. verify_ledger over a ledger of --verify-entries entries (default 1,000,000).
//  3. One inclusion proof checked (verify_inclusion) in that tree.
//
//   ledger_bench [--appends N] [--appenders N] [--repetitions N] [--verify-entries N (0: skip)] [--dir DIR] [--smoke]
#include "audit/canonical_json.hpp"
#include "audit/ledger.hpp"
#include "common/log.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace branchline;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A realistic entry: an advisor reading a customer profile through the CRM (about 330 bytes).
boost::json::object entry(std::uint64_t i) {
  return boost::json::object{
      {"action", "crm.profile.read"},
      {"node", "bench-node-1"},
      {"region", "us-east"},
      {"actor", {{"principal", "https://idp.bank.example/|advisor-" + std::to_string(i % 50)},
                 {"role", "advisor"},
                 {"ip", "10.20." + std::to_string(i % 250) + "." + std::to_string(i % 200)}}},
      {"resource", {{"type", "customer"}, {"customer", "c-" + std::to_string(100000 + i % 5000)},
                    {"consultation", "k-" + std::to_string(i / 20)}}},
      {"outcome", "success"},
      {"fields", boost::json::array{"name", "segment", "products"}},
      {"policy_decision", "d-" + std::to_string(i)}};
}

struct AppendRun {
  double rate = 0, mean_batch = 0, p50_ms = 0, p99_ms = 0;
};

AppendRun run_ledger(const fs::path& dir, int appenders, std::uint64_t total) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto ledger = audit::Ledger::open(dir / "audit.db");
  std::vector<double> latency_ms(total);
  std::atomic<std::uint64_t> issued{0};
  std::mutex mutex;
  std::condition_variable all_done;
  std::uint64_t done = 0;
  std::vector<boost::json::object> entries;
  entries.reserve(total);
  for (std::uint64_t i = 0; i < total; ++i) entries.push_back(entry(i));

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  std::function<void()> issue = [&] {
    std::uint64_t i = issued++;
    if (i >= total) return;
    auto start = Clock::now();
    ledger->append(std::move(entries[i]), [&, i, start](bl_status s) {
      if (s != BL_OK) std::abort();
      boost::asio::post(io, [&, i, start] {
        latency_ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        issue();  // this appender's next append, from its acknowledgement
        std::lock_guard lock(mutex);
        if (++done == total) all_done.notify_one();
      });
    });
  };
  std::uint64_t commits_before = ledger->commits();
  auto start = Clock::now();
  for (int a = 0; a < appenders; ++a) boost::asio::post(io, issue);
  {
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return done == total; });
  }
  work.reset();
  io_thread.join();
  AppendRun r;
  r.rate = static_cast<double>(total) / seconds_since(start);
  r.mean_batch = static_cast<double>(total) / static_cast<double>(ledger->commits() - commits_before);
  std::sort(latency_ms.begin(), latency_ms.end());
  r.p50_ms = latency_ms[total / 2];
  r.p99_ms = latency_ms[total * 99 / 100];
  return r;
}

// The same rows (canonical text, leaf hash, the indexed columns), into the same table with the same
// indexes, committed by a bare SQLite writer: what storing the rows costs without the ledger.
double run_bare(const fs::path& dir, std::uint64_t total, std::size_t batch, bool indexes = true) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> rows, times, customers, consultations;
  std::vector<audit::Hash> leaves;
  for (std::uint64_t i = 0; i < total; ++i) {
    boost::json::object e = entry(i);
    e["seq"] = i + 1;
    times.push_back(log::utc_now_rfc3339());
    e["time"] = times.back();
    e["retention"] = "standard";
    customers.emplace_back(e.at("resource").at("customer").as_string());
    consultations.emplace_back(e.at("resource").at("consultation").as_string());
    rows.push_back(audit::canonical_json(e));
    leaves.push_back(audit::leaf_hash(rows.back()));
  }
  sqlite3* db = nullptr;
  sqlite3_open((dir / "bare.db").c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE entries (seq INTEGER PRIMARY KEY, canonical TEXT NOT NULL, leaf BLOB NOT NULL,"
               " time TEXT, retention TEXT, customer TEXT, consultation TEXT, purged TEXT);",
               nullptr, nullptr, nullptr);
  if (indexes)
    sqlite3_exec(db,
                 "CREATE INDEX entries_expiry ON entries(retention, time) WHERE purged IS NULL;"
                 "CREATE INDEX entries_customer ON entries(customer) WHERE customer IS NOT NULL;",
                 nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO entries(seq, canonical, leaf, time, retention, customer, consultation) VALUES(?1, ?2, ?3, ?4, 'standard', ?5, ?6)", -1, &insert, nullptr);
  auto start = Clock::now();
  for (std::uint64_t i = 0; i < total;) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (std::size_t k = 0; k < batch && i < total; ++k, ++i) {
      sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(i + 1));
      sqlite3_bind_text(insert, 2, rows[i].data(), static_cast<int>(rows[i].size()), SQLITE_STATIC);
      sqlite3_bind_blob(insert, 3, leaves[i].data(), 32, SQLITE_STATIC);
      sqlite3_bind_text(insert, 4, times[i].data(), static_cast<int>(times[i].size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 5, customers[i].data(), static_cast<int>(customers[i].size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 6, consultations[i].data(), static_cast<int>(consultations[i].size()), SQLITE_STATIC);
      sqlite3_step(insert);
      sqlite3_reset(insert);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double rate = static_cast<double>(total) / seconds_since(start);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t appends = 60000, verify_entries = 1000000;
  std::vector<int> appender_counts{1, 8, 64};
  int repetitions = 3;
  fs::path dir = fs::temp_directory_path() / ("branchline-ledger-bench-" + std::to_string(::getpid()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke") appends = 2000, verify_entries = 5000, repetitions = 1;
    else if (a == "--appends" && i + 1 < argc) appends = std::stoull(argv[++i]);
    else if (a == "--verify-entries" && i + 1 < argc) verify_entries = std::stoull(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--appenders" && i + 1 < argc) appender_counts = {std::stoi(argv[++i])};
    else if (a == "--repetitions" && i + 1 < argc) repetitions = std::max(1, std::stoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: ledger_bench [--appends N] [--appenders N] [--verify-entries N] [--dir DIR] [--smoke]\n");
      return 2;
    }
  }
  log::configure(log::Format::Json, log::Level::Warn);
  std::printf("| appenders | ledger appends/s | mean batch | ack p50 | ack p99 | bare SQLite rows/s (same batch, same indexes) | ledger / bare | bare without the two indexes |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  // Each case runs `repetitions` times, the ledger and its baseline alternating; the row shows the
  // run with the median ratio (the disk's fsync time varies from run to run on a VM).
  for (int appenders : appender_counts) {
    struct Measured {
      AppendRun ledger;
      double bare, bare_plain;
    };
    std::vector<Measured> runs;
    for (int rep = 0; rep < repetitions; ++rep) {
      AppendRun r = run_ledger(dir / "ledger", appenders, appends);
      auto batch = static_cast<std::size_t>(std::max(1.0, std::round(r.mean_batch)));
      double bare = run_bare(dir / "bare", appends, batch);
      double bare_plain = run_bare(dir / "bare", appends, batch, false);
      runs.push_back({r, bare, bare_plain});
    }
    std::sort(runs.begin(), runs.end(),
              [](const Measured& a, const Measured& b) { return a.ledger.rate / a.bare < b.ledger.rate / b.bare; });
    const Measured& m = runs[runs.size() / 2];
    std::printf("| %d | %.0f | %.1f | %.2f ms | %.2f ms | %.0f | **%.2f** | %.0f |\n", appenders, m.ledger.rate,
                m.ledger.mean_batch, m.ledger.p50_ms, m.ledger.p99_ms, m.bare, m.ledger.rate / m.bare, m.bare_plain);
    std::fflush(stdout);
  }

  if (verify_entries == 0) return 0;
  // A ledger of verify_entries entries, built with 64 appenders, then verified from cold.
  fs::remove_all(dir / "verify");
  run_ledger(dir / "verify", 64, verify_entries);
  auto start = Clock::now();
  audit::VerifyReport report = audit::verify_ledger(dir / "verify" / "audit.db");
  double verify_s = seconds_since(start);
  if (!report.intact) {
    std::fprintf(stderr, "verify failed: %s\n", report.problem.c_str());
    return 1;
  }
  std::printf("\nverify_ledger: %llu entries, %llu tree heads, %llu checkpoints in %.3f s (%.2f µs per entry)\n",
              static_cast<unsigned long long>(report.entries), static_cast<unsigned long long>(report.heads_checked),
              static_cast<unsigned long long>(report.checkpoints_checked), verify_s, verify_s * 1e6 / static_cast<double>(report.entries));

  auto reader = audit::LedgerReader::open(dir / "verify" / "audit.db");
  std::mt19937_64 random(7);
  const int proofs = 200, checks = 20000;
  double build_s = 0, check_s = 0;
  std::size_t path_length = 0;
  for (int p = 0; p < proofs; ++p) {
    std::uint64_t seq = 1 + random() % report.entries;
    auto t = Clock::now();
    audit::InclusionProof proof = reader->prove_inclusion(seq);
    build_s += seconds_since(t);
    path_length = proof.proof.size();
    t = Clock::now();
    for (int c = 0; c < checks / proofs; ++c)
      if (!audit::verify_inclusion(proof.leaf, seq - 1, proof.tree.size, proof.proof, proof.tree.root)) return 1;
    check_s += seconds_since(t);
  }
  std::printf("inclusion proof (%zu hashes): built from the ledger in %.1f µs (one read transaction, with its checkpoint); "
              "checked in %.2f µs\n",
              path_length, build_s * 1e6 / proofs, check_s * 1e6 / checks);
  fs::remove_all(dir);
  return 0;
}
