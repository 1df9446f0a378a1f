// kv_store: the durable key-value store each plugin instance is lent (host->kv_get/put/delete).
//
// Contract: one SQLite database per instance (<data_dir>/plugins/<instance id>/kv.sqlite, WAL,
// synchronous=FULL): put and erase return only once the change is on disk. Keys are 1 byte to
// 1 KiB, values at most 1 MiB, and an instance holds at most `quota_bytes` of keys and values
// together; a put that would exceed it fails with BL_RESOURCE_EXHAUSTED and changes nothing.
// Thread-safe (one connection behind a mutex). Keys and values are bytes, never interpreted.
#pragma once

#include <branchline/abi.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace branchline::host {

class KvStore {
 public:
  static constexpr std::size_t kMaxKeyBytes = 1024;
  static constexpr std::size_t kMaxValueBytes = 1u << 20;

  // Opens (creating) the store. Throws std::runtime_error when the file cannot be opened.
  static std::unique_ptr<KvStore> open(const std::filesystem::path& file, std::uint64_t quota_bytes = 256ull << 20);
  ~KvStore();

  // BL_OK and the value, BL_NOT_FOUND, or BL_INVALID_ARGUMENT / BL_INTERNAL.
  bl_status get(std::string_view key, std::string& value);
  bl_status put(std::string_view key, std::string_view value);
  bl_status erase(std::string_view key);  // BL_OK also when the key was absent
  std::uint64_t used_bytes() const;

 private:
  KvStore() = default;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  std::uint64_t quota_ = 0;
  std::uint64_t used_ = 0;
  mutable std::mutex mutex_;
};

}  // namespace branchline::host
