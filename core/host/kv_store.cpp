// kv_store: see kv_store.hpp.
#include "host/kv_store.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace branchline::host {
namespace {

bool key_ok(std::string_view key) { return !key.empty() && key.size() <= KvStore::kMaxKeyBytes; }

// Runs one prepared statement to completion and resets it.
struct Reset {
  sqlite3_stmt* s;
  ~Reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

}  // namespace

std::unique_ptr<KvStore> KvStore::open(const std::filesystem::path& file, std::uint64_t quota_bytes) {
  std::unique_ptr<KvStore> kv(new KvStore());
  kv->quota_ = quota_bytes;
  int rc = sqlite3_open_v2(file.c_str(), &kv->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  auto fail = [&](const std::string& what) {
    std::string detail = kv->db_ ? sqlite3_errmsg(kv->db_) : "out of memory";
    throw std::runtime_error("key-value store " + file.string() + ": " + what + ": " + detail);
  };
  if (rc != SQLITE_OK) fail("cannot open");
  sqlite3_busy_timeout(kv->db_, 5000);
  const char* setup =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL;"
      "PRAGMA secure_delete=ON;"
      "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;";
  if (sqlite3_exec(kv->db_, setup, nullptr, nullptr, nullptr) != SQLITE_OK) fail("cannot initialise");
  if (sqlite3_prepare_v2(kv->db_, "SELECT value FROM kv WHERE key = ?1", -1, &kv->get_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(kv->db_, "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                         -1, &kv->put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(kv->db_, "DELETE FROM kv WHERE key = ?1", -1, &kv->erase_, nullptr) != SQLITE_OK)
    fail("cannot prepare");
  sqlite3_stmt* sum = nullptr;
  if (sqlite3_prepare_v2(kv->db_, "SELECT coalesce(sum(length(key) + length(value)), 0) FROM kv", -1, &sum, nullptr) !=
      SQLITE_OK)
    fail("cannot prepare");
  if (sqlite3_step(sum) == SQLITE_ROW) kv->used_ = static_cast<std::uint64_t>(sqlite3_column_int64(sum, 0));
  sqlite3_finalize(sum);
  return kv;
}

KvStore::~KvStore() {
  sqlite3_finalize(get_);
  sqlite3_finalize(put_);
  sqlite3_finalize(erase_);
  sqlite3_close(db_);
}

bl_status KvStore::get(std::string_view key, std::string& value) {
  if (!key_ok(key)) return BL_INVALID_ARGUMENT;
  std::lock_guard lock(mutex_);
  Reset reset{get_};
  sqlite3_bind_blob(get_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(get_);
  if (rc == SQLITE_DONE) return BL_NOT_FOUND;
  if (rc != SQLITE_ROW) return BL_INTERNAL;
  const void* data = sqlite3_column_blob(get_, 0);
  int size = sqlite3_column_bytes(get_, 0);
  value.assign(static_cast<const char*>(data ? data : ""), static_cast<std::size_t>(size));
  return BL_OK;
}

bl_status KvStore::put(std::string_view key, std::string_view value) {
  if (!key_ok(key) || value.size() > kMaxValueBytes) return BL_INVALID_ARGUMENT;
  std::lock_guard lock(mutex_);
  // The size of what the key holds now, for the quota.
  std::uint64_t previous = 0;
  {
    Reset reset{get_};
    sqlite3_bind_blob(get_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    if (sqlite3_step(get_) == SQLITE_ROW) previous = key.size() + static_cast<std::uint64_t>(sqlite3_column_bytes(get_, 0));
  }
  std::uint64_t after = used_ - previous + key.size() + value.size();
  if (after > quota_) return BL_RESOURCE_EXHAUSTED;
  Reset reset{put_};
  sqlite3_bind_blob(put_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  sqlite3_bind_blob(put_, 2, value.empty() ? "" : value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  if (sqlite3_step(put_) != SQLITE_DONE) return BL_INTERNAL;
  used_ = after;
  return BL_OK;
}

bl_status KvStore::erase(std::string_view key) {
  if (!key_ok(key)) return BL_INVALID_ARGUMENT;
  std::lock_guard lock(mutex_);
  std::uint64_t previous = 0;
  {
    Reset reset{get_};
    sqlite3_bind_blob(get_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    if (sqlite3_step(get_) == SQLITE_ROW) previous = key.size() + static_cast<std::uint64_t>(sqlite3_column_bytes(get_, 0));
  }
  Reset reset{erase_};
  sqlite3_bind_blob(erase_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  if (sqlite3_step(erase_) != SQLITE_DONE) return BL_INTERNAL;
  used_ -= previous;
  return BL_OK;
}

std::uint64_t KvStore::used_bytes() const {
  std::lock_guard lock(mutex_);
  return used_;
}

}  // namespace branchline::host
