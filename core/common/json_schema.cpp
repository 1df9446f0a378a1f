// json_schema: see json_schema.hpp.
#include "common/json_schema.hpp"

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

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
  if (validator.validate(*schema_, adapter, &results)) return violations;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    violations.push_back({to_pointer(error.context), error.description});
  }
  return violations;
}

}  // namespace branchline
