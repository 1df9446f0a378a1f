// json_schema: JSON Schema (draft 7) checks of Boost.JSON documents, through valijson.
//
// Contract: compiling a schema never fetches anything (remote $ref is refused) and never aborts
// (valijson is built with exceptions). Each validation error names the JSON Pointer of the
// offending node, so that the config loader can turn it into file:line:col.
#pragma once

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace valijson {
class Schema;
}

namespace branchline {

struct SchemaViolation {
  std::string pointer;  // RFC 6901 JSON Pointer, "" for the document itself
  std::string message;
};

class JsonSchema {
 public:
  // Throws std::invalid_argument when `schema` is not a valid JSON Schema.
  static JsonSchema compile(const boost::json::value& schema);

  // Empty when `document` satisfies the schema.
  std::vector<SchemaViolation> validate(const boost::json::value& document) const;

 private:
  std::shared_ptr<const valijson::Schema> schema_;
};

}  // namespace branchline
