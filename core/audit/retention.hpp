// retention: how long an audit entry's payload is kept, by retention class.
//
// Contract:
//  - A class's period is whole days ("30d") or calendar years ("7y": the same date N years later,
//    29 February becoming 28 February). Defaults from the brief: standard 30d, regulated 7y,
//    investment 10y. The legal periods are the bank's counsel's to set per product; these are
//    starting points, not advice.
//  - class_for() picks an entry's class: its own "retention" member when present; else the class
//    configured for its "consultation_type" (top level or under "resource"); else the default.
//  - An entry is expired when its time is before cutoff(class, now). A class the policy does not
//    know never expires (an entry is never purged early because of a typo).
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace branchline::audit {

struct RetentionPeriod {
  int days = 0;
  int years = 0;
  // "30d", "7y"; nullopt otherwise (at most 100 years, 36500 days).
  static std::optional<RetentionPeriod> parse(std::string_view text);
  std::string to_string() const;
};

struct RetentionPolicy {
  std::map<std::string, RetentionPeriod> classes{
      {"standard", {30, 0}}, {"regulated", {0, 7}}, {"investment", {0, 10}}};
  std::map<std::string, std::string> by_consultation_type;  // e.g. loan_origination -> regulated
  std::string default_class = "standard";

  std::string class_for(const boost::json::object& entry) const;
  // The class kept longest: the ledger's own records of purges, holds and erasures take it.
  std::string longest_class() const;
  // The ledger time (RFC 3339 UTC, microseconds) before which entries of `name` are expired, or
  // nullopt when the class is unknown (never expires).
  std::optional<std::string> cutoff(const std::string& name, std::chrono::system_clock::time_point now) const;
};

// A time point as the ledger writes times: 2026-11-24T10:00:00.123456Z.
std::string ledger_time(std::chrono::system_clock::time_point t);

// Milliseconds since the epoch of a time in the ledger's form (2026-11-24T10:00:00.123456Z), or 0
// when it is not one.
std::int64_t ledger_epoch_ms(std::string_view t);

// A caller's RFC 3339 UTC time ("2026-11-24T10:00:00Z", with 0 to 6 fraction digits) in the
// ledger's form, so that times compare as text; nullopt for anything else (another offset, no
// seconds, a date alone, an impossible date). Entries carry times in this form only.
std::optional<std::string> normalize_ledger_time(std::string_view t);

// A query's bound: "" (unbounded) stays "", a date ("2026-11-01") is its midnight UTC, anything
// else as normalize_ledger_time(). For `branchline audit` and the API's audit routes.
std::optional<std::string> normalize_query_time(std::string_view t);

}  // namespace branchline::audit
