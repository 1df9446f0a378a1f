// core-banking-sqlite through the host: accounts, idempotent operations, transfers.
#include "reference_fixture.hpp"

namespace branchline::test {
namespace {

using CoreBankingSqlite = ReferencePlugin;
namespace json = boost::json;

std::int64_t balance(const json::value& accounts, const std::string& id) {
  for (const auto& a : accounts.at("accounts").as_array())
    if (a.at("account_id").as_string() == id) return a.at("balance_minor").as_int64();
  return -1;
}

TEST_F(CoreBankingSqlite, AccountOpeningIsIdempotentWhateverTheMemberOrder) {
  auto core = start("core-banking-sqlite", BL_KIND_CORE_BANKING);
  json::value op = ok(*core, &bl_core_banking_api::submit_operation,
                      R"({"type":"account_opening","idempotency_key":"k-1","customer_id":"c-1002",)"
                      R"("params":{"account_type":"savings","currency":"USD"}})");
  EXPECT_EQ(op.at("state").as_string(), "completed");
  std::string account = std::string(op.at("details").at("account_id").as_string());
  json::value replay = ok(*core, &bl_core_banking_api::submit_operation,
                          R"({"customer_id":"c-1002","type":"account_opening","idempotency_key":"k-1",)"
                          R"("params":{"currency":"USD","account_type":"savings"}})");
  EXPECT_EQ(replay, op);
  EXPECT_EQ(call(*core, &bl_core_banking_api::submit_operation,
                 R"({"type":"account_opening","idempotency_key":"k-1","customer_id":"c-1002","params":{"account_type":"checking"}})")
                .status,
            BL_ALREADY_EXISTS);
  json::value accounts = ok(*core, &bl_core_banking_api::list_accounts, R"({"customer_id":"c-1002"})");
  EXPECT_EQ(balance(accounts, account), 0);
  EXPECT_EQ(accounts.at("accounts").as_array().size(), 2u);  // the demo checking account and the new one
  json::value by_key = ok(*core, &bl_core_banking_api::get_operation, R"({"idempotency_key":"k-1"})");
  json::value by_id = ok(*core, &bl_core_banking_api::get_operation,
                         R"({"operation_id":")" + std::string(op.at("operation_id").as_string()) + "\"}");
  EXPECT_EQ(by_key, op);
  EXPECT_EQ(by_id, op);
  EXPECT_EQ(call(*core, &bl_core_banking_api::get_operation, R"({"operation_id":"op-none"})").status, BL_NOT_FOUND);
}

TEST_F(CoreBankingSqlite, TransfersMoveMoneyOrAreRejectedWithAReason) {
  auto core = start("core-banking-sqlite", BL_KIND_CORE_BANKING);
  json::value done = ok(*core, &bl_core_banking_api::submit_operation,
                        R"({"type":"transfer","idempotency_key":"t-1","customer_id":"c-1001",)"
                        R"("params":{"from_account":"acc-1001-sav","to_account":"acc-1001-chk","amount_minor":100000}})");
  EXPECT_EQ(done.at("state").as_string(), "completed");
  json::value accounts = ok(*core, &bl_core_banking_api::list_accounts, R"({"customer_id":"c-1001"})");
  EXPECT_EQ(balance(accounts, "acc-1001-sav"), 1'100'000);
  EXPECT_EQ(balance(accounts, "acc-1001-chk"), 354'300);
  // Replayed: not moved twice.
  ok(*core, &bl_core_banking_api::submit_operation,
     R"({"type":"transfer","idempotency_key":"t-1","customer_id":"c-1001",)"
     R"("params":{"from_account":"acc-1001-sav","to_account":"acc-1001-chk","amount_minor":100000}})");
  accounts = ok(*core, &bl_core_banking_api::list_accounts, R"({"customer_id":"c-1001"})");
  EXPECT_EQ(balance(accounts, "acc-1001-sav"), 1'100'000);

  json::value poor = ok(*core, &bl_core_banking_api::submit_operation,
                        R"({"type":"transfer","idempotency_key":"t-2","customer_id":"c-1001",)"
                        R"("params":{"from_account":"acc-1001-chk","to_account":"acc-1001-sav","amount_minor":99999999}})");
  EXPECT_EQ(poor.at("state").as_string(), "rejected");
  EXPECT_EQ(poor.at("details").at("reason").as_string(), "insufficient_funds");
  json::value currency = ok(*core, &bl_core_banking_api::submit_operation,
                            R"({"type":"transfer","idempotency_key":"t-3","customer_id":"c-1001",)"
                            R"("params":{"from_account":"acc-1001-chk","to_account":"acc-1003-sav","amount_minor":1}})");
  EXPECT_EQ(currency.at("details").at("reason").as_string(), "currency_mismatch");
  EXPECT_EQ(call(*core, &bl_core_banking_api::submit_operation,
                 R"({"type":"transfer","idempotency_key":"t-4","customer_id":"c-1002",)"
                 R"("params":{"from_account":"acc-1001-chk","to_account":"acc-1002-chk","amount_minor":1}})")
                .status,
            BL_PERMISSION_DENIED);
}

TEST_F(CoreBankingSqlite, AccountReadsAndOperationsAreInTheAuditLedger) {
  auto core = start("core-banking-sqlite", BL_KIND_CORE_BANKING);
  ok(*core, &bl_core_banking_api::list_accounts, R"({"customer_id":"c-1001"})", kAdvisorContext);
  json::object read = audited("core.accounts.read");
  ASSERT_FALSE(read.empty());
  EXPECT_EQ(read.at("resource").at("customer"), "c-1001");
  EXPECT_EQ(read.at("actor").at("role"), "advisor");
  json::value done = ok(*core, &bl_core_banking_api::submit_operation,
                        R"({"type":"transfer","idempotency_key":"t-9","customer_id":"c-1001",)"
                        R"("params":{"from_account":"acc-1001-sav","to_account":"acc-1001-chk","amount_minor":100}})",
                        kAdvisorContext);
  json::object transfer = audited("core.operation.transfer");
  EXPECT_EQ(transfer.at("resource").at("id"), done.at("operation_id"));
  EXPECT_EQ(transfer.at("state"), "completed");
  EXPECT_EQ(transfer.at("resource").at("consultation"), "k-55");
}

TEST_F(CoreBankingSqlite, LoanOriginationIsPendingAndBadRequestsAreRefused) {
  auto core = start("core-banking-sqlite", BL_KIND_CORE_BANKING);
  json::value loan = ok(*core, &bl_core_banking_api::submit_operation,
                        R"({"type":"loan_origination","idempotency_key":"l-1","customer_id":"c-1004",)"
                        R"("params":{"amount_minor":2500000,"term_months":36,"purpose":"equipment"}})");
  EXPECT_EQ(loan.at("state").as_string(), "pending");
  EXPECT_TRUE(loan.at("details").as_object().contains("application_id"));
  EXPECT_EQ(call(*core, &bl_core_banking_api::submit_operation,
                 R"({"type":"teleport","idempotency_key":"x","customer_id":"c-1"})")
                .status,
            BL_INVALID_ARGUMENT);
  EXPECT_EQ(call(*core, &bl_core_banking_api::submit_operation,
                 R"({"type":"loan_origination","idempotency_key":"l-2","customer_id":"c-1004","params":{"amount_minor":-5}})")
                .status,
            BL_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace branchline::test
