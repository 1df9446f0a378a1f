// sqlite_db: a small RAII wrapper over SQLite for the reference plugins (they cannot use the
// host's internals: a plugin links only what it ships). Errors throw sdk::Error(BL_INTERNAL).
// A Database and its statements belong to one thread at a time (the plugin's worker).
#pragma once

#include <branchline/plugin.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace branchline::plugins {

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
      throw sdk::Error(BL_INTERNAL, std::string("SQL prepare failed: ") + sqlite3_errmsg(db));
  }
  // A statement Database keeps prepared: reset, not finalized, when done.
  Statement(sqlite3* db, sqlite3_stmt* kept, bool* in_use) : db_(db), stmt_(kept), in_use_(in_use) { *in_use_ = true; }
  ~Statement() {
    if (in_use_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      *in_use_ = false;
    } else {
      sqlite3_finalize(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& bind_null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  // true while there is a row.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) throw sdk::Error(BL_ALREADY_EXISTS, sqlite3_errmsg(db_));
    throw sdk::Error(BL_INTERNAL, std::string("SQL step failed: ") + sqlite3_errmsg(db_));
  }
  std::string text(int column) const {
    const unsigned char* t = sqlite3_column_text(stmt_, column);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;  // set for a kept statement
};

class Database {
 public:
  explicit Database(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw sdk::Error(BL_UNAVAILABLE, "cannot open " + path + ": " + why);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  }
  ~Database() {
    for (auto& [sql, kept] : kept_) sqlite3_finalize(kept.stmt);
    sqlite3_close(db_);
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string why = error ? error : "unknown";
      sqlite3_free(error);
      throw sdk::Error(BL_INTERNAL, "SQL failed: " + why);
    }
  }
  // The same SQL is prepared once and kept (SQLite's parser is a large part of a small query's
  // cost); a statement already in use (the same SQL twice at once) is prepared afresh.
  Statement prepare(std::string_view sql) {
    auto it = kept_.find(std::string(sql));
    if (it == kept_.end()) {
      if (kept_.size() >= kMaxKept) return Statement(db_, sql);
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
          SQLITE_OK)
        throw sdk::Error(BL_INTERNAL, std::string("SQL prepare failed: ") + sqlite3_errmsg(db_));
      it = kept_.emplace(std::string(sql), Kept{stmt, false}).first;
    }
    if (it->second.in_use) return Statement(db_, sql);
    return Statement(db_, it->second.stmt, &it->second.in_use);
  }

  // Runs f inside one transaction (BEGIN IMMEDIATE ... COMMIT; ROLLBACK when f throws).
  template <class F>
  auto transaction(F&& f) {
    exec("BEGIN IMMEDIATE");
    try {
      auto result = f();
      exec("COMMIT");
      return result;
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

 private:
  struct Kept {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  static constexpr std::size_t kMaxKept = 64;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, Kept> kept_;  // element addresses are stable (in_use pointers)
};

}  // namespace branchline::plugins
