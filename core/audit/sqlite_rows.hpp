// sqlite_rows: the few SQLite helpers the ledger's writer, reader and verifier share (internal to
// core/audit; not installed). Statements finalise themselves; errors become std::runtime_error.
#pragma once

#include "audit/merkle.hpp"

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace branchline::audit::sqlite_rows {

inline std::string_view blob(sqlite3_stmt* s, int column) {
  const void* data = sqlite3_column_blob(s, column);
  return {static_cast<const char*>(data ? data : ""), static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

inline std::string_view text(sqlite3_stmt* s, int column) {
  const unsigned char* data = sqlite3_column_text(s, column);
  return {reinterpret_cast<const char*>(data ? data : reinterpret_cast<const unsigned char*>("")),
          static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

inline std::optional<Hash> as_hash(std::string_view bytes) {
  if (bytes.size() != 32) return std::nullopt;
  Hash h;
  std::memcpy(h.data(), bytes.data(), 32);
  return h;
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
  void reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

inline void exec(sqlite3* db, const std::filesystem::path& file, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string why = error ? error : "unknown";
    sqlite3_free(error);
    throw std::runtime_error("audit ledger " + file.string() + ": " + why);
  }
}

inline std::optional<std::string> meta(sqlite3* db, const char* key) {
  Statement s(db, "SELECT value FROM meta WHERE key = ?1");
  sqlite3_bind_text(s.s, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step(s.s) != SQLITE_ROW) return std::nullopt;
  return std::string(text(s.s, 0));
}

inline void set_meta(sqlite3* db, const char* key, const std::string& value) {
  Statement s(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
  sqlite3_bind_text(s.s, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(s.s, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  if (sqlite3_step(s.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
}

}  // namespace branchline::audit::sqlite_rows
