// ledger: see ledger.hpp.
#include "audit/ledger.hpp"

#include "audit/canonical_json.hpp"
#include "common/log.hpp"

#include <boost/json/parse.hpp>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace branchline::audit {
namespace {

constexpr std::size_t kMaxBatch = 1024;


std::string_view blob(sqlite3_stmt* s, int column) {
  const void* data = sqlite3_column_blob(s, column);
  return {static_cast<const char*>(data ? data : ""), static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

std::string_view text(sqlite3_stmt* s, int column) {
  const unsigned char* data = sqlite3_column_text(s, column);
  return {reinterpret_cast<const char*>(data ? data : reinterpret_cast<const unsigned char*>("")),
          static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

struct Statement {
  sqlite3_stmt* s = nullptr;
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("audit ledger: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(s); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
};

}  // namespace

// ---- Frontier ----

void Frontier::append(const Hash& leaf) {
  Hash carry = leaf;
  std::size_t level = 0;
  for (std::uint64_t i = size_; i & 1; i >>= 1, ++level) {
    carry = node_hash(*levels_[level], carry);
    levels_[level].reset();
  }
  if (levels_.size() <= level) levels_.resize(level + 1);
  levels_[level] = carry;
  ++size_;
}

Hash Frontier::root() const {
  std::optional<Hash> root;
  for (const auto& h : levels_) {
    if (!h) continue;
    root = root ? node_hash(*h, *root) : *h;
  }
  return root ? *root : empty_root();
}

std::string Frontier::serialize() const {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(size_ >> (56 - 8 * i));
  for (const auto& h : levels_)
    if (h) out.append(reinterpret_cast<const char*>(h->data()), h->size());
  return out;
}

std::optional<Frontier> Frontier::parse(std::string_view bytes) {
  if (bytes.size() < 8) return std::nullopt;
  Frontier f;
  for (int i = 0; i < 8; ++i) f.size_ = f.size_ << 8 | static_cast<unsigned char>(bytes[i]);
  std::size_t at = 8;
  for (std::uint64_t i = f.size_, level = 0; i != 0; i >>= 1, ++level) {
    f.levels_.resize(level + 1);
    if (!(i & 1)) continue;
    if (at + 32 > bytes.size()) return std::nullopt;
    Hash h;
    std::memcpy(h.data(), bytes.data() + at, 32);
    f.levels_[level] = h;
    at += 32;
  }
  if (at != bytes.size()) return std::nullopt;
  return f;
}

// ---- Ledger ----

struct Ledger::Impl {
  struct Pending {
    boost::json::object entry;
    std::function<void(bl_status)> done;
  };

  std::filesystem::path file;
  sqlite3* db = nullptr;
  mutable std::mutex mutex;  // queue, stopping, frontier (for readers)
  std::condition_variable wake;
  std::deque<Pending> queue;
  bool stopping = false;
  Frontier frontier;
  std::uint64_t commits = 0;
  std::thread writer;

  ~Impl() { sqlite3_close(db); }

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string why = error ? error : "unknown";
      sqlite3_free(error);
      throw std::runtime_error("audit ledger " + file.string() + ": " + why);
    }
  }

  // One batch, one transaction. Returns the status every accepted entry is answered with.
  void commit(std::vector<Pending>& batch) {
    Frontier next;
    {
      std::lock_guard lock(mutex);
      next = frontier;
    }
    std::vector<std::function<void(bl_status)>> accepted;
    bl_status status = BL_OK;
    try {
      exec("BEGIN IMMEDIATE");
      Statement insert(db, "INSERT INTO entries(seq, canonical, leaf) VALUES(?1, ?2, ?3)");
      for (Pending& p : batch) {
        std::uint64_t seq = next.size() + 1;
        p.entry["seq"] = seq;
        if (!p.entry.contains("time")) p.entry["time"] = log::utc_now_rfc3339();
        std::string canonical;
        try {
          canonical = canonical_json(p.entry);
        } catch (const std::invalid_argument&) {
          if (p.done) p.done(BL_INVALID_ARGUMENT);
          continue;
        }
        Hash leaf = leaf_hash(canonical);
        sqlite3_bind_int64(insert.s, 1, static_cast<sqlite3_int64>(seq));
        sqlite3_bind_text(insert.s, 2, canonical.data(), static_cast<int>(canonical.size()), SQLITE_STATIC);
        sqlite3_bind_blob(insert.s, 3, leaf.data(), 32, SQLITE_STATIC);
        if (sqlite3_step(insert.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        sqlite3_reset(insert.s);
        next.append(leaf);
        accepted.push_back(std::move(p.done));
      }
      if (!accepted.empty()) {
        Statement head(db, "INSERT INTO heads(size, root, frontier, time) VALUES(?1, ?2, ?3, ?4)");
        Hash root = next.root();
        std::string frontier_bytes = next.serialize();
        std::string time = log::utc_now_rfc3339();
        sqlite3_bind_int64(head.s, 1, static_cast<sqlite3_int64>(next.size()));
        sqlite3_bind_blob(head.s, 2, root.data(), 32, SQLITE_STATIC);
        sqlite3_bind_blob(head.s, 3, frontier_bytes.data(), static_cast<int>(frontier_bytes.size()), SQLITE_STATIC);
        sqlite3_bind_text(head.s, 4, time.data(), static_cast<int>(time.size()), SQLITE_STATIC);
        if (sqlite3_step(head.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
      }
      exec("COMMIT");
      std::lock_guard lock(mutex);
      frontier = next;
      ++commits;
    } catch (const std::exception&) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      status = BL_UNAVAILABLE;  // nothing of this batch is acknowledged; the tree is unchanged
    }
    for (auto& done : accepted)
      if (done) done(status);
  }

  void run() {
    for (;;) {
      std::vector<Pending> batch;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        while (!queue.empty() && batch.size() < kMaxBatch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      commit(batch);
    }
  }
};

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<Ledger> Ledger::open(const std::filesystem::path& file) {
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  if (sqlite3_open_v2(file.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    throw std::runtime_error("audit ledger " + file.string() + ": cannot open: " +
                             (impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  sqlite3_busy_timeout(impl->db, 5000);
  impl->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
      "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, canonical TEXT NOT NULL, leaf BLOB NOT NULL);"
      "CREATE TABLE IF NOT EXISTS heads (size INTEGER PRIMARY KEY, root BLOB NOT NULL, frontier BLOB NOT NULL,"
      " time TEXT NOT NULL);");
  {
    Statement last(impl->db, "SELECT size, frontier FROM heads ORDER BY size DESC LIMIT 1");
    if (sqlite3_step(last.s) == SQLITE_ROW) {
      auto f = Frontier::parse(blob(last.s, 1));
      if (!f || f->size() != static_cast<std::uint64_t>(sqlite3_column_int64(last.s, 0)))
        throw std::runtime_error("audit ledger " + file.string() +
                                 ": its last tree head is damaged; run `branchline audit verify`");
      impl->frontier = *f;
    }
    Statement count(impl->db, "SELECT coalesce(max(seq), 0) FROM entries");
    sqlite3_step(count.s);
    if (static_cast<std::uint64_t>(sqlite3_column_int64(count.s, 0)) != impl->frontier.size())
      throw std::runtime_error("audit ledger " + file.string() +
                               ": entries and tree head disagree; run `branchline audit verify`");
  }
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

Ledger::~Ledger() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->writer.join();
}

void Ledger::append(boost::json::object entry, std::function<void(bl_status)> done) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) {
      if (done) done(BL_UNAVAILABLE);
      return;
    }
    impl_->queue.push_back({std::move(entry), std::move(done)});
  }
  impl_->wake.notify_one();
}

std::uint64_t Ledger::append_and_wait(boost::json::object entry) {
  std::promise<bl_status> written;
  append(std::move(entry), [&written](bl_status s) { written.set_value(s); });
  bl_status status = written.get_future().get();
  if (status == BL_INVALID_ARGUMENT) throw std::invalid_argument("the entry cannot be canonicalised (RFC 8785)");
  if (status != BL_OK) throw std::runtime_error("the audit ledger could not store the entry");
  return size();
}

std::uint64_t Ledger::size() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->frontier.size();
}

Hash Ledger::root() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->frontier.root();
}

std::uint64_t Ledger::commits() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->commits;
}

// ---- verification ----

VerifyReport verify_ledger(const std::filesystem::path& file) {
  VerifyReport report;
  sqlite3* db = nullptr;
  auto fail = [&](std::optional<std::uint64_t> seq, std::string why) {
    report.intact = false;
    report.first_bad = seq;
    report.problem = std::move(why);
    sqlite3_close(db);
    return report;
  };
  if (!std::filesystem::exists(file)) return fail(std::nullopt, "no ledger at " + file.string());
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    return fail(std::nullopt, std::string("cannot open the ledger: ") + (db ? sqlite3_errmsg(db) : "out of memory"));
  sqlite3_stmt* entries = nullptr;
  sqlite3_stmt* heads = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT seq, canonical, leaf FROM entries ORDER BY seq", -1, &entries, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT size, root FROM heads ORDER BY size", -1, &heads, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db);
    sqlite3_finalize(entries);
    sqlite3_finalize(heads);
    return fail(std::nullopt, "cannot read the ledger: " + why);
  }
  auto finish = [&](std::optional<std::uint64_t> seq, std::string why) {
    sqlite3_finalize(entries);
    sqlite3_finalize(heads);
    return fail(seq, std::move(why));
  };

  Frontier frontier;
  std::uint64_t previous_head = 0;
  int head_rc = sqlite3_step(heads);
  auto check_heads = [&]() -> std::optional<std::string> {
    while (head_rc == SQLITE_ROW && static_cast<std::uint64_t>(sqlite3_column_int64(heads, 0)) == frontier.size()) {
      std::string_view root = blob(heads, 1);
      Hash computed = frontier.root();
      if (root.size() != 32 || std::memcmp(root.data(), computed.data(), 32) != 0)
        return "the tree head of size " + std::to_string(frontier.size()) +
               " does not match the entries: an entry after " + std::to_string(previous_head) +
               " was changed together with its leaf hash";
      previous_head = frontier.size();
      ++report.heads_checked;
      head_rc = sqlite3_step(heads);
    }
    return std::nullopt;
  };

  std::uint64_t expected = 1;
  for (int rc = sqlite3_step(entries); rc != SQLITE_DONE; rc = sqlite3_step(entries), ++expected) {
    if (rc != SQLITE_ROW) return finish(expected, std::string("cannot read entry: ") + sqlite3_errmsg(db));
    std::uint64_t seq = static_cast<std::uint64_t>(sqlite3_column_int64(entries, 0));
    if (seq != expected) return finish(expected, "entry " + std::to_string(expected) + " is missing");
    std::string_view canonical = text(entries, 1);
    std::string_view leaf = blob(entries, 2);
    Hash computed = leaf_hash(canonical);
    if (leaf.size() != 32 || std::memcmp(leaf.data(), computed.data(), 32) != 0)
      return finish(seq, "entry " + std::to_string(seq) + " was altered: its text no longer matches its leaf hash");
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(canonical, ec);
    const boost::json::value* own_seq = !ec && parsed.is_object() ? parsed.as_object().if_contains("seq") : nullptr;
    if (!own_seq || !own_seq->is_int64() || static_cast<std::uint64_t>(own_seq->as_int64()) != seq)
      return finish(seq, "entry " + std::to_string(seq) + " is out of place: it carries another sequence number");
    frontier.append(computed);
    if (auto problem = check_heads()) return finish(previous_head + 1, *problem);
  }
  if (head_rc == SQLITE_ROW)
    return finish(frontier.size() + 1, "entries from " + std::to_string(frontier.size() + 1) +
                                           " on are missing: a tree head covers " +
                                           std::to_string(sqlite3_column_int64(heads, 0)) + " entries");
  sqlite3_finalize(entries);
  sqlite3_finalize(heads);
  sqlite3_close(db);
  report.intact = true;
  report.entries = frontier.size();
  report.root = frontier.root();
  return report;
}

}  // namespace branchline::audit
