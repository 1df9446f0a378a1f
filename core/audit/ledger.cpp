// ledger: see ledger.hpp.
#include "audit/ledger.hpp"

#include "audit/canonical_json.hpp"
#include "audit/personal_keys.hpp"
#include "audit/sqlite_rows.hpp"
#include "common/key_file.hpp"
#include "common/log.hpp"

#include <boost/json/parse.hpp>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace sqlite_rows;

constexpr std::size_t kMaxBatch = 1024;
// WAL checkpoints (see Impl::WalCheckpointer): the background thread is asked to copy the WAL
// back every kWalBackgroundPages, and the writer finishes the job itself at kWalRestartPages
// (SQLite's own automatic threshold), so that the WAL restarts from its beginning.
constexpr int kWalBackgroundPages = 128;
constexpr int kWalRestartPages = 1000;
constexpr const char* kDefaultOrigin = "branchline/audit";
constexpr std::size_t kMaxKeyFile = 4096;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    // head: on the last entry of each commit, the tree's frontier after it (Frontier::serialize).
    // Kept in the entry's row, not a table of its own, so that a commit writes no extra page.
    "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, canonical TEXT NOT NULL, leaf BLOB NOT NULL,"
    " time TEXT, retention TEXT, customer TEXT, consultation TEXT, purged TEXT, head BLOB);"
    "CREATE TABLE IF NOT EXISTS subtrees (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
    " PRIMARY KEY (level, idx)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS holds (id INTEGER PRIMARY KEY, customer TEXT, consultation TEXT, from_time TEXT,"
    " to_time TEXT, reason TEXT NOT NULL, placed_by TEXT NOT NULL, placed_at TEXT NOT NULL, released_by TEXT,"
    " released_at TEXT);";

// Expired entries are found by class and time, a customer's entries by customer; purged entries
// leave the first index.
constexpr const char* kIndexes =
    "CREATE INDEX IF NOT EXISTS entries_expiry ON entries(retention, time) WHERE purged IS NULL;"
    "CREATE INDEX IF NOT EXISTS entries_customer ON entries(customer) WHERE customer IS NOT NULL;";

NoteSigner load_or_create_key(const fs::path& path, const std::string& name) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    NoteSigner signer = NoteSigner::generate(name);
    create_key_file(path, signer.encode() + "\n", 0600);
    fs::path pub = path;
    pub += ".pub";
    fs::remove(pub, ec);
    create_key_file(pub, signer.verifier().encode() + "\n", 0644);
    log::info("audit", "created the ledger's signing key " + path.string() + "; its verifier key is in " + pub.string());
    return signer;
  }
  std::string content = read_key_file(path, kMaxKeyFile);
  std::string why;
  auto signer = NoteSigner::parse(content, &why);
  if (!signer)
    throw std::runtime_error("the signing key " + path.string() + " is not a note signer key (" + why +
                             "); fix: restore the ledger's key file");
  return *signer;
}

}  // namespace

// ---- Frontier ----

void Frontier::append(const Hash& leaf, std::vector<Completed>* completed) {
  Hash carry = leaf;
  unsigned level = 0;
  const std::uint64_t position = size_;
  for (std::uint64_t i = size_; i & 1; i >>= 1) {
    carry = node_hash(*levels_[level], carry);
    levels_[level].reset();
    ++level;
    if (completed && level % kStoredLevelStride == 0) completed->push_back({level, position >> level, carry});
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
  // An entry made ready on the appender's thread: everything but its sequence number. Only an
  // entry with personal data waits for the writer to be serialised (the seal binds the number).
  struct Prepared {
    CanonicalWithSlot canonical;                  // spliced with "seq" at commit
    std::optional<boost::json::object> personal;  // the whole entry, when it has personal data
    std::string time, retention, customer, consultation;
  };

  struct Pending {
    Prepared entry;
    std::function<void(bl_status)> done;
    std::uint64_t* seq = nullptr;  // append_and_wait's: receives the sequence number given
  };

  // Throws std::invalid_argument when the entry cannot be canonicalised or has personal data
  // without a customer.
  Prepared prepare(boost::json::object entry) const {
    Prepared p;
    entry.erase("seq");  // the ledger numbers entries
    if (!entry.contains("time")) entry["time"] = log::utc_now_rfc3339();
    // Retention and time-range holds compare times as text: only the ledger's form is accepted.
    const boost::json::value& given = entry.at("time");
    auto time = given.is_string() ? normalize_ledger_time(given.as_string()) : std::nullopt;
    if (!time) throw std::invalid_argument("\"time\" must be RFC 3339 UTC, e.g. 2026-11-24T10:00:00.123456Z");
    p.time = *time;
    entry["time"] = p.time;
    p.retention = options.retention.class_for(entry);
    entry["retention"] = p.retention;
    if (auto* resource = entry.if_contains("resource"); resource && resource->is_object()) {
      if (auto* c = resource->as_object().if_contains("customer"); c && c->is_string()) p.customer = c->as_string();
      if (auto* c = resource->as_object().if_contains("consultation"); c && c->is_string()) p.consultation = c->as_string();
    }
    if (entry.contains("personal")) {
      if (p.customer.empty()) throw std::invalid_argument("personal data needs resource.customer to be sealed with");
      canonical_json(entry);  // refuse what cannot be serialised now, not at commit
      p.personal = std::move(entry);
    } else {
      p.canonical = canonical_json_with_slot(entry, "seq");
    }
    return p;
  }

  fs::path file;
  LedgerOptions options;
  std::optional<NoteSigner> signer;
  sqlite3* db = nullptr;
  int publish_fd = -1;
  mutable std::mutex mutex;  // queue, stopping, and the fields readers see (frontier, counters)
  std::condition_variable wake;
  std::deque<Pending> queue;
  bool stopping = false;
  Frontier frontier;
  std::uint64_t commits = 0;
  std::uint64_t checkpoint_size = 0;  // tree size of the latest checkpoint
  Clock::time_point checkpoint_at = Clock::now();
  Clock::time_point next_purge = Clock::now();
  std::deque<std::function<void()>> tasks;  // holds, erasures, purges on request: between batches
  std::unique_ptr<PersonalKeys> keys;
  std::optional<Statement> insert_entry, insert_subtree;  // prepared once: used at every commit
  int lock_fd = -1;
  std::thread writer;

  // ---- WAL checkpoints ----
  // SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1000 pages: at
  // thousands of entries a second that is 2-5 ms of copying and an fsync of the database some 15
  // times a second, and every append waiting meanwhile waits for it too (it was the ledger's
  // tail under the API's load). So a thread with a connection of its own copies the WAL back as
  // it grows (PASSIVE: it never holds the writer up), and the writer, once the WAL passes
  // kWalRestartPages, copies what little is left itself, after the commit that crossed it
  // (finish_wal_checkpoint). A checkpoint that has copied everything is what lets the next commit
  // restart the WAL at its beginning: a background checkpointer alone never catches up under
  // steady load, and the WAL grew (issue 4).
  struct WalCheckpointer {
    sqlite3* db = nullptr;  // null: the writer does every checkpoint, as SQLite would
    std::mutex mutex;
    std::condition_variable wake;
    bool wanted = false, stopping = false;
    bool failing = false;  // checkpointer thread only
    int asked_at = 0;      // WAL pages when it was last asked (writer thread only)
    bool restart_due = false;  // the WAL passed kWalRestartPages (writer thread only)
    std::thread thread;
  } wal;

  // SQLite's WAL hook: inside each commit, on the writer thread, with the WAL's size in pages.
  // It only takes note: the writer's own checkpoint runs after the batch has been acknowledged
  // (finish_wal_checkpoint), so that the batch is not held up by it.
  static int on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    WalCheckpointer& wal = static_cast<Impl*>(self)->wal;
    if (pages >= kWalRestartPages) {
      wal.restart_due = true;
      return SQLITE_OK;
    }
    if (pages < wal.asked_at) wal.asked_at = 0;  // the WAL restarted
    // Not so close to the writer's turn that the background's checkpoint would still be running
    // then: the writer's would be refused (busy) and the WAL would overshoot.
    if (wal.db && pages < kWalRestartPages - kWalBackgroundPages && pages - wal.asked_at >= kWalBackgroundPages) {
      wal.asked_at = pages;
      {
        std::lock_guard lock(wal.mutex);
        wal.wanted = true;
      }
      wal.wake.notify_one();
    }
    return SQLITE_OK;
  }

  // On the writer, between commits: copies back what the background thread has not, so that the
  // next commit restarts the WAL at its beginning. Refused (a reader's snapshot, the background's
  // checkpoint running), it is tried again after the next commit.
  void finish_wal_checkpoint() {
    if (!wal.restart_due) return;
    wal.restart_due = false;
    wal.asked_at = 0;
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }

  void run_wal_checkpointer() {
    for (;;) {
      {
        std::unique_lock lock(wal.mutex);
        wal.wake.wait(lock, [this] { return wal.wanted || wal.stopping; });
        if (wal.stopping) return;
        wal.wanted = false;
      }
      int rc = sqlite3_wal_checkpoint_v2(wal.db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      // Busy: the writer's own checkpoint is running; ours comes later. A failure is told once
      // until a checkpoint succeeds again (a failing disk would fail every one).
      if (rc == SQLITE_OK) {
        wal.failing = false;
      } else if (rc != SQLITE_BUSY && !wal.failing) {
        wal.failing = true;
        log::warn("audit", std::string("background WAL checkpoint failed: ") + sqlite3_errmsg(wal.db) +
                               "; the writer checkpoints at " + std::to_string(kWalRestartPages) + " pages");
      }
    }
  }

  // Opens the checkpointer's connection and starts it; without it the writer checkpoints alone.
  void start_wal_checkpointer() {
    sqlite3_wal_hook(db, &Impl::on_wal_commit, this);
    // The connection learns the database is in WAL mode only once it has read it.
    // synchronous=FULL as the writer's: the copy is fsynced before the writer may restart the WAL.
    if (sqlite3_open_v2(file.c_str(), &wal.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK ||
        sqlite3_busy_timeout(wal.db, 5000) != SQLITE_OK ||
        sqlite3_exec(wal.db, "PRAGMA synchronous=FULL; PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
      log::warn("audit", "no background WAL checkpoints (" + std::string(wal.db ? sqlite3_errmsg(wal.db) : "out of memory") +
                             "); the writer checkpoints at " + std::to_string(kWalRestartPages) + " WAL pages");
      sqlite3_close(wal.db);
      wal.db = nullptr;
      return;
    }
    wal.thread = std::thread([this] { run_wal_checkpointer(); });
  }

  void stop_wal_checkpointer() {
    {
      std::lock_guard lock(wal.mutex);
      wal.stopping = true;
    }
    wal.wake.notify_one();
    if (wal.thread.joinable()) wal.thread.join();
    sqlite3_close(wal.db);
    wal.db = nullptr;
  }

  ~Impl() {
    stop_acks();
    stop_wal_checkpointer();
    insert_entry.reset();
    insert_subtree.reset();
    sqlite3_close(db);
    if (publish_fd >= 0) ::close(publish_fd);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  void exec(const char* sql) { audit::exec(db, file, sql); }

  void insert_subtrees(const std::vector<Frontier::Completed>& completed) {
    if (completed.empty()) return;
    Statement& insert = *insert_subtree;
    for (const auto& c : completed) {
      insert.reset();
      sqlite3_bind_int(insert.s, 1, static_cast<int>(c.level));
      sqlite3_bind_int64(insert.s, 2, static_cast<sqlite3_int64>(c.index));
      sqlite3_bind_blob(insert.s, 3, c.hash.data(), 32, SQLITE_STATIC);
      if (sqlite3_step(insert.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    }
  }

  // Signs the tree `tree` and inserts the checkpoint; inside the caller's transaction.
  std::string insert_checkpoint(const Frontier& tree) {
    Checkpoint c{options.origin, tree.size(), tree.root(), log::utc_now_rfc3339()};
    std::string note = signer->sign(c.body());
    Statement s(db, "INSERT OR REPLACE INTO checkpoints(size, note) VALUES(?1, ?2)");
    sqlite3_bind_int64(s.s, 1, static_cast<sqlite3_int64>(tree.size()));
    sqlite3_bind_text(s.s, 2, note.data(), static_cast<int>(note.size()), SQLITE_STATIC);
    if (sqlite3_step(s.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    return note;
  }

  // Appends a committed checkpoint to the published copy. A failure is logged, not fatal: the
  // ledger keeps its own copy, and the next checkpoint is published again.
  void publish(const std::string& note) {
    if (publish_fd < 0) return;
    std::string record = note + "\n";
    struct stat before {};
    bool sized = ::fstat(publish_fd, &before) == 0;
    ssize_t n = ::write(publish_fd, record.data(), record.size());
    if (n != static_cast<ssize_t>(record.size()) || ::fdatasync(publish_fd) != 0) {
      int error = errno;
      // A partial note would glue itself to the next one and read as tampering: cut it back
      // (refused on an append-only file; the published copy's reader then skips a torn note).
      if (n > 0 && sized) (void)::ftruncate(publish_fd, before.st_size);
      log::error("audit", "could not append the checkpoint to " + options.publish_to.string() + ": " +
                              std::strerror(error));
    }
  }

  void checkpointed(std::uint64_t size, const std::string& note) {
    {
      std::lock_guard lock(mutex);
      checkpoint_size = size;
    }
    checkpoint_at = Clock::now();
    publish(note);
  }

  bool checkpoint_due(std::uint64_t size) const {
    return size > checkpoint_size &&
           (size - checkpoint_size >= options.checkpoint_every || Clock::now() >= checkpoint_at + options.checkpoint_interval);
  }

  // ---- one write transaction, in pieces: begin, add entries, commit ----

  // An entry row, ready to insert.
  struct Row {
    std::uint64_t seq;
    std::string canonical;
    Hash leaf;
  };

  struct Txn {
    Frontier next;
    std::vector<Frontier::Completed> completed;
    std::optional<std::string> note;
    std::size_t added = 0;
    // The latest row is inserted at the next add, or at commit with the tree's head: so the head
    // goes in with the row, not as an update of it.
    std::optional<Row> last;
    Prepared last_entry;
  };

  void insert_row(const Row& row, const Prepared& entry, const std::string* head) {
    Statement& insert = *insert_entry;
    insert.reset();
    sqlite3_bind_int64(insert.s, 1, static_cast<sqlite3_int64>(row.seq));
    sqlite3_bind_text(insert.s, 2, row.canonical.data(), static_cast<int>(row.canonical.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert.s, 3, row.leaf.data(), 32, SQLITE_STATIC);
    sqlite3_bind_text(insert.s, 4, entry.time.data(), static_cast<int>(entry.time.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert.s, 5, entry.retention.data(), static_cast<int>(entry.retention.size()), SQLITE_STATIC);
    if (!entry.customer.empty())
      sqlite3_bind_text(insert.s, 6, entry.customer.data(), static_cast<int>(entry.customer.size()), SQLITE_STATIC);
    if (!entry.consultation.empty())
      sqlite3_bind_text(insert.s, 7, entry.consultation.data(), static_cast<int>(entry.consultation.size()), SQLITE_STATIC);
    if (head) sqlite3_bind_blob(insert.s, 8, head->data(), static_cast<int>(head->size()), SQLITE_STATIC);
    if (sqlite3_step(insert.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
  }

  void txn_begin(Txn& t) {
    {
      std::lock_guard lock(mutex);
      t.next = frontier;
    }
    exec("BEGIN IMMEDIATE");
  }

  // Gives the entry its number, time and retention class, seals its personal data, and inserts
  // it. BL_INVALID_ARGUMENT (and nothing written, no number taken) when the entry cannot be
  // canonicalised or has personal data without a customer. Throws on a storage error.
  bl_status txn_add(Txn& t, Prepared& entry, std::uint64_t* seq_out = nullptr) {
    std::uint64_t seq = t.next.size() + 1;
    std::string canonical;
    if (entry.personal) {
      try {
        boost::json::object& object = *entry.personal;
        boost::json::value& personal = object["personal"];
        std::string clear = canonical_json(personal);
        personal = keys->encrypt(entry.customer, clear, personal_data_aad(options.origin, seq));
        OPENSSL_cleanse(clear.data(), clear.size());
        object["seq"] = seq;
        canonical = canonical_json(object);
      } catch (const std::invalid_argument&) {
        return BL_INVALID_ARGUMENT;
      }
    } else {
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, seq);
      canonical.reserve(entry.canonical.before.size() + 20 + entry.canonical.after.size());
      canonical.append(entry.canonical.before).append(digits, end).append(entry.canonical.after);
    }
    Hash leaf = leaf_hash(canonical);
    if (t.last) insert_row(*t.last, t.last_entry, nullptr);
    t.last = Row{seq, std::move(canonical), leaf};
    t.last_entry = std::move(entry);
    t.next.append(leaf, &t.completed);
    ++t.added;
    if (seq_out) *seq_out = seq;
    return BL_OK;
  }

  void txn_commit(Txn& t) {
    if (t.added > 0) {
      insert_subtrees(t.completed);
      // The commit's last entry carries the tree's head: no page of its own to write.
      std::string head = t.next.serialize();
      insert_row(*t.last, t.last_entry, &head);
      if (checkpoint_due(t.next.size())) t.note = insert_checkpoint(t.next);
    }
    exec("COMMIT");
    {
      std::lock_guard lock(mutex);
      frontier = t.next;
      ++commits;
    }
    if (t.note) checkpointed(t.next.size(), *t.note);
  }

  void txn_abort() { sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr); }


  // A checkpoint on its own (the interval passed with no appends, or at close).
  void checkpoint_alone() {
    std::string note;
    Frontier tree;
    {
      std::lock_guard lock(mutex);
      tree = frontier;
    }
    try {
      exec("BEGIN IMMEDIATE");
      note = insert_checkpoint(tree);
      exec("COMMIT");
    } catch (const std::exception& e) {
      txn_abort();
      log::error("audit", std::string("could not write a checkpoint: ") + e.what());
      checkpoint_at = Clock::now();  // try again after another interval, not in a tight loop
      return;
    }
    checkpointed(tree.size(), note);
  }

  // One batch of appends, one transaction.
  void commit(std::vector<Pending>& batch) {
    Txn t;
    std::vector<std::function<void(bl_status)>> accepted;
    bl_status status = BL_OK;
    try {
      txn_begin(t);
      for (Pending& p : batch) {
        bl_status s = txn_add(t, p.entry, p.seq);
        if (s != BL_OK) {
          if (p.done) p.done(s);
          continue;
        }
        accepted.push_back(std::move(p.done));
      }
      txn_commit(t);
    } catch (const std::exception& e) {
      txn_abort();
      log::error("audit", std::string("the audit ledger could not commit ") + std::to_string(accepted.size()) +
                              " entries: " + e.what());
      status = BL_UNAVAILABLE;  // nothing of this batch is acknowledged; the tree is unchanged
    }
    acknowledge(std::move(accepted), status);
  }

  // Acknowledgements run on a thread of their own, so that the writer goes on to the next commit
  // while the callers of the last one are told (each callback may post to an executor, lock, wake
  // a thread: at dozens per commit that is time the disk would otherwise sit idle).
  struct Acks {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::pair<std::vector<std::function<void(bl_status)>>, bl_status>> batches;
    bool stopping = false;
    bool busy = false;  // a batch is being told
    std::thread thread;
  } acks;

  // A small batch is told at once, on the writer (a hand-off would cost a lone appender more than
  // its callback does), unless larger ones are still being told: the order of batches is kept.
  static constexpr std::size_t kAcknowledgeInline = 4;

  void acknowledge(std::vector<std::function<void(bl_status)>> dones, bl_status status) {
    if (dones.empty()) return;
    {
      std::lock_guard lock(acks.mutex);
      if (dones.size() > kAcknowledgeInline || !acks.batches.empty() || acks.busy) {
        acks.batches.emplace_back(std::move(dones), status);
        acks.wake.notify_one();
        return;
      }
    }
    for (auto& done : dones)
      if (done) done(status);
  }

  void run_acks() {
    for (;;) {
      std::pair<std::vector<std::function<void(bl_status)>>, bl_status> batch;
      {
        std::unique_lock lock(acks.mutex);
        acks.busy = false;
        acks.wake.wait(lock, [this] { return acks.stopping || !acks.batches.empty(); });
        if (acks.batches.empty()) return;  // stopping, all told
        batch = std::move(acks.batches.front());
        acks.batches.pop_front();
        acks.busy = true;
      }
      for (auto& done : batch.first)
        if (done) done(batch.second);
    }
  }

  void stop_acks() {
    {
      std::lock_guard lock(acks.mutex);
      acks.stopping = true;
    }
    acks.wake.notify_one();
    if (acks.thread.joinable()) acks.thread.join();
  }

  // Runs `action` and appends `record` (the audit of that action) in one transaction, so that
  // an action is never done unaudited nor audited undone. Throws when it cannot be written.
  template <class Action>
  std::uint64_t audited(boost::json::object record, Action action) {
    Txn t;
    std::uint64_t seq = 0;
    try {
      txn_begin(t);
      action(record);
      Prepared prepared = prepare(std::move(record));
      if (txn_add(t, prepared, &seq) != BL_OK) throw std::invalid_argument("the audit record cannot be canonicalised");
      txn_commit(t);
    } catch (...) {
      txn_abort();
      throw;
    }
    return seq;
  }

  boost::json::object management_record(std::string action, const std::string& by, boost::json::object resource) const {
    return boost::json::object{{"action", std::move(action)},
                               {"actor", boost::json::object{{"principal", by}, {"role", "operator"}}},
                               {"resource", std::move(resource)},
                               {"outcome", "success"},
                               {"retention", options.retention.longest_class()}};
  }

  // ---- retention ----

  // One purge batch: at most options.purge_batch expired, unheld entries lose their payload, and
  // an audit.purge entry lists them, in one transaction. Returns how many were purged.
  std::uint64_t purge_batch(std::chrono::system_clock::time_point now) {
    std::vector<std::uint64_t> seqs;
    std::map<std::string, std::uint64_t> by_class;
    std::string purged_at = log::utc_now_rfc3339();
    auto record = management_record("audit.purge", "system:retention", boost::json::object{{"type", "ledger"}});
    audited(std::move(record), [&](boost::json::object& r) {
      Statement candidates(db,
                           // The ledger's own purge records are kept for good: verify needs them to tell a
                           // purged entry from one emptied by hand (they hold no personal data).
                           "SELECT seq FROM entries e WHERE e.retention = ?1 AND e.time < ?2 AND e.purged IS NULL"
                           " AND e.canonical NOT LIKE '%\"action\":\"audit.purge\"%'"
                           " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.released_at IS NULL AND ("
                           "  (h.customer IS NOT NULL AND h.customer = e.customer) OR"
                           "  (h.consultation IS NOT NULL AND h.consultation = e.consultation) OR"
                           "  (h.from_time IS NOT NULL AND e.time >= h.from_time AND e.time < h.to_time)))"
                           " ORDER BY time LIMIT ?3");
      for (const auto& [name, period] : options.retention.classes) {
        auto cutoff = options.retention.cutoff(name, now);
        if (!cutoff || seqs.size() >= options.purge_batch) continue;
        candidates.reset();
        sqlite3_bind_text(candidates.s, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
        sqlite3_bind_text(candidates.s, 2, cutoff->data(), static_cast<int>(cutoff->size()), SQLITE_STATIC);
        sqlite3_bind_int64(candidates.s, 3, static_cast<sqlite3_int64>(options.purge_batch - seqs.size()));
        while (sqlite3_step(candidates.s) == SQLITE_ROW) {
          seqs.push_back(static_cast<std::uint64_t>(sqlite3_column_int64(candidates.s, 0)));
          ++by_class[name];
        }
      }
      if (seqs.empty()) throw NothingToDo{};
      // secure_delete overwrites the old text in the page; the WAL is truncated after the pass.
      Statement purge(db, "UPDATE entries SET canonical = '', purged = ?2 WHERE seq = ?1");
      for (std::uint64_t seq : seqs) {
        purge.reset();
        sqlite3_bind_int64(purge.s, 1, static_cast<sqlite3_int64>(seq));
        sqlite3_bind_text(purge.s, 2, purged_at.data(), static_cast<int>(purged_at.size()), SQLITE_STATIC);
        if (sqlite3_step(purge.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
      }
      std::sort(seqs.begin(), seqs.end());
      boost::json::array ranges;
      for (std::size_t i = 0; i < seqs.size();) {
        std::size_t j = i;
        while (j + 1 < seqs.size() && seqs[j + 1] == seqs[j] + 1) ++j;
        ranges.push_back(boost::json::array{seqs[i], seqs[j]});
        i = j + 1;
      }
      boost::json::object classes;
      for (const auto& [name, count] : by_class) classes[name] = count;
      r["purged"] = boost::json::object{{"count", seqs.size()}, {"ranges", std::move(ranges)}, {"classes", std::move(classes)}};
    });
    return seqs.size();
  }
  struct NothingToDo {};

  PurgeReport purge(std::chrono::system_clock::time_point now) {
    PurgeReport report;
    for (;;) {
      std::uint64_t n = 0;
      try {
        n = purge_batch(now);
      } catch (const NothingToDo&) {
        txn_abort();
      }
      if (n == 0) break;
      report.purged += n;
      ++report.batches;
      // Appends waiting now go first: purging never holds the writer for more than one batch.
      serve_waiting_appends();
    }
    if (report.purged > 0) report.wal_truncated = truncate_wal();
    return report;
  }

  // Copies the WAL back and truncates it, so that purged bytes do not survive there.
  bool truncate_wal() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) == SQLITE_OK) return true;
      serve_waiting_appends();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    log::warn("audit", "the ledger's WAL could not be truncated after a purge (a reader holds it); the next purge will");
    return false;
  }

  void serve_waiting_appends() {
    std::vector<Pending> batch;
    {
      std::lock_guard lock(mutex);
      while (!queue.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    if (!batch.empty()) commit(batch);
  }

  // ---- legal holds and erasure ----

  std::uint64_t place_hold(const LegalHold& hold) {
    std::uint64_t id = 0;
    boost::json::object resource{{"type", "legal_hold"}};
    if (hold.customer) resource["customer"] = *hold.customer;
    if (hold.consultation) resource["consultation"] = *hold.consultation;
    auto record = management_record("audit.hold.place", hold.by, std::move(resource));
    record["reason"] = hold.reason;
    if (hold.from) record["from"] = *hold.from;
    if (hold.to) record["to"] = *hold.to;
    audited(std::move(record), [&](boost::json::object& r) {
      Statement insert(db,
                       "INSERT INTO holds(customer, consultation, from_time, to_time, reason, placed_by, placed_at)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      auto bind = [&](int i, const std::optional<std::string>& v) {
        if (v) sqlite3_bind_text(insert.s, i, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
      };
      bind(1, hold.customer);
      bind(2, hold.consultation);
      bind(3, hold.from);
      bind(4, hold.to);
      bind(5, hold.reason);
      bind(6, hold.by);
      bind(7, log::utc_now_rfc3339());
      if (sqlite3_step(insert.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
      id = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db));
      r["resource"].as_object()["id"] = id;
    });
    return id;
  }

  bool release_hold(std::uint64_t id, const std::string& by, const std::string& reason) {
    bool released = false;
    auto record = management_record("audit.hold.release", by, boost::json::object{{"type", "legal_hold"}, {"id", id}});
    record["reason"] = reason;
    try {
      audited(std::move(record), [&](boost::json::object&) {
        Statement update(db, "UPDATE holds SET released_at = ?2, released_by = ?3 WHERE id = ?1 AND released_at IS NULL");
        std::string now = log::utc_now_rfc3339();
        sqlite3_bind_int64(update.s, 1, static_cast<sqlite3_int64>(id));
        sqlite3_bind_text(update.s, 2, now.data(), static_cast<int>(now.size()), SQLITE_STATIC);
        sqlite3_bind_text(update.s, 3, by.data(), static_cast<int>(by.size()), SQLITE_STATIC);
        if (sqlite3_step(update.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        if (sqlite3_changes(db) == 0) throw NothingToDo{};
        released = true;
      });
    } catch (const NothingToDo&) {
    }
    return released;
  }

  // The active hold that covers any entry of the customer, if one does.
  std::optional<std::uint64_t> hold_on_customer(const std::string& customer) {
    Statement s(db,
                "SELECT h.id FROM holds h WHERE h.released_at IS NULL AND ("
                " h.customer = ?1 OR"
                " (h.consultation IS NOT NULL AND EXISTS (SELECT 1 FROM entries e WHERE e.customer = ?1"
                "   AND e.consultation = h.consultation)) OR"
                " (h.from_time IS NOT NULL AND EXISTS (SELECT 1 FROM entries e WHERE e.customer = ?1"
                "   AND e.time >= h.from_time AND e.time < h.to_time))) LIMIT 1");
    sqlite3_bind_text(s.s, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_STATIC);
    if (sqlite3_step(s.s) == SQLITE_ROW) return static_cast<std::uint64_t>(sqlite3_column_int64(s.s, 0));
    return std::nullopt;
  }

  EraseResult erase(const std::string& customer, const std::string& by, const std::string& reason,
                    bool completing = false) {
    if (!keys) throw std::runtime_error("this ledger keeps no personal-data keys");
    // A hold is checked again when an interrupted erasure is completed: one may have been placed since.
    if (auto hold = hold_on_customer(customer)) {
      if (completing) keys->cancel_erase(customer);
      auto record = management_record("audit.erase", by, boost::json::object{{"type", "customer"}, {"customer", customer}});
      record["outcome"] = "refused";
      record["reason"] = "legal hold " + std::to_string(*hold);
      audited(std::move(record), [](boost::json::object&) {});
      return EraseResult::held;
    }
    bool had_key = completing || keys->has_key(customer);
    // Phase one marks the key; the audit entry commits; phase two destroys it. A crash in
    // between is finished at the next open (completing = true); an entry that cannot be
    // written undoes the mark, so that no erasure happens unrecorded.
    keys->begin_erase(customer);
    auto record = management_record("audit.erase", by, boost::json::object{{"type", "customer"}, {"customer", customer}});
    record["reason"] = reason;
    if (completing) record["completed_after_restart"] = true;
    if (!had_key) record["note"] = "no personal data was held for this customer";
    try {
      audited(std::move(record), [](boost::json::object&) {});
    } catch (...) {
      keys->cancel_erase(customer);
      throw;
    }
    keys->finish_erase(customer);
    return had_key ? EraseResult::erased : EraseResult::no_key;
  }

  // ---- the writer thread ----

  void run() {
    for (;;) {
      std::vector<Pending> batch;
      std::function<void()> task;
      bool checkpoint_now = false;
      bool purge_now = false;
      {
        std::unique_lock lock(mutex);
        while (!stopping && queue.empty() && tasks.empty()) {
          auto deadline = Clock::time_point::max();
          if (frontier.size() > checkpoint_size) deadline = checkpoint_at + options.checkpoint_interval;
          if (options.purge_interval.count() > 0) deadline = std::min(deadline, next_purge);
          if (Clock::now() >= deadline) {
            checkpoint_now = frontier.size() > checkpoint_size && Clock::now() >= checkpoint_at + options.checkpoint_interval;
            purge_now = options.purge_interval.count() > 0 && Clock::now() >= next_purge;
            break;
          }
          if (deadline == Clock::time_point::max())
            wake.wait(lock);
          else
            wake.wait_until(lock, deadline);
        }
        if (queue.empty() && tasks.empty() && !checkpoint_now && !purge_now) {  // stopping; all written
          bool last = frontier.size() > checkpoint_size;
          lock.unlock();
          if (last) checkpoint_alone();
          return;
        }
        while (!queue.empty() && batch.size() < kMaxBatch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        if (batch.empty() && !tasks.empty()) {
          task = std::move(tasks.front());
          tasks.pop_front();
        }
      }
      if (!batch.empty()) {
        commit(batch);
      } else if (task) {
        task();
      } else if (purge_now) {
        next_purge = Clock::now() + options.purge_interval;
        try {
          PurgeReport r = purge(std::chrono::system_clock::now());
          if (r.purged) log::info("audit", "retention: purged the payload of " + std::to_string(r.purged) + " entries");
        } catch (const std::exception& e) {
          log::error("audit", std::string("retention purge failed: ") + e.what());
        }
      } else if (checkpoint_now) {
        checkpoint_alone();
      }
      finish_wal_checkpoint();
    }
  }

  // Runs `work` on the writer thread (between append batches) and waits for its result.
  template <class Work>
  auto on_writer(Work work) -> decltype(work()) {
    using Result = decltype(work());
    auto promise = std::make_shared<std::promise<Result>>();
    auto future = promise->get_future();
    {
      std::lock_guard lock(mutex);
      if (stopping) throw std::runtime_error("the audit ledger is closing");
      tasks.push_back([promise, work = std::move(work)]() mutable {
        try {
          if constexpr (std::is_void_v<Result>) {
            work();
            promise->set_value();
          } else {
            promise->set_value(work());
          }
        } catch (...) {
          promise->set_exception(std::current_exception());
        }
      });
    }
    wake.notify_one();
    return future.get();
  }

  // Ledgers made before subtrees were stored: fill them in once, from the leaves.
  void fill_subtrees() {
    Statement count(db, "SELECT count(*) FROM subtrees");
    sqlite3_step(count.s);
    if (sqlite3_column_int64(count.s, 0) != 0 || frontier.size() < (1u << kStoredLevelStride)) return;
    exec("BEGIN IMMEDIATE");
    Statement leaves(db, "SELECT leaf FROM entries ORDER BY seq");
    Frontier rebuilt;
    std::vector<Frontier::Completed> completed;
    while (sqlite3_step(leaves.s) == SQLITE_ROW) {
      auto leaf = as_hash(blob(leaves.s, 0));
      if (!leaf) throw std::runtime_error("audit ledger " + file.string() + ": a leaf hash is damaged; run `branchline audit verify`");
      rebuilt.append(*leaf, &completed);
    }
    insert_subtrees(completed);
    exec("COMMIT");
  }

  // When the latest checkpoint is not at the end of the published copy (a crash between the
  // commit and the append), append it now.
  void republish_latest() {
    Statement last(db, "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1");
    if (sqlite3_step(last.s) != SQLITE_ROW) return;
    std::string note(text(last.s, 0));
    std::string tail;
    {
      std::ifstream in(options.publish_to, std::ios::binary | std::ios::ate);
      if (in) {
        std::streamoff length = in.tellg();
        std::streamoff from = std::max<std::streamoff>(0, length - static_cast<std::streamoff>(note.size() + 1));
        in.seekg(from);
        tail.assign(static_cast<std::size_t>(length - from), '\0');
        in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
      }
    }
    if (tail != note + "\n") publish(note);
  }
};

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<Ledger> Ledger::open(const fs::path& file, LedgerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  if (options.checkpoint_every == 0) options.checkpoint_every = 1;
  if (sqlite3_open_v2(file.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    throw std::runtime_error("audit ledger " + file.string() + ": cannot open: " +
                             (impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  sqlite3_busy_timeout(impl->db, 5000);
  // One writer process: SQLite's own locks are per transaction, but the tree state is in memory.
  impl->lock_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (impl->lock_fd < 0 || ::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0)
    throw std::runtime_error("audit ledger " + file.string() +
                             " is open in another process (a running branchlined?); fix: stop it, or use its API");
  impl->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;");
  impl->exec(kSchema);
  auto has_column = [&](const char* name) {
    Statement has(impl->db, "SELECT count(*) FROM pragma_table_info('entries') WHERE name = ?1");
    sqlite3_bind_text(has.s, 1, name, -1, SQLITE_STATIC);
    sqlite3_step(has.s);
    return sqlite3_column_int(has.s, 0) != 0;
  };
  // Ledgers from before retention: add its columns.
  {
    if (!has_column("purged"))
      impl->exec("BEGIN IMMEDIATE; ALTER TABLE entries ADD COLUMN time TEXT; ALTER TABLE entries ADD COLUMN retention TEXT;"
                 "ALTER TABLE entries ADD COLUMN customer TEXT; ALTER TABLE entries ADD COLUMN consultation TEXT;"
                 "ALTER TABLE entries ADD COLUMN purged TEXT;"
                 "UPDATE entries SET time = json_extract(canonical, '$.time'),"
                 " retention = coalesce(json_extract(canonical, '$.retention'), 'standard'),"
                 " customer = json_extract(canonical, '$.resource.customer'),"
                 " consultation = json_extract(canonical, '$.resource.consultation'); COMMIT;");
  }
  // Ledgers from before heads moved into the entries: move them.
  {
    if (!has_column("head"))
      impl->exec("BEGIN IMMEDIATE; ALTER TABLE entries ADD COLUMN head BLOB;"
                 "UPDATE entries SET head = (SELECT frontier FROM heads WHERE heads.size = entries.seq)"
                 " WHERE seq IN (SELECT size FROM heads);"
                 "DROP TABLE heads; COMMIT;");
  }
  impl->exec(kIndexes);

  // Origin and key: recorded at creation, required to match afterwards.
  auto recorded_origin = meta(impl->db, "origin");
  auto recorded_key = meta(impl->db, "verifier_key");
  if (recorded_origin && !options.origin.empty() && options.origin != *recorded_origin)
    throw std::runtime_error("audit ledger " + file.string() + " was created with origin \"" + *recorded_origin +
                             "\", not \"" + options.origin + "\"; fix: set audit.origin back, or start a new ledger");
  if (options.origin.empty()) options.origin = recorded_origin ? *recorded_origin : kDefaultOrigin;
  if (options.origin.find('\n') != std::string::npos || options.origin.size() > 1024)
    throw std::runtime_error("audit ledger origin must be one line of at most 1024 bytes");
  if (options.signing_key.empty()) options.signing_key = file.parent_path() / "audit-signing.key";
  std::string key_name = options.origin;
  std::replace_if(key_name.begin(), key_name.end(), [](char c) { return c == '+' || c == ' '; }, '_');
  impl->signer = load_or_create_key(options.signing_key, key_name);
  std::string verifier = impl->signer->verifier().encode();
  if (recorded_key && *recorded_key != verifier)
    throw std::runtime_error("the signing key " + options.signing_key.string() + " is not the key audit ledger " +
                             file.string() + " was created with (" + *recorded_key +
                             "); fix: restore that key file, or start a new ledger");
  if (!recorded_origin || !recorded_key) {
    impl->exec("BEGIN IMMEDIATE");
    set_meta(impl->db, "origin", options.origin);
    set_meta(impl->db, "verifier_key", verifier);
    impl->exec("COMMIT");
  }
  impl->options = options;

  {
    Statement last(impl->db, "SELECT seq, head FROM entries ORDER BY seq DESC LIMIT 1");
    if (sqlite3_step(last.s) == SQLITE_ROW) {
      auto f = Frontier::parse(blob(last.s, 1));
      if (!f || f->size() != static_cast<std::uint64_t>(sqlite3_column_int64(last.s, 0)))
        throw std::runtime_error("audit ledger " + file.string() +
                                 ": its last entry carries no valid tree head (entries missing at the end?);"
                                 " run `branchline audit verify`");
      impl->frontier = *f;
    }
    Statement checkpoint(impl->db, "SELECT coalesce(max(size), 0) FROM checkpoints");
    sqlite3_step(checkpoint.s);
    impl->checkpoint_size = static_cast<std::uint64_t>(sqlite3_column_int64(checkpoint.s, 0));
  }
  impl->insert_entry.emplace(impl->db,
                             "INSERT INTO entries(seq, canonical, leaf, time, retention, customer, consultation, head)"
                             " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  impl->insert_subtree.emplace(impl->db, "INSERT OR REPLACE INTO subtrees(level, idx, hash) VALUES(?1, ?2, ?3)");
  impl->fill_subtrees();
  impl->keys = PersonalKeys::open(options.personal_keys.empty() ? file.parent_path() / "audit-keys.db" : options.personal_keys,
                                  options.key_encryption_key.empty() ? file.parent_path() / "audit-kek.key"
                                                                     : options.key_encryption_key);
  impl->next_purge = Clock::now();
  // Erasures a crash interrupted after their first phase are finished (and audited) now.
  for (const std::string& customer : impl->keys->pending_erasures())
    impl->erase(customer, "system:restart", "an erasure interrupted by a restart", true);

  if (!options.publish_to.empty()) {
    impl->publish_fd = ::open(options.publish_to.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (impl->publish_fd < 0)
      throw std::runtime_error("cannot open " + options.publish_to.string() + " to publish audit checkpoints: " +
                               std::strerror(errno) + "; fix: create the directory, or check audit.publish_to");
    impl->republish_latest();
  }
  Impl* raw = impl.get();
  impl->acks.thread = std::thread([raw] { raw->run_acks(); });
  impl->start_wal_checkpointer();
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
  impl_->stop_wal_checkpointer();
  impl_->stop_acks();  // every acknowledgement is delivered before the ledger is gone
}

void Ledger::append(boost::json::object entry, std::function<void(bl_status)> done) {
  // Serialised here, on the appender's thread, so that the writer's time goes to the disk.
  Impl::Prepared prepared;
  try {
    prepared = impl_->prepare(std::move(entry));
  } catch (const std::invalid_argument&) {
    if (done) done(BL_INVALID_ARGUMENT);
    return;
  }
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) {
      if (done) done(BL_UNAVAILABLE);
      return;
    }
    impl_->queue.push_back({std::move(prepared), std::move(done), nullptr});
  }
  impl_->wake.notify_one();
}

std::uint64_t Ledger::append_and_wait(boost::json::object entry) {
  std::promise<bl_status> written;
  std::uint64_t seq = 0;
  Impl::Prepared prepared;
  try {
    prepared = impl_->prepare(std::move(entry));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("the entry cannot be written: ") + e.what());
  }
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) throw std::runtime_error("the audit ledger is closing");
    impl_->queue.push_back({std::move(prepared), [&written](bl_status s) { written.set_value(s); }, &seq});
  }
  impl_->wake.notify_one();
  bl_status status = written.get_future().get();
  if (status == BL_INVALID_ARGUMENT) throw std::invalid_argument("the entry cannot be canonicalised (RFC 8785)");
  if (status != BL_OK) throw std::runtime_error("the audit ledger could not store the entry");
  return seq;
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

std::uint64_t Ledger::checkpointed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->checkpoint_size;
}

const NoteVerifier& Ledger::verifier() const { return impl_->signer->verifier(); }

PurgeReport Ledger::purge_expired(std::chrono::system_clock::time_point now) {
  return impl_->on_writer([this, now] { return impl_->purge(now); });
}

std::uint64_t Ledger::place_hold(const LegalHold& hold) {
  if (!hold.customer && !hold.consultation && !(hold.from && hold.to))
    throw std::invalid_argument("a legal hold names a customer, a consultation, or a time range (from and to)");
  if (hold.reason.empty() || hold.by.empty()) throw std::invalid_argument("a legal hold needs a reason and who placed it");
  return impl_->on_writer([this, hold] { return impl_->place_hold(hold); });
}

bool Ledger::release_hold(std::uint64_t id, const std::string& by, const std::string& reason) {
  return impl_->on_writer([=, this] { return impl_->release_hold(id, by, reason); });
}

EraseResult Ledger::erase_customer(const std::string& customer, const std::string& by, const std::string& reason) {
  if (customer.empty()) throw std::invalid_argument("erasure needs a customer id");
  return impl_->on_writer([=, this] { return impl_->erase(customer, by, reason); });
}

}  // namespace branchline::audit
