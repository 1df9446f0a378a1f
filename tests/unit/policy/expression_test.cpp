// Cedar's expression semantics, case by case (docs.cedarpolicy.com "Operators"), and the parser's
// refusals with the byte offset they point at.
#include "policy/expression.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace branchline::policy {
namespace {

struct Fixture {
  Request request;
  Entities entities;

  Fixture() {
    request.principal = {"User", "alice"};
    request.action = {"Action", "crm.customer.read"};
    request.resource = {"Customer", "c-1"};
    request.context = Record{{"acr", Value("urn:loa:2")},
                             {"auth_age_s", Value(120)},
                             {"amr", Value(Set{Value("pwd"), Value("otp")})},
                             {"consultation", Value(Record{{"state", Value("active")},
                                                           {"customer", Value(EntityUid{"Customer", "c-1"})}})}};
    entities.add(Entity{{"User", "alice"},
                        Record{{"region", Value("east")}, {"roles", Value(Set{Value("advisor")})}},
                        {{"Role", "advisor"}}});
    entities.add(Entity{{"Role", "advisor"}, {}, {{"Role", "staff"}}});
    entities.add(Entity{{"Customer", "c-1"}, Record{{"region", Value("east")}, {"name", Value("Ada")}}, {}});
  }

  Value eval(std::string_view text) const { return Expression::parse(text).evaluate(request, entities); }
  bool truth(std::string_view text) const {
    Value v = eval(text);
    EXPECT_TRUE(v.is_bool()) << text;
    return v.is_bool() && v.as_bool();
  }
  std::string error(std::string_view text) const {
    try {
      eval(text);
    } catch (const EvaluationError& e) {
      return e.what();
    }
    return "no error";
  }
};

std::size_t parse_error_offset(std::string_view text) {
  try {
    Expression::parse(text);
  } catch (const ExpressionError& e) {
    return e.offset();
  }
  return std::string_view::npos;
}

TEST(PolicyExpression, AttributesOfEntitiesRecordsAndTheContext) {
  Fixture f;
  EXPECT_TRUE(f.truth("principal.region == resource.region"));
  EXPECT_TRUE(f.truth("context.consultation.state == \"active\""));
  EXPECT_TRUE(f.truth("context[\"acr\"] == \"urn:loa:2\""));
  EXPECT_TRUE(f.truth("context.consultation.customer == resource"));
  EXPECT_TRUE(f.truth("principal has region && !(principal has branch)"));
  EXPECT_TRUE(f.truth("context has \"auth_age_s\""));
}

TEST(PolicyExpression, MissingAttributesAndUnknownEntitiesAreErrorsButHasIsFalse) {
  Fixture f;
  EXPECT_NE(f.error("principal.branch == \"b1\"").find("attribute 'branch' does not exist"), std::string::npos);
  EXPECT_NE(f.error("User::\"bob\".region == \"east\"").find("does not exist"), std::string::npos);
  EXPECT_FALSE(f.truth("User::\"bob\" has region"));
  EXPECT_NE(f.error("context.acr.level == 1").find("type error"), std::string::npos);
}

TEST(PolicyExpression, EqualityNeverErrorsAndComparesSetsAsSets) {
  Fixture f;
  EXPECT_FALSE(f.truth("1 == \"1\""));
  EXPECT_FALSE(f.truth("principal == \"alice\""));
  EXPECT_TRUE(f.truth("[1, 2, 2] == [2, 1]"));
  EXPECT_TRUE(f.truth("{a: 1, b: [true]} == {b: [true], a: 1}"));
  EXPECT_FALSE(f.truth("{a: 1} == {a: 1, b: 2}"));
  EXPECT_TRUE(f.truth("User::\"alice\" == principal"));
  EXPECT_TRUE(f.truth("1 != 2"));
}

TEST(PolicyExpression, InFollowsParentsTransitively) {
  Fixture f;
  EXPECT_TRUE(f.truth("principal in Role::\"advisor\""));
  EXPECT_TRUE(f.truth("principal in Role::\"staff\""));
  EXPECT_TRUE(f.truth("principal in principal"));
  EXPECT_FALSE(f.truth("principal in Role::\"auditor\""));
  EXPECT_TRUE(f.truth("principal in [Role::\"auditor\", Role::\"staff\"]"));
  EXPECT_FALSE(f.truth("principal in []"));
  // An entity the store does not know is in itself only.
  EXPECT_FALSE(f.truth("User::\"bob\" in Role::\"advisor\""));
  EXPECT_NE(f.error("principal in [Role::\"advisor\", 1]").find("type error"), std::string::npos);
  EXPECT_NE(f.error("\"alice\" in Role::\"advisor\"").find("type error"), std::string::npos);
}

TEST(PolicyExpression, IsChecksTheTypeAndOptionallyIn) {
  Fixture f;
  EXPECT_TRUE(f.truth("principal is User"));
  EXPECT_FALSE(f.truth("resource is User"));
  EXPECT_TRUE(f.truth("principal is User in Role::\"staff\""));
  EXPECT_FALSE(f.truth("principal is Customer in Role::\"staff\""));
  EXPECT_NE(f.error("1 is User").find("type error"), std::string::npos);
}

TEST(PolicyExpression, AndOrShortCircuitAndDemandBooleans) {
  Fixture f;
  EXPECT_FALSE(f.truth("false && principal.missing"));
  EXPECT_TRUE(f.truth("true || principal.missing"));
  EXPECT_NE(f.error("true && principal.missing").find("does not exist"), std::string::npos);
  EXPECT_NE(f.error("1 && true").find("type error"), std::string::npos);
  EXPECT_NE(f.error("true && 1").find("type error"), std::string::npos);
  EXPECT_NE(f.error("!1").find("type error"), std::string::npos);
  EXPECT_TRUE(f.truth("true && true && true && !false"));
}

TEST(PolicyExpression, ArithmeticIsCheckedForOverflow) {
  Fixture f;
  EXPECT_EQ(f.eval("context.auth_age_s * 2 - 40 + 1").as_long(), 201);
  EXPECT_EQ(f.eval("-9223372036854775808").as_long(), INT64_MIN);
  EXPECT_EQ(f.eval("--5").as_long(), 5);
  EXPECT_NE(f.error("9223372036854775807 + 1").find("overflow"), std::string::npos);
  EXPECT_NE(f.error("-9223372036854775808 - 1").find("overflow"), std::string::npos);
  EXPECT_NE(f.error("-(-9223372036854775808)").find("overflow"), std::string::npos);
  EXPECT_NE(f.error("4611686018427387904 * 2").find("overflow"), std::string::npos);
  EXPECT_TRUE(f.truth("context.auth_age_s <= 300 && context.auth_age_s > 119 && 1 < 2 && 2 >= 2"));
  EXPECT_NE(f.error("\"a\" < \"b\"").find("type error"), std::string::npos);
}

TEST(PolicyExpression, SetMethods) {
  Fixture f;
  EXPECT_TRUE(f.truth("context.amr.contains(\"otp\")"));
  EXPECT_TRUE(f.truth("context.amr.containsAll([\"pwd\", \"otp\"])"));
  EXPECT_FALSE(f.truth("context.amr.containsAll([\"pwd\", \"hwk\"])"));
  EXPECT_TRUE(f.truth("context.amr.containsAny([\"hwk\", \"otp\"])"));
  EXPECT_TRUE(f.truth("[].isEmpty() && ![1].isEmpty()"));
  EXPECT_TRUE(f.truth("[principal, resource].contains(User::\"alice\")"));
  EXPECT_NE(f.error("\"abc\".contains(\"a\")").find("type error"), std::string::npos);
  EXPECT_NE(f.error("context.amr.containsAll(\"pwd\")").find("type error"), std::string::npos);
}

TEST(PolicyExpression, LikeMatchesWildcardsAndEscapedStars) {
  Fixture f;
  EXPECT_TRUE(f.truth("context.acr like \"urn:*:2\""));
  EXPECT_TRUE(f.truth("context.acr like \"*\""));
  EXPECT_FALSE(f.truth("context.acr like \"urn:*:3\""));
  EXPECT_TRUE(f.truth("\"a*b\" like \"a\\*b\""));
  EXPECT_FALSE(f.truth("\"axb\" like \"a\\*b\""));
  EXPECT_TRUE(f.truth("\"aaa\" like \"*a*a*\""));
  EXPECT_TRUE(f.truth("\"\" like \"\""));
  EXPECT_FALSE(f.truth("\"ab\" like \"a\""));
  EXPECT_TRUE(f.truth("\"mississippi\" like \"*sip*i\""));
  EXPECT_NE(f.error("1 like \"*\"").find("type error"), std::string::npos);
}

TEST(PolicyExpression, IfThenElseAndLiterals) {
  Fixture f;
  EXPECT_EQ(f.eval("if context.auth_age_s < 300 then \"fresh\" else \"stale\"").as_string(), "fresh");
  EXPECT_NE(f.error("if 1 then 2 else 3").find("type error"), std::string::npos);
  EXPECT_EQ(f.eval("\"tab\\there \\u{1F600} \\x41\"").as_string(), "tab\there \xF0\x9F\x98\x80 A");
  EXPECT_TRUE(f.truth("{\"key with space\": 1}[\"key with space\"] == 1"));
  EXPECT_TRUE(f.truth("true // a comment\n && true"));
}

TEST(PolicyExpression, ParseErrorsPointAtTheirOffset) {
  EXPECT_EQ(parse_error_offset("principal.region = \"east\""), 17u);
  EXPECT_EQ(parse_error_offset("principal.region == "), 20u);
  EXPECT_EQ(parse_error_offset("1 < 2 < 3"), 6u);
  EXPECT_EQ(parse_error_offset("ip(\"10.0.0.1\").isLoopback()"), 0u);
  EXPECT_EQ(parse_error_offset("context.x.lessThan(1)"), 10u);
  EXPECT_EQ(parse_error_offset("principal.region == east"), 20u);
  EXPECT_EQ(parse_error_offset("\"open"), 0u);
  EXPECT_EQ(parse_error_offset("\"a\\*b\" == \"x\""), 2u);
  EXPECT_EQ(parse_error_offset("9223372036854775808"), 0u);
  EXPECT_EQ(parse_error_offset("{a: 1, a: 2}"), 7u);
  EXPECT_EQ(parse_error_offset("true && if true then 1 else 2"), 8u);
  EXPECT_EQ(parse_error_offset("!!!!!true"), 4u);
  EXPECT_EQ(parse_error_offset("(true) )"), 7u);
  EXPECT_EQ(parse_error_offset("principal has region.x"), 20u);
}

TEST(PolicyExpression, HostileInputIsRefusedNotCrashedOn) {
  std::string deep(200, '(');
  deep += "true" + std::string(200, ')');
  EXPECT_NE(parse_error_offset(deep), std::string_view::npos);
  std::string long_text(kMaxExpressionBytes + 1, ' ');
  EXPECT_EQ(parse_error_offset(long_text), kMaxExpressionBytes);
  std::string sum = "1";
  for (int i = 0; i < 100; ++i) sum += " + 1";
  EXPECT_NE(parse_error_offset(sum), std::string_view::npos);
  // A long conjunction is flat, not deep, and is fine.
  std::string conjunction = "true";
  for (int i = 0; i < 1000; ++i) conjunction += " && true";
  Fixture f;
  EXPECT_TRUE(f.truth(conjunction));
}

TEST(PolicyExpression, ValuesRoundTripThroughCedarJson) {
  boost::json::value j = boost::json::parse(
      R"({"a": [1, "x", true], "b": {"__entity": {"type": "Customer", "id": "c-1"}}, "c": {"d": -3}})");
  Value v = value_from_json(j);
  EXPECT_EQ(boost::json::serialize(value_to_json(v)), boost::json::serialize(j));
  EXPECT_THROW(value_from_json(boost::json::parse("1.5")), std::invalid_argument);
  EXPECT_THROW(value_from_json(boost::json::parse("null")), std::invalid_argument);
  EXPECT_THROW(value_from_json(boost::json::parse(R"({"__extn": {"fn": "ip", "arg": "1.2.3.4"}})")), std::invalid_argument);
  EXPECT_THROW(value_from_json(boost::json::parse("18446744073709551615")), std::invalid_argument);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  boost::json::parse_options deep_enough;
  deep_enough.max_depth = 64;
  EXPECT_THROW(value_from_json(boost::json::parse(deep, {}, deep_enough)), std::invalid_argument);
}

TEST(PolicyExpression, EntitiesFromCedarJsonAndCyclesInParents) {
  Entities e = Entities::from_json(boost::json::parse(R"([
    {"uid": {"type": "User", "id": "a"}, "attrs": {}, "parents": [{"type": "Group", "id": "g1"}]},
    {"uid": {"__entity": {"type": "Group", "id": "g1"}}, "attrs": {}, "parents": [{"type": "Group", "id": "g2"}]},
    {"uid": {"type": "Group", "id": "g2"}, "attrs": {}, "parents": [{"type": "Group", "id": "g1"}]}])"));
  EXPECT_TRUE(e.in({"User", "a"}, {"Group", "g2"}));
  EXPECT_FALSE(e.in({"User", "a"}, {"Group", "g3"}));
  EXPECT_THROW(Entities::from_json(boost::json::parse(R"([{"uid": {"type": "User"}}])")), std::invalid_argument);
}

}  // namespace
}  // namespace branchline::policy
