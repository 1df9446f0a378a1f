// JSON Schema checks name the pointer of the offending node and refuse invalid schemas.
#include "common/json_schema.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace branchline {
namespace {

TEST(JsonSchema, ReportsThePointerOfTheBadNode) {
  auto schema = JsonSchema::compile(boost::json::parse(
      R"({"type":"object","properties":{"db":{"type":"object","properties":{"port":{"type":"integer"}}}}})"));
  EXPECT_TRUE(schema.validate(boost::json::parse(R"({"db":{"port":5432}})")).empty());
  auto violations = schema.validate(boost::json::parse(R"({"db":{"port":"5432"}})"));
  ASSERT_FALSE(violations.empty());
  bool found = false;
  for (const auto& v : violations) found = found || v.pointer == "/db/port";
  EXPECT_TRUE(found);
}

TEST(JsonSchema, RefusesAnInvalidSchema) {
  EXPECT_THROW(JsonSchema::compile(boost::json::parse(R"({"type": 42})")), std::invalid_argument);
  EXPECT_THROW(JsonSchema::compile(boost::json::parse(R"({"$ref": "https://example.invalid/schema.json"})")),
               std::invalid_argument);
}

}  // namespace
}  // namespace branchline
