// identifiers: the syntax of the ids the API takes in paths and query strings (customers,
// consultations, operations): 1 to 64 of letters, digits, '-', '_', '.' and ':'. It is what the
// plugins accept, and nothing in it needs escaping in a URL, a log line or an audit entry.
#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace branchline::api {

inline bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

}  // namespace branchline::api
