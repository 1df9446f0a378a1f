// yaml_document: YAML read by the 1.2 core schema, with positions; every refusal has a place.
#include "config/yaml_document.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <chrono>

namespace branchline::config {
namespace {

namespace json = boost::json;

json::value parse(const std::string& text) { return parse_yaml(text, "t.yaml").root; }

// The single diagnostic a refused document gives.
Diagnostic refusal(const std::string& text) {
  try {
    parse_yaml(text, "t.yaml");
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.diagnostics().front();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

TEST(YamlCoreSchema, TypesPlainScalarsByTheCoreSchema) {
  json::value v = parse(
      "a: 017\nb: 0o17\nc: 0x1F\nd: -3\ne: 1.5\nf: .5\ng: 1e3\nh: true\ni: False\nj: ~\nk: null\nl:\n"
      "m: yes\nn: on\no: no\np: 1.2.3\nq: +7\n");
  EXPECT_EQ(json::serialize(v),
            R"({"a":17,"b":15,"c":31,"d":-3,"e":1.5E0,"f":5E-1,"g":1E3,"h":true,"i":false,"j":null,"k":null,)"
            R"("l":null,"m":"yes","n":"on","o":"no","p":"1.2.3","q":7})");
}

TEST(YamlCoreSchema, QuotedBlockAndStrTaggedScalarsStayText) {
  json::value v = parse("a: \"017\"\nb: 'true'\nc: !!str 12\nd: |\n  x\ne: ''\n");
  EXPECT_EQ(json::serialize(v), R"({"a":"017","b":"true","c":"12","d":"x\n","e":""})");
}

TEST(YamlCoreSchema, KeysAreTextAsWritten) {
  json::value v = parse("017: a\ntrue: b\n");
  EXPECT_EQ(json::serialize(v), R"({"017":"a","true":"b"})");
}

TEST(YamlPositions, MapsEveryPointerToItsValueAndKey) {
  YamlDocument doc = parse_yaml("node:\n  id: x\nplugins:\n  - id: a\n    kind: crm\n", "t.yaml");
  EXPECT_EQ(doc.at("/node/id").value.line, 2);
  EXPECT_EQ(doc.at("/node/id").value.column, 7);
  EXPECT_EQ(doc.at("/node/id").key.column, 3);
  EXPECT_EQ(doc.at("/plugins/0/kind").value.line, 5);
  EXPECT_EQ(doc.at("/plugins/0/kind").value.column, 11);
  EXPECT_EQ(doc.at("/plugins/0/missing").value.line, 4);  // falls back to the closest ancestor
  EXPECT_EQ(pointer_append("/a", "b/c~d"), "/a/b~1c~0d");
}

TEST(YamlRefusals, NotYaml) {
  Diagnostic d = refusal("a: [1, 2\nb: c\n");
  EXPECT_NE(d.message.find("not valid YAML"), std::string::npos);
  EXPECT_GT(d.mark.line, 0);
  EXPECT_NE(d.to_string().find("t.yaml:"), std::string::npos);
  EXPECT_NE(d.to_string().find("; fix: "), std::string::npos);
}

TEST(YamlRefusals, DuplicateKeyAtTheSecondOccurrence) {
  Diagnostic d = refusal("node:\n  id: a\n  id: b\n");
  EXPECT_EQ(d.message, "duplicate key 'id'");
  EXPECT_EQ(d.mark.line, 3);
  EXPECT_EQ(d.mark.column, 3);
}

TEST(YamlRefusals, AnchorAndAlias) {
  EXPECT_NE(refusal("a: &x 1\nb: 2\n").message.find("anchors"), std::string::npos);
  Diagnostic alias = refusal("a: 1\nb: *x\n");
  EXPECT_TRUE(alias.message.find("aliases") != std::string::npos || alias.message.find("not valid YAML") != std::string::npos)
      << alias.message;
}

TEST(YamlRefusals, AliasBombIsRefusedAtItsFirstAnchorWithoutExpanding) {
  std::string bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'i'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev +
            ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n";
    prev = std::string(1, c);
  }
  auto start = std::chrono::steady_clock::now();
  Diagnostic d = refusal(bomb);
  EXPECT_NE(d.message.find("anchors"), std::string::npos);
  EXPECT_EQ(d.mark.line, 1);
  // Not a timing test: a bomb that expanded would take minutes and gigabytes, not this.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(YamlRefusals, SecondDocument) {
  EXPECT_NE(refusal("a: 1\n---\nb: 2\n").message.find("more than one YAML document"), std::string::npos);
}

TEST(YamlRefusals, NonTextKeysAndNullKeys) {
  EXPECT_NE(refusal("? [a, b]\n: 1\n").message.find("a key is"), std::string::npos);
  EXPECT_NE(refusal("~: 1\n").message.find("a key is empty"), std::string::npos);
}

TEST(YamlRefusals, ExplicitTagsOtherThanStr) {
  EXPECT_NE(refusal("a: !!int 3\n").message.find("explicit tag"), std::string::npos);
  EXPECT_NE(refusal("a: !custom x\n").message.find("explicit tag"), std::string::npos);
}

TEST(YamlRefusals, NumbersJsonCannotHold) {
  EXPECT_NE(refusal("a: .inf\n").message.find("infinity"), std::string::npos);
  EXPECT_NE(refusal("a: -.Inf\n").message.find("infinity"), std::string::npos);
  EXPECT_NE(refusal("a: .nan\n").message.find("NaN"), std::string::npos);
  EXPECT_NE(refusal("a: 99999999999999999999999\n").message.find("64 bits"), std::string::npos);
}

TEST(YamlRefusals, EmptyTooLargeAndTooDeep) {
  EXPECT_NE(refusal("").message.find("empty"), std::string::npos);
  EXPECT_NE(refusal("# only a comment\n").message.find("empty"), std::string::npos);
  EXPECT_NE(refusal(std::string(kMaxBytes + 1, '#')).message.find("larger than"), std::string::npos);
  EXPECT_NE(refusal(std::string(200, '[') + std::string(200, ']')).message.find("deeper than"), std::string::npos);
  std::string many = "[";
  for (std::size_t i = 0; i <= kMaxNodes; ++i) many += "0,";
  many += "0]";
  EXPECT_NE(refusal(many).message.find("more than"), std::string::npos);
}

}  // namespace
}  // namespace branchline::config
