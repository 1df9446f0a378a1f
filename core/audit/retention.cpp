// retention: see retention.hpp.
#include "audit/retention.hpp"

#include "common/log.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace branchline::audit {

std::optional<RetentionPeriod> RetentionPeriod::parse(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || n <= 0) return std::nullopt;
  if (text.back() == 'd' && n <= 36500) return RetentionPeriod{n, 0};
  if (text.back() == 'y' && n <= 100) return RetentionPeriod{0, n};
  return std::nullopt;
}

std::string RetentionPeriod::to_string() const {
  return years ? std::to_string(years) + "y" : std::to_string(days) + "d";
}

std::string RetentionPolicy::class_for(const boost::json::object& entry) const {
  if (auto* own = entry.if_contains("retention"); own && own->is_string()) return std::string(own->as_string());
  const boost::json::value* type = entry.if_contains("consultation_type");
  if (!type)
    if (auto* resource = entry.if_contains("resource"); resource && resource->is_object())
      type = resource->as_object().if_contains("consultation_type");
  if (type && type->is_string())
    if (auto it = by_consultation_type.find(std::string(type->as_string())); it != by_consultation_type.end())
      return it->second;
  return default_class;
}

std::string RetentionPolicy::longest_class() const {
  std::string best = default_class;
  long best_days = -1;
  for (const auto& [name, p] : classes) {
    long days = p.days + 366L * p.years;
    if (days > best_days) best = name, best_days = days;
  }
  return best;
}

std::optional<std::string> RetentionPolicy::cutoff(const std::string& name, std::chrono::system_clock::time_point now) const {
  auto it = classes.find(name);
  if (it == classes.end()) return std::nullopt;
  using namespace std::chrono;
  auto day = floor<days>(now);
  auto time_of_day = now - day;
  year_month_day date{day};
  if (it->second.years) {
    date = date - years(it->second.years);
    if (!date.ok()) date = year_month_day{year_month_day_last{date.year(), month_day_last{date.month()}}};  // 29 Feb
  }
  sys_days cut_day = sys_days{date} - days(it->second.days);
  return ledger_time(time_point_cast<system_clock::duration>(cut_day + time_of_day));
}

std::string ledger_time(std::chrono::system_clock::time_point t) { return log::rfc3339(t); }

std::optional<std::string> normalize_ledger_time(std::string_view t) {
  auto digits = [&](std::size_t at, std::size_t n) {
    if (at + n > t.size()) return false;
    for (std::size_t i = at; i < at + n; ++i)
      if (t[i] < '0' || t[i] > '9') return false;
    return true;
  };
  if (t.size() < 20 || t.size() > 27 || !digits(0, 4) || t[4] != '-' || !digits(5, 2) || t[7] != '-' || !digits(8, 2) ||
      t[10] != 'T' || !digits(11, 2) || t[13] != ':' || !digits(14, 2) || t[16] != ':' || !digits(17, 2) || t.back() != 'Z')
    return std::nullopt;
  std::string_view fraction = t.substr(19, t.size() - 20);
  if (!fraction.empty() && (fraction[0] != '.' || fraction.size() < 2 || !digits(20, fraction.size() - 1)))
    return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  using namespace std::chrono;
  year_month_day date{year{number(0, 4)}, month{static_cast<unsigned>(number(5, 2))}, day{static_cast<unsigned>(number(8, 2))}};
  if (!date.ok() || number(11, 2) > 23 || number(14, 2) > 59 || number(17, 2) > 59) return std::nullopt;
  std::string out(t.substr(0, 19));
  out += '.';
  if (!fraction.empty()) out += fraction.substr(1);
  out.resize(26, '0');
  out += 'Z';
  return out;
}

std::int64_t ledger_epoch_ms(std::string_view given) {
  // Read from the normalised form (always six fraction digits): "…:00.1Z" is 100 ms, not 'Z'.
  std::optional<std::string> normalised = normalize_ledger_time(given);
  if (!normalised) return 0;
  std::string_view t = *normalised;
  std::tm tm{};
  auto n = [&](std::size_t at, std::size_t len) {
    int v = 0;
    for (std::size_t i = at; i < at + len && i < t.size(); ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  tm.tm_year = n(0, 4) - 1900;
  tm.tm_mon = n(5, 2) - 1;
  tm.tm_mday = n(8, 2);
  tm.tm_hour = n(11, 2);
  tm.tm_min = n(14, 2);
  tm.tm_sec = n(17, 2);
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000 + n(20, 3);
}

std::optional<std::string> normalize_query_time(std::string_view t) {
  if (t.empty()) return std::string();
  if (t.size() == 10) return normalize_ledger_time(std::string(t) + "T00:00:00Z");  // a date: its midnight
  return normalize_ledger_time(t);
}

}  // namespace branchline::audit
