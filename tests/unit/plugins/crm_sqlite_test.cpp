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

TEST_F(CrmSqlite, EachCustomerHasARegionAndADatabaseFromBeforeRegionsGetsTheColumn) {
  auto crm = start("crm-sqlite", BL_KIND_CRM, R"({"demo_region":"north"})");
  EXPECT_EQ(ok(*crm, &bl_crm_api::lookup_customer, R"({"customer_id":"c-1001","fields":["region"]})").at("fields"),
            (json::object{{"region", "north"}}));
  EXPECT_EQ(ok(*crm, &bl_crm_api::lookup_customer, R"({"customer_id":"c-1003","fields":["region"]})").at("fields"),
            (json::object{{"region", "eu-west"}}));
  crm.reset();

  // A database made before the column existed: it is added, empty, and the rest still reads.
  std::filesystem::path old_db = data_dir_ / "old-crm.sqlite";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(old_db.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE customers (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT,"
                         " segment TEXT, kyc_status TEXT, preferred_language TEXT, products TEXT NOT NULL DEFAULT '[]',"
                         " external_ref TEXT);"
                         "INSERT INTO customers(customer_id, name) VALUES('c-old', 'Old Timer');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  crm = start("crm-sqlite", BL_KIND_CRM, R"({"database":")" + old_db.string() + R"("})");
  EXPECT_EQ(ok(*crm, &bl_crm_api::lookup_customer, R"({"customer_id":"c-old","fields":["name","region"]})").at("fields"),
            (json::object{{"name", "Old Timer"}}));
}

TEST_F(CrmSqlite, EveryDataAccessIsInTheAuditLedgerWithWhoWhatAndWhichFields) {
  auto crm = start("crm-sqlite", BL_KIND_CRM);
  ok(*crm, &bl_crm_api::lookup_customer, R"({"customer_id":"c-1002","fields":["name","products"]})", kAdvisorContext);
  json::object read = audited("crm.customer.read");
  ASSERT_FALSE(read.empty());
  EXPECT_EQ(json::serialize(read.at("actor")), R"({"ip":"10.0.0.7","principal":"idp|advisor-1","role":"advisor"})");
  EXPECT_EQ(read.at("resource").at("customer"), "c-1002");
  EXPECT_EQ(read.at("resource").at("consultation"), "k-55");
  EXPECT_EQ(json::serialize(read.at("fields")), R"(["name","products"])");
  EXPECT_EQ(read.at("outcome"), "success");
  EXPECT_EQ(read.at("correlation_id"), "req-7");
  EXPECT_EQ(read.at("source").at("instance"), "ref-1");  // added by the host

  // A search records what kind of query and whom it found, never the query itself.
  ok(*crm, &bl_crm_api::search_customers, R"({"query":{"email":"ada@example.org"},"fields":["name"]})", kAdvisorContext);
  json::object search = audited("crm.customer.search");
  EXPECT_EQ(search.at("resource").at("query_by"), "email");
  EXPECT_EQ(json::serialize(search.at("resource").at("customers")), R"(["c-1001"])");
  EXPECT_EQ(json::serialize(search).find("ada@example.org"), std::string::npos);

  EXPECT_EQ(call(*crm, &bl_crm_api::lookup_customer, R"({"customer_id":"nobody"})", kAdvisorContext).status, BL_NOT_FOUND);
  bool failure_recorded = false;
  for (int i = 0; i < 500 && !failure_recorded; ++i) {
    for (const auto& e : ledger_entries(data_dir_ / "audit.db"))
      failure_recorded = failure_recorded || (e.at("action") == "crm.customer.read" && e.at("outcome") == "failure" &&
                                              e.at("resource").at("customer") == "nobody");
    if (!failure_recorded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(failure_recorded);
  ok(*crm, &bl_crm_api::add_note,
     R"({"customer_id":"c-1001","consultation_id":"k-55","author":"advisor","text":"private words","idempotency_key":"n-9"})",
     kAdvisorContext);
  json::object note = audited("crm.note.create");
  EXPECT_TRUE(note.at("resource").at("id").as_string().starts_with("note-"));
  EXPECT_EQ(json::serialize(note).find("private words"), std::string::npos);
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
