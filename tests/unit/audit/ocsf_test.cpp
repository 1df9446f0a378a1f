// ocsf: audit entries as OCSF 1.1 events, classes by action, never the personal data.
#include "audit/ocsf.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace branchline::audit {
namespace {

TEST(Ocsf, ADataAccessIsAnApiActivityReadWithWhoWhatAndWhereFrom) {
  auto e = to_ocsf(
      R"({"action":"crm.customer.read","actor":{"ip":"10.0.0.7","principal":"idp|ann","role":"advisor"},"fields":["name"],)"
      R"("node":"n1","outcome":"success","personal":{"alg":"A256GCM","ct":"SECRETCIPHERTEXT"},)"
      R"("resource":{"consultation":"k-1","customer":"c-1","id":"c-1","type":"customer"},"retention":"standard","seq":7,)"
      R"("source":{"instance":"crm","plugin":"crm-sqlite"},"time":"2026-11-24T10:00:00.250000Z"})",
      7, "bank/audit");
  EXPECT_EQ(e.at("class_uid"), 6003);
  EXPECT_EQ(e.at("category_uid"), 6);
  EXPECT_EQ(e.at("activity_id"), 2);
  EXPECT_EQ(e.at("type_uid"), 600302);
  EXPECT_EQ(e.at("status_id"), 1);
  EXPECT_EQ(e.at("time"), 1795514400250);  // 2026-11-24T10:00:00.250Z in ms
  EXPECT_EQ(e.at("actor").at("user").at("uid"), "idp|ann");
  EXPECT_EQ(e.at("src_endpoint").at("ip"), "10.0.0.7");
  EXPECT_EQ(e.at("api").at("operation"), "crm.customer.read");
  EXPECT_EQ(e.at("api").at("service").at("name"), "crm-sqlite");
  EXPECT_EQ(e.at("resources").at(0).at("data").at("customer"), "c-1");
  EXPECT_EQ(e.at("metadata").at("uid"), "bank/audit:7");
  EXPECT_EQ(e.at("unmapped").at("ledger_index"), 7);
  std::string text = boost::json::serialize(e);
  EXPECT_EQ(text.find("SECRETCIPHERTEXT"), std::string::npos);
  EXPECT_EQ(text.find("personal"), std::string::npos);
}

TEST(Ocsf, SignInsAreAuthenticationAndADenialIsAFailureOfMediumSeverity) {
  auto e = to_ocsf(R"({"action":"auth.sign_in","outcome":"denied","reason":"wrong password","seq":3,"time":"2026-11-24T10:00:00.000000Z"})",
                   3, "o");
  EXPECT_EQ(e.at("class_uid"), 3002);
  EXPECT_EQ(e.at("category_uid"), 3);
  EXPECT_EQ(e.at("activity_id"), 1);
  EXPECT_EQ(e.at("status_id"), 2);
  EXPECT_EQ(e.at("severity_id"), 3);
  EXPECT_EQ(e.at("status_detail"), "wrong password");
  // The API's refused tokens are failed logons; a single logout is a logoff.
  auto token = to_ocsf(R"({"action":"auth.token","outcome":"denied","reason":"expired","seq":4})", 4, "o");
  EXPECT_EQ(token.at("class_uid"), 3002);
  EXPECT_EQ(token.at("activity_id"), 1);
  auto logout = to_ocsf(R"({"action":"auth.logout","outcome":"success","seq":5})", 5, "o");
  EXPECT_EQ(logout.at("class_uid"), 3002);
  EXPECT_EQ(logout.at("activity_id"), 2);
}

TEST(Ocsf, HostLifecycleAndOperationsAndUnreadableEntries) {
  EXPECT_EQ(to_ocsf(R"({"action":"host.start","outcome":"success","seq":1})", 1, "o").at("type_uid"), 600203);
  EXPECT_EQ(to_ocsf(R"({"action":"host.stop","outcome":"success","seq":2})", 2, "o").at("type_uid"), 600204);
  EXPECT_EQ(to_ocsf(R"({"action":"host.policy.reload","outcome":"success","seq":2})", 2, "o").at("type_uid"), 600208);
  EXPECT_EQ(to_ocsf(R"({"action":"host.tls.reload","outcome":"failure","seq":2})", 2, "o").at("activity_id"), 8);
  EXPECT_EQ(to_ocsf(R"({"action":"core.operation.transfer","outcome":"success","seq":3})", 3, "o").at("activity_id"), 1);
  EXPECT_EQ(to_ocsf(R"({"action":"audit.erase","outcome":"success","seq":4})", 4, "o").at("activity_id"), 4);
  EXPECT_EQ(to_ocsf(R"({"action":"recording.read","seq":5})", 5, "o").at("class_uid"), 6006);
  auto purged = to_ocsf("", 9, "o");  // retention removed the payload
  EXPECT_EQ(purged.at("unmapped").at("ledger_index"), 9);
  EXPECT_EQ(purged.at("activity_id"), 99);
}

}  // namespace
}  // namespace branchline::audit
