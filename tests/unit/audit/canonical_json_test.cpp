// canonical_json: RFC 8785's own examples (sections 3.2.2 and 3.2.3, appendix B).
#include "audit/canonical_json.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <cstring>

namespace branchline::audit {
namespace {

double bits(std::uint64_t b) { return std::bit_cast<double>(b); }

TEST(CanonicalJson, TheRfcSampleObject) {
  auto v = boost::json::parse(R"({
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })");
  // The numbers through strtod: Boost.JSON 1.81's parser is not correctly rounded (it reads
  // 333333333.33333329 one unit in the last place off), which is why the ledger keeps the exact
  // canonical bytes it hashed instead of re-deriving them from a parse.
  boost::json::array numbers;
  for (const char* n : {"333333333.33333329", "1E30", "4.50", "2e-3", "0.000000000000000000000000001"})
    numbers.push_back(std::strtod(n, nullptr));
  v.as_object()["numbers"] = std::move(numbers);
  EXPECT_EQ(canonical_json(v),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(CanonicalJson, MembersAreSortedByUtf16CodeUnits) {
  auto v = boost::json::parse(R"({"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",
    "1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"})");
  std::string out = canonical_json(v);
  std::vector<std::string> order = {"Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis",
                                    "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"};
  std::size_t at = 0;
  for (const auto& name : order) {
    std::size_t next = out.find(name);
    ASSERT_NE(next, std::string::npos) << name;
    EXPECT_GT(next, at) << name << " is out of order in " << out;
    at = next;
  }
}

TEST(CanonicalJson, NumbersPrintAsEcmaScriptDoes) {
  EXPECT_EQ(es_number(bits(0x0000000000000000)), "0");
  EXPECT_EQ(es_number(bits(0x8000000000000000)), "0");
  EXPECT_EQ(es_number(bits(0x0000000000000001)), "5e-324");
  EXPECT_EQ(es_number(bits(0x8000000000000001)), "-5e-324");
  EXPECT_EQ(es_number(bits(0x7fefffffffffffff)), "1.7976931348623157e+308");
  EXPECT_EQ(es_number(bits(0x4340000000000000)), "9007199254740992");
  EXPECT_EQ(es_number(bits(0x4430000000000000)), "295147905179352830000");
  EXPECT_EQ(es_number(bits(0x44b52d02c7e14af5)), "9.999999999999997e+22");
  EXPECT_EQ(es_number(bits(0x44b52d02c7e14af6)), "1e+23");
  EXPECT_EQ(es_number(bits(0x3eb0c6f7a0b5ed8d)), "0.000001");
  EXPECT_EQ(es_number(bits(0x3eb0c6f7a0b5ed8c)), "9.999999999999997e-7");
  EXPECT_EQ(es_number(bits(0x41b3de4355555555)), "333333333.3333333");
}

TEST(CanonicalJson, IntegersAndWhitespace) {
  EXPECT_EQ(canonical_json(boost::json::parse(R"({ "b" : [ 1 , -2 , 0 ], "a" : {} })")), R"({"a":{},"b":[1,-2,0]})");
  EXPECT_EQ(canonical_json(boost::json::parse("9007199254740992")), "9007199254740992");
}

TEST(CanonicalJson, RefusesWhatTwoVerifiersCouldReadDifferently) {
  EXPECT_THROW(canonical_json(boost::json::parse("9007199254740993")), std::invalid_argument);
  EXPECT_THROW(canonical_json(boost::json::parse("-9007199254740993")), std::invalid_argument);
  EXPECT_THROW(canonical_json(boost::json::value(std::string("\xff"))), std::invalid_argument);
  boost::json::value deep = boost::json::array();
  for (int i = 0; i < 200; ++i) deep = boost::json::array{deep};
  EXPECT_THROW(canonical_json(deep), std::invalid_argument);
}

}  // namespace
}  // namespace branchline::audit
