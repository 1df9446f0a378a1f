// json: see json.hpp.
#include "json.hpp"

#include <boost/json/src.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace branchline::plugins {

json::object parse_object(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw sdk::Error(BL_INVALID_ARGUMENT, "the body is not a JSON object");
  return std::move(v.as_object());
}

std::string required_string(const json::object& o, std::string_view key, std::size_t max_length) {
  std::string v = optional_string(o, key, max_length);
  if (v.empty()) throw sdk::Error(BL_INVALID_ARGUMENT, "'" + std::string(key) + "' is required");
  return v;
}

std::string optional_string(const json::object& o, std::string_view key, std::size_t max_length) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return {};
  if (!it->value().is_string() || it->value().as_string().size() > max_length)
    throw sdk::Error(BL_INVALID_ARGUMENT,
                     "'" + std::string(key) + "' must be a string of at most " + std::to_string(max_length) + " bytes");
  return std::string(it->value().as_string());
}

std::int64_t optional_integer(const json::object& o, std::string_view key, std::int64_t fallback, std::int64_t min,
                              std::int64_t max) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return fallback;
  if (!it->value().is_int64() || it->value().as_int64() < min || it->value().as_int64() > max)
    throw sdk::Error(BL_INVALID_ARGUMENT, "'" + std::string(key) + "' must be an integer from " + std::to_string(min) +
                                              " to " + std::to_string(max));
  return it->value().as_int64();
}

std::vector<std::string> string_list(const json::object& o, std::string_view key, std::size_t max_items) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_array() || it->value().as_array().size() > max_items)
    throw sdk::Error(BL_INVALID_ARGUMENT, "'" + std::string(key) + "' must be a list of at most " +
                                              std::to_string(max_items) + " strings");
  for (const auto& e : it->value().as_array()) {
    if (!e.is_string() || e.as_string().size() > 256)
      throw sdk::Error(BL_INVALID_ARGUMENT, "'" + std::string(key) + "' must hold strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

std::string canonical(const json::value& v) {
  if (v.is_object()) {
    std::vector<const json::key_value_pair*> members;
    for (const auto& m : v.as_object()) members.push_back(&m);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    std::string out = "{";
    for (const auto* m : members) {
      if (out.size() > 1) out += ',';
      out += json::serialize(json::value(m->key())) + ":" + canonical(m->value());
    }
    return out + "}";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (const auto& e : v.as_array()) {
      if (out.size() > 1) out += ',';
      out += canonical(e);
    }
    return out + "]";
  }
  return json::serialize(v);
}

std::string now_rfc3339() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace branchline::plugins
