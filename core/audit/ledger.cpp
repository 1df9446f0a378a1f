// ledger: see ledger.hpp.
#include "audit/ledger.hpp"

#include "audit/canonical_json.hpp"
#include "audit/sqlite_rows.hpp"
#include "common/log.hpp"

#include <boost/json/parse.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace sqlite_rows;

constexpr std::size_t kMaxBatch = 1024;
constexpr const char* kDefaultOrigin = "branchline/audit";
constexpr std::size_t kMaxKeyFile = 4096;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, canonical TEXT NOT NULL, leaf BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS heads (size INTEGER PRIMARY KEY, root BLOB NOT NULL, frontier BLOB NOT NULL,"
    " time TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS subtrees (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
    " PRIMARY KEY (level, idx)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);";

// Writes a whole small file that must not exist yet, with the given mode, and syncs it.
void create_file(const fs::path& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path.string());
}

NoteSigner load_or_create_key(const fs::path& path, const std::string& name) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    NoteSigner signer = NoteSigner::generate(name);
    create_file(path, signer.encode() + "\n", 0600);
    fs::path pub = path;
    pub += ".pub";
    fs::remove(pub, ec);
    create_file(pub, signer.verifier().encode() + "\n", 0644);
    log::info("audit", "created the ledger's signing key " + path.string() + "; its verifier key is in " + pub.string());
    return signer;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077))
    log::warn("audit", "the signing key " + path.string() + " is readable by others; fix: chmod 600 it");
  std::ifstream in(path, std::ios::binary);
  std::string content(kMaxKeyFile + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (content.size() > kMaxKeyFile) throw std::runtime_error("the signing key " + path.string() + " is not a key file");
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
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
  struct Pending {
    boost::json::object entry;
    std::function<void(bl_status)> done;
    std::uint64_t* seq = nullptr;  // append_and_wait's: receives the sequence number given
  };

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
  std::thread writer;

  ~Impl() {
    sqlite3_close(db);
    if (publish_fd >= 0) ::close(publish_fd);
  }

  void exec(const char* sql) { audit::exec(db, file, sql); }

  void insert_subtrees(const std::vector<Frontier::Completed>& completed) {
    if (completed.empty()) return;
    Statement insert(db, "INSERT OR REPLACE INTO subtrees(level, idx, hash) VALUES(?1, ?2, ?3)");
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
    ssize_t n = ::write(publish_fd, record.data(), record.size());
    if (n != static_cast<ssize_t>(record.size()) || ::fdatasync(publish_fd) != 0)
      log::error("audit", "could not append the checkpoint to " + options.publish_to.string() + ": " +
                              std::strerror(errno));
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
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      log::error("audit", std::string("could not write a checkpoint: ") + e.what());
      checkpoint_at = Clock::now();  // try again after another interval, not in a tight loop
      return;
    }
    checkpointed(tree.size(), note);
  }

  // One batch, one transaction.
  void commit(std::vector<Pending>& batch) {
    Frontier next;
    {
      std::lock_guard lock(mutex);
      next = frontier;
    }
    std::vector<std::function<void(bl_status)>> accepted;
    std::vector<Frontier::Completed> completed;
    std::optional<std::string> note;
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
        insert.reset();
        sqlite3_bind_int64(insert.s, 1, static_cast<sqlite3_int64>(seq));
        sqlite3_bind_text(insert.s, 2, canonical.data(), static_cast<int>(canonical.size()), SQLITE_STATIC);
        sqlite3_bind_blob(insert.s, 3, leaf.data(), 32, SQLITE_STATIC);
        if (sqlite3_step(insert.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        next.append(leaf, &completed);
        if (p.seq) *p.seq = seq;
        accepted.push_back(std::move(p.done));
      }
      if (!accepted.empty()) {
        insert_subtrees(completed);
        Statement head(db, "INSERT INTO heads(size, root, frontier, time) VALUES(?1, ?2, ?3, ?4)");
        Hash root = next.root();
        std::string frontier_bytes = next.serialize();
        std::string time = log::utc_now_rfc3339();
        sqlite3_bind_int64(head.s, 1, static_cast<sqlite3_int64>(next.size()));
        sqlite3_bind_blob(head.s, 2, root.data(), 32, SQLITE_STATIC);
        sqlite3_bind_blob(head.s, 3, frontier_bytes.data(), static_cast<int>(frontier_bytes.size()), SQLITE_STATIC);
        sqlite3_bind_text(head.s, 4, time.data(), static_cast<int>(time.size()), SQLITE_STATIC);
        if (sqlite3_step(head.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        if (checkpoint_due(next.size())) note = insert_checkpoint(next);
      }
      exec("COMMIT");
      std::lock_guard lock(mutex);
      frontier = next;
      ++commits;
    } catch (const std::exception& e) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      log::error("audit", std::string("the audit ledger could not commit ") + std::to_string(accepted.size()) +
                              " entries: " + e.what());
      status = BL_UNAVAILABLE;  // nothing of this batch is acknowledged; the tree is unchanged
      note.reset();
    }
    if (note) checkpointed(next.size(), *note);
    for (auto& done : accepted)
      if (done) done(status);
  }

  void run() {
    for (;;) {
      std::vector<Pending> batch;
      bool checkpoint_now = false;
      {
        std::unique_lock lock(mutex);
        while (!stopping && queue.empty()) {
          if (frontier.size() > checkpoint_size) {
            auto deadline = checkpoint_at + options.checkpoint_interval;
            if (Clock::now() >= deadline) {
              checkpoint_now = true;
              break;
            }
            wake.wait_until(lock, deadline);
          } else {
            wake.wait(lock);
          }
        }
        if (queue.empty() && !checkpoint_now) {  // stopping, and everything is written
          bool last = frontier.size() > checkpoint_size;
          lock.unlock();
          if (last) checkpoint_alone();
          return;
        }
        while (!queue.empty() && batch.size() < kMaxBatch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      if (batch.empty())
        checkpoint_alone();
      else
        commit(batch);
    }
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
  impl->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;");
  impl->exec(kSchema);

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
    Statement checkpoint(impl->db, "SELECT coalesce(max(size), 0) FROM checkpoints");
    sqlite3_step(checkpoint.s);
    impl->checkpoint_size = static_cast<std::uint64_t>(sqlite3_column_int64(checkpoint.s, 0));
  }
  impl->fill_subtrees();

  if (!options.publish_to.empty()) {
    impl->publish_fd = ::open(options.publish_to.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (impl->publish_fd < 0)
      throw std::runtime_error("cannot open " + options.publish_to.string() + " to publish audit checkpoints: " +
                               std::strerror(errno) + "; fix: create the directory, or check audit.publish_to");
    impl->republish_latest();
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
    impl_->queue.push_back({std::move(entry), std::move(done), nullptr});
  }
  impl_->wake.notify_one();
}

std::uint64_t Ledger::append_and_wait(boost::json::object entry) {
  std::promise<bl_status> written;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) throw std::runtime_error("the audit ledger is closing");
    impl_->queue.push_back({std::move(entry), [&written](bl_status s) { written.set_value(s); }, &seq});
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

}  // namespace branchline::audit
