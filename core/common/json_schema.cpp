// json_schema: see json_schema.hpp.
#include "common/json_schema.hpp"

#include "common/utf8.hpp"

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <optional>
#include <stdexcept>

namespace branchline {
namespace {

// valijson's context is {"<root>", "[settings]", "[0]", ...}; RFC 6901 wants "/settings/0".
std::string to_pointer(const std::vector<std::string>& context) {
  std::string pointer;
  for (const std::string& part : context) {
    if (part == "<root>") continue;
    std::string token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"') token = token.substr(1, token.size() - 2);
    std::string escaped;
    for (char c : token) {
      if (c == '~') escaped += "~0";
      else if (c == '/') escaped += "~1";
      else escaped.push_back(c);
    }
    pointer += "/" + escaped;
  }
  return pointer;
}

// The pointer of the first string or key that is not valid UTF-8, if any. valijson's string
// length checks assume valid UTF-8 and read out of bounds otherwise.
std::optional<std::string> invalid_text(const boost::json::value& v, const std::string& pointer, int depth = 0) {
  if (depth > 512) return pointer;
  if (v.is_string()) {
    if (!utf8::valid(v.as_string())) return pointer;
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto bad = invalid_text(a[i], pointer + "/" + std::to_string(i), depth + 1)) return bad;
  } else if (v.is_object()) {
    for (const auto& member : v.as_object()) {
      std::string child = to_pointer({"[" + std::string(member.key()) + "]"});
      if (!utf8::valid(member.key())) return pointer;
      if (auto bad = invalid_text(member.value(), pointer + child, depth + 1)) return bad;
    }
  }
  return std::nullopt;
}

}  // namespace

JsonSchema JsonSchema::compile(const boost::json::value& schema_doc) {
  auto schema = std::make_shared<valijson::Schema>();
  try {
    valijson::SchemaParser parser;
    valijson::adapters::BoostJsonAdapter adapter(schema_doc);
    parser.populateSchema(adapter, *schema);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("not a valid JSON Schema: ") + e.what());
  }
  JsonSchema compiled;
  compiled.schema_ = std::move(schema);
  return compiled;
}

std::vector<SchemaViolation> JsonSchema::validate(const boost::json::value& document) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter adapter(document);
  std::vector<SchemaViolation> violations;
  if (auto bad = invalid_text(document, "")) {
    violations.push_back({*bad, "text is not valid UTF-8"});
    return violations;
  }
  if (validator.validate(*schema_, adapter, &results)) return violations;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    violations.push_back({to_pointer(error.context), error.description});
  }
  return violations;
}

}  // namespace branchline
