// ledger_entries: the entries of an audit ledger as the tests read them: straight from its
// SQLite file (read-only, beside a running writer), parsed. Purged entries are skipped.
#pragma once

#include <boost/json/parse.hpp>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

namespace branchline::test {

inline std::vector<boost::json::object> ledger_entries(const std::filesystem::path& db_file) {
  std::vector<boost::json::object> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT canonical FROM entries WHERE purged IS NULL ORDER BY seq", -1, &s, nullptr) == SQLITE_OK)
      while (sqlite3_step(s) == SQLITE_ROW)
        out.push_back(boost::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))).as_object());
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

// The first entry with `action` (waiting up to 10 s for an asynchronous append), or an empty object.
inline boost::json::object ledger_entry(const std::filesystem::path& db_file, const std::string& action) {
  for (int i = 0; i < 1000; ++i) {
    for (auto& e : ledger_entries(db_file))
      if (e.contains("action") && e.at("action") == action.c_str()) return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

// The entries with `action` once there are at least `count` of them, waiting up to 10 s for
// asynchronous appends (a plugin's own entries are not waited for by the API: they may become
// durable a commit after the answer), or as many as there are by then.
inline std::vector<boost::json::object> ledger_entries_of(const std::filesystem::path& db_file, const std::string& action,
                                                          std::size_t count) {
  std::vector<boost::json::object> out;
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    for (auto& e : ledger_entries(db_file))
      if (e.contains("action") && e.at("action") == action.c_str()) out.push_back(std::move(e));
    if (out.size() >= count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return out;
}

}  // namespace branchline::test
