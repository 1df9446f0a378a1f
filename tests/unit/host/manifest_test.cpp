// Manifests are untrusted: every malformed one is refused with the offending field named.
#include "host/manifest.hpp"

#include <gtest/gtest.h>

namespace branchline::host {
namespace {

const std::string kGood =
    R"({"manifest_version":1,"id":"crm-x","kind":"crm","vendor":"V","version":"1.2.3",)"
    R"("abi":{"major":1,"minor":0},"library":"crm-x.so",)"
    R"("sha256":"0000000000000000000000000000000000000000000000000000000000000000",)"
    R"("settings_schema":{"type":"object"}})";

std::string with(const std::string& from, const std::string& to) {
  std::string s = kGood;
  s.replace(s.find(from), from.size(), to);
  return s;
}

std::string error_of(const std::string& text) {
  try {
    parse_manifest(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Manifest, ParsesAGoodOne) {
  Manifest m = parse_manifest(kGood);
  EXPECT_EQ(m.id, "crm-x");
  EXPECT_EQ(m.kind, static_cast<bl_plugin_kind>(BL_KIND_CRM));
  EXPECT_EQ(m.abi_major, 1);
  EXPECT_TRUE(m.settings_schema.is_object());
}

TEST(Manifest, RefusesEachBadField) {
  EXPECT_NE(error_of("not json").find("not JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("object"), std::string::npos);
  EXPECT_NE(error_of(with(R"("kind":"crm")", R"("kind":"teleporter")")).find("\"kind\""), std::string::npos);
  EXPECT_NE(error_of(with(R"("id":"crm-x")", R"("id":"CRM X")")).find("\"id\""), std::string::npos);
  EXPECT_NE(error_of(with(R"("library":"crm-x.so")", R"("library":"../evil.so")")).find("\"library\""),
            std::string::npos);
  EXPECT_NE(error_of(with(R"("major":1)", R"("major":-1)")).find("abi.major"), std::string::npos);
  EXPECT_NE(error_of(with(R"("sha256":"0)", R"("sha256":"Z)")).find("sha256"), std::string::npos);
  EXPECT_NE(error_of(with(R"("manifest_version":1)", R"("manifest_version":2)")).find("manifest_version"),
            std::string::npos);
  EXPECT_NE(error_of(with(R"("vendor":"V")", R"("vendor":"V","extra":1)")).find("unknown field"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMaxManifestBytes + 1, ' ')).find("64 KiB"), std::string::npos);
}

TEST(Manifest, KindNamesRoundTrip) {
  for (bl_plugin_kind k = BL_KIND_IDENTITY; k <= BL_KIND_EVENT_SINK; ++k) {
    EXPECT_EQ(kind_from_name(kind_name(k)), k);
  }
  EXPECT_EQ(kind_from_name("nope"), 0u);
}

}  // namespace
}  // namespace branchline::host
