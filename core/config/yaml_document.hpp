// yaml_document: a YAML configuration file read into a typed JSON document, with the source
// position of every node.
//
// Contract:
//  - Scalars are typed by the YAML 1.2 core schema, from the node's tag: a plain scalar is null
//    (~, null, empty), a boolean (true/false in three casings), an integer (decimal, 0o octal, 0x
//    hex; "017" is 17) or a float; anything else, and every quoted or block scalar, is a string.
//    So `yes`, `on` and `no` stay text (YAML 1.1 would make them booleans).
//  - Refused, each with its position: a second document, an anchor, an alias (so alias bombs
//    cannot expand), a duplicate key, a key that is not text, an explicit tag other than !!str,
//    infinities and NaN (not JSON), an integer outside 64 bits, nesting deeper than kMaxDepth,
//    more than kMaxNodes nodes, a file larger than kMaxBytes.
//  - positions maps each node's RFC 6901 JSON Pointer to where its value starts, and, for object
//    members, to where its key starts, so a schema error is reported at the right line and column.
//  - Never aborts on any input; every refusal is a ConfigError.
#pragma once

#include "config/diagnostic.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace branchline::config {

struct NodePosition {
  SourceMark value;        // where the node's value starts
  SourceMark key;          // where its key starts (object members only)
  bool plain_scalar = false;  // an unquoted scalar (its type came from the core schema)
  std::string text;        // the scalar as written (plain scalars only; for "quote it" hints)
};

struct YamlDocument {
  boost::json::value root;
  std::unordered_map<std::string, NodePosition> positions;  // JSON Pointer -> position

  // Position of the node at `pointer`, or of its closest ancestor that has one.
  const NodePosition& at(std::string_view pointer) const;
};

inline constexpr std::size_t kMaxBytes = 1024 * 1024;
inline constexpr std::size_t kMaxDepth = 64;
inline constexpr std::size_t kMaxNodes = 100000;

// Parses `text`; `file` is only used in diagnostics. Throws ConfigError.
YamlDocument parse_yaml(std::string_view text, const std::string& file);

// Appends `token` to a JSON Pointer with RFC 6901 escaping.
std::string pointer_append(std::string_view pointer, std::string_view token);

}  // namespace branchline::config
