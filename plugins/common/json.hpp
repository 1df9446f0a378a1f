// json: Boost.JSON for the reference plugins, plus the checks every operation body needs.
// Boost.JSON's implementation is compiled once into branchline_plugin_support (json.cpp) and
// linked statically, hidden, into each plugin.
#pragma once

#include <branchline/plugin.hpp>

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace branchline::plugins {

namespace json = boost::json;

// Parses an operation's body: a JSON object, else sdk::Error(BL_INVALID_ARGUMENT).
json::object parse_object(std::string_view text);

// A required string member (non-empty, at most max_length bytes), else BL_INVALID_ARGUMENT.
std::string required_string(const json::object& o, std::string_view key, std::size_t max_length = 256);
// An optional string member ("" when absent), BL_INVALID_ARGUMENT when not a string or too long.
std::string optional_string(const json::object& o, std::string_view key, std::size_t max_length = 256);
// An optional integer member within [min, max], else `fallback`; BL_INVALID_ARGUMENT when out of range.
std::int64_t optional_integer(const json::object& o, std::string_view key, std::int64_t fallback, std::int64_t min,
                              std::int64_t max);
// A list of strings (absent: empty), at most max_items.
std::vector<std::string> string_list(const json::object& o, std::string_view key, std::size_t max_items = 64);

// A serialisation with object members sorted by key (recursively), so that the same request
// hashes the same whatever order its members came in (idempotency keys).
std::string canonical(const json::value& v);

// Now as RFC 3339 UTC with seconds ("2026-11-24T09:00:00Z").
std::string now_rfc3339();

}  // namespace branchline::plugins
