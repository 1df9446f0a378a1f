// crm-sqlite through the host: lookups with field lists, search, idempotent notes.
#include "reference_fixture.hpp"

namespace branchline::test {
namespace {

using CrmSqlite = ReferencePlugin;
namespace json = boost::json;

TEST_F(CrmSqlite, LookupReturnsOnlyTheRequestedFields) {
  auto crm = start("crm-sqlite", BL_KIND_CRM);
  json::value v = ok(*crm, &bl_crm_api::lookup_customer, R"({"customer_id":"c-1002","fields":["name","products"]})");
  EXPECT_EQ(json::serialize(v), R"({"customer_id":"c-1002","fields":{"name":"Grace Hopper","products":["checking","mortgage"]}})");
  EXPECT_EQ(call(*crm, &bl_crm_api::lookup_customer, R"({"customer_id":"nobody","fields":[]})").status, BL_NOT_FOUND);
  EXPECT_EQ(call(*crm, &bl_crm_api::lookup_customer, R"({"fields":[]})").status, BL_INVALID_ARGUMENT);
  EXPECT_EQ(call(*crm, &bl_crm_api::lookup_customer, "not json").status, BL_INVALID_ARGUMENT);
}

TEST_F(CrmSqlite, SearchByEmailExactlyAndByNamePrefix) {
  auto crm = start("crm-sqlite", BL_KIND_CRM);
  json::value by_email = ok(*crm, &bl_crm_api::search_customers,
                            R"({"query":{"email":"ada@example.org"},"fields":["name"],"limit":5})");
  ASSERT_EQ(by_email.at("customers").as_array().size(), 1u);
  EXPECT_EQ(by_email.at("customers").as_array()[0].at("customer_id").as_string(), "c-1001");
  json::value by_name = ok(*crm, &bl_crm_api::search_customers, R"({"query":{"name":"k"},"fields":["name"]})");
  ASSERT_EQ(by_name.at("customers").as_array().size(), 1u);
  // LIKE wildcards in the query are literal.
  json::value wildcard = ok(*crm, &bl_crm_api::search_customers, R"({"query":{"name":"%"},"fields":["name"]})");
  EXPECT_TRUE(wildcard.at("customers").as_array().empty());
}

TEST_F(CrmSqlite, NotesAreIdempotentAndListedNewestFirst) {
  auto crm = start("crm-sqlite", BL_KIND_CRM);
  const std::string note =
      R"({"customer_id":"c-1001","consultation_id":"k-1","author":"advisor","text":"Discussed savings","idempotency_key":"n-1"})";
  json::value first = ok(*crm, &bl_crm_api::add_note, note);
  json::value again = ok(*crm, &bl_crm_api::add_note, note);
  EXPECT_EQ(first.at("note_id"), again.at("note_id"));
  std::string other = note;
  other.replace(other.find("Discussed savings"), 17, "Something else");
  EXPECT_EQ(call(*crm, &bl_crm_api::add_note, other).status, BL_ALREADY_EXISTS);
  ok(*crm, &bl_crm_api::add_note,
     R"({"customer_id":"c-1001","consultation_id":"k-2","author":"advisor","text":"Follow-up","idempotency_key":"n-2"})");
  EXPECT_EQ(call(*crm, &bl_crm_api::add_note,
                 R"({"customer_id":"nobody","consultation_id":"k","author":"a","text":"t","idempotency_key":"n-3"})")
                .status,
            BL_NOT_FOUND);
  json::value notes = ok(*crm, &bl_crm_api::list_notes, R"({"customer_id":"c-1001","limit":10})");
  ASSERT_EQ(notes.at("notes").as_array().size(), 2u);
  EXPECT_EQ(notes.at("notes").as_array()[0].at("text").as_string(), "Follow-up");
}

TEST_F(CrmSqlite, DataSurvivesARestart) {
  {
    auto crm = start("crm-sqlite", BL_KIND_CRM);
    ok(*crm, &bl_crm_api::add_note,
       R"({"customer_id":"c-1003","consultation_id":"k-1","author":"a","text":"kept","idempotency_key":"n-1"})");
  }
  auto crm = start("crm-sqlite", BL_KIND_CRM);
  json::value notes = ok(*crm, &bl_crm_api::list_notes, R"({"customer_id":"c-1003"})");
  EXPECT_EQ(notes.at("notes").as_array().size(), 1u);
}

}  // namespace
}  // namespace branchline::test
