// core-banking-sqlite: a small core-banking system in SQLite, for development and demos.
//
// Accounts with balances in minor units, and an operations journal. Operations (idempotent on
// their idempotency_key: same key and body -> the first result; same key, other body ->
// BL_ALREADY_EXISTS), each in one SQLite transaction:
//   account_opening   params {"account_type": "checking"|"savings", "currency"?}   -> completed, {account_id}
//   loan_origination  params {"amount_minor", "currency"?, "term_months", "purpose"} -> pending, {application_id}
//   transfer          params {"from_account", "to_account", "amount_minor"}        -> completed, or
//                     rejected with {"reason": "insufficient_funds"|"currency_mismatch"}
// Every operation runs on the instance's worker thread, so host threads never wait on the disk.
#include "../common/audit.hpp"
#include "../common/ids.hpp"
#include "../common/json.hpp"
#include "../common/sqlite_db.hpp"
#include "../common/worker.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <tuple>

namespace {

using namespace branchline;
using namespace branchline::plugins;

class CoreBankingSqlite final : public sdk::CoreBankingPlugin {
 public:
  explicit CoreBankingSqlite(const sdk::CreateContext& ctx) : CoreBankingPlugin(ctx) {
    json::object settings = parse_object(ctx.settings);
    std::string path = optional_string(settings, "database", 4096);
    if (path.empty()) path = std::string(ctx.data_dir) + "/core.sqlite";
    currency_ = optional_string(settings, "currency", 3);
    if (currency_.empty()) currency_ = "USD";
    db_ = std::make_unique<Database>(path);
    db_->exec(
        "CREATE TABLE IF NOT EXISTS accounts ("
        "  account_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, type TEXT NOT NULL, currency TEXT NOT NULL,"
        "  balance_minor INTEGER NOT NULL, status TEXT NOT NULL, opened_at TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS accounts_customer ON accounts(customer_id);"
        "CREATE TABLE IF NOT EXISTS operations ("
        "  operation_id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, body_hash TEXT NOT NULL,"
        "  type TEXT NOT NULL, customer_id TEXT NOT NULL, state TEXT NOT NULL, result TEXT NOT NULL,"
        "  created_at TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS loan_applications ("
        "  application_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, amount_minor INTEGER NOT NULL,"
        "  currency TEXT NOT NULL, term_months INTEGER NOT NULL, purpose TEXT NOT NULL, status TEXT NOT NULL,"
        "  created_at TEXT NOT NULL);");
    auto seed = settings.find("seed_demo_data");
    if (seed == settings.end() || seed->value().as_bool()) seed_demo_data();
    host().log(BL_LOG_INFO, "core-banking-sqlite ready on " + path);
  }

  void list_accounts(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      std::string customer = required_string(body, "customer_id");
      json::object entry = audit_entry(call, "core.accounts.read", {{"type", "customer_accounts"}, {"customer", customer}});
      entry["fields"] = json::array{"account_id", "type", "currency", "balance", "status", "opened_at"};
      audit(host(), entry);
      auto stmt = db_->prepare(
          "SELECT account_id, type, currency, balance_minor, status, opened_at FROM accounts WHERE customer_id = ?1 "
          "ORDER BY opened_at, account_id");
      stmt.bind(1, customer);
      json::array accounts;
      while (stmt.step()) {
        accounts.push_back(json::object{{"account_id", stmt.text(0)},
                                        {"type", stmt.text(1)},
                                        {"currency", stmt.text(2)},
                                        {"balance_minor", stmt.integer(3)},
                                        {"status", stmt.text(4)},
                                        {"opened_at", stmt.text(5)}});
      }
      return json::serialize(json::object{{"accounts", std::move(accounts)}});
    });
  }

  void submit_operation(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      std::string type = required_string(body, "type", 64);
      std::string key = required_string(body, "idempotency_key", 128);
      std::string customer = required_string(body, "customer_id");
      auto p = body.find("params");
      json::object params = p != body.end() && p->value().is_object() ? p->value().as_object() : json::object();
      // The body's canonical form for idempotency: the same request serialises the same way.
      std::string hash = sha256_hex(type + '\n' + customer + '\n' + canonical(params));
      json::object entry =
          audit_entry(call, "core.operation." + type, {{"type", "operation"}, {"customer", customer}, {"idempotency_key", key}});
      return audited(host(), entry, [&] {
        std::string text = perform_once(type, key, hash, customer, params);
        json::value result = json::parse(text);
        entry["resource"].as_object()["id"] = result.at("operation_id");
        entry["state"] = result.at("state");
        return text;
      });
    });
  }

  void get_operation(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      std::string id = optional_string(body, "operation_id", 128);
      std::string key = optional_string(body, "idempotency_key", 128);
      if (id.empty() == key.empty()) throw sdk::Error(BL_INVALID_ARGUMENT, "give operation_id or idempotency_key");
      json::object entry = audit_entry(call, "core.operation.read", {{"type", "operation"}});
      return audited(host(), entry, [&] {
        auto stmt = db_->prepare(id.empty() ? "SELECT result, operation_id, customer_id FROM operations WHERE idempotency_key = ?1"
                                            : "SELECT result, operation_id, customer_id FROM operations WHERE operation_id = ?1");
        stmt.bind(1, id.empty() ? key : id);
        if (!stmt.step()) throw sdk::Error(BL_NOT_FOUND, "no such operation");
        entry["resource"].as_object()["id"] = stmt.text(1);
        entry["resource"].as_object()["customer"] = stmt.text(2);
        // The customer, so that the host can check whose operation it is (results stored before
        // the member was required lack it).
        json::value result = json::parse(stmt.text(0));
        result.as_object()["customer_id"] = stmt.text(2);
        return json::serialize(result);
      });
    });
  }

 private:
  // The operation, once per idempotency key: a repeat answers the first result.
  std::string perform_once(const std::string& type, const std::string& key, const std::string& hash,
                           const std::string& customer, const json::object& params) {
    return db_->transaction([&] {
      auto existing = db_->prepare("SELECT body_hash, result FROM operations WHERE idempotency_key = ?1");
      existing.bind(1, key);
      if (existing.step()) {
        if (existing.text(0) != hash)
          throw sdk::Error(BL_ALREADY_EXISTS, "the idempotency key was used for another operation");
        json::value first = json::parse(existing.text(1));
        first.as_object()["customer_id"] = customer;  // results stored before it was a member lack it
        return json::serialize(first);
      }
      json::object details;
      std::string state = perform(type, customer, params, details);
      std::string operation_id = random_id("op-");
      json::object result{{"operation_id", operation_id}, {"customer_id", customer}, {"state", state},
                          {"details", std::move(details)}};
      std::string text = json::serialize(result);
      auto insert = db_->prepare(
          "INSERT INTO operations(operation_id, idempotency_key, body_hash, type, customer_id, state, result, "
          "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      insert.bind(1, operation_id).bind(2, key).bind(3, hash).bind(4, type).bind(5, customer).bind(6, state);
      insert.bind(7, text).bind(8, now_rfc3339());
      insert.step();
      return text;
    });
  }

  // Carries out one operation inside the caller's transaction; returns its state.
  std::string perform(const std::string& type, const std::string& customer, const json::object& params,
                      json::object& details) {
    if (type == "account_opening") {
      std::string account_type = required_string(params, "account_type", 32);
      if (account_type != "checking" && account_type != "savings")
        throw sdk::Error(BL_INVALID_ARGUMENT, "account_type must be checking or savings");
      std::string currency = optional_string(params, "currency", 3);
      if (currency.empty()) currency = currency_;
      std::string account_id = random_id("acc-");
      auto insert = db_->prepare(
          "INSERT INTO accounts(account_id, customer_id, type, currency, balance_minor, status, opened_at) "
          "VALUES(?1, ?2, ?3, ?4, 0, 'open', ?5)");
      insert.bind(1, account_id).bind(2, customer).bind(3, account_type).bind(4, currency).bind(5, now_rfc3339());
      insert.step();
      details["account_id"] = account_id;
      return "completed";
    }
    if (type == "loan_origination") {
      std::int64_t amount = optional_integer(params, "amount_minor", 0, 1, 100'000'000'000);
      if (amount == 0) throw sdk::Error(BL_INVALID_ARGUMENT, "'amount_minor' is required");
      std::int64_t term = optional_integer(params, "term_months", 0, 1, 480);
      if (term == 0) throw sdk::Error(BL_INVALID_ARGUMENT, "'term_months' is required");
      std::string purpose = required_string(params, "purpose", 256);
      std::string currency = optional_string(params, "currency", 3);
      if (currency.empty()) currency = currency_;
      std::string application_id = random_id("loan-");
      auto insert = db_->prepare(
          "INSERT INTO loan_applications(application_id, customer_id, amount_minor, currency, term_months, purpose, "
          "status, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 'submitted', ?7)");
      insert.bind(1, application_id).bind(2, customer).bind(3, amount).bind(4, currency).bind(5, term);
      insert.bind(6, purpose).bind(7, now_rfc3339());
      insert.step();
      details["application_id"] = application_id;
      return "pending";  // underwriting happens outside the video channel
    }
    if (type == "transfer") {
      std::string from = required_string(params, "from_account", 64);
      std::string to = required_string(params, "to_account", 64);
      std::int64_t amount = optional_integer(params, "amount_minor", 0, 1, 100'000'000'000);
      if (amount == 0) throw sdk::Error(BL_INVALID_ARGUMENT, "'amount_minor' is required");
      if (from == to) throw sdk::Error(BL_INVALID_ARGUMENT, "from_account and to_account are the same");
      auto account = [&](const std::string& id) {
        auto stmt = db_->prepare("SELECT customer_id, currency, balance_minor, status FROM accounts WHERE account_id = ?1");
        stmt.bind(1, id);
        if (!stmt.step()) throw sdk::Error(BL_NOT_FOUND, "no such account");
        return std::make_tuple(stmt.text(0), stmt.text(1), stmt.integer(2), stmt.text(3));
      };
      auto [from_owner, from_currency, from_balance, from_status] = account(from);
      auto [to_owner, to_currency, to_balance, to_status] = account(to);
      if (from_owner != customer) throw sdk::Error(BL_PERMISSION_DENIED, "the source account is not the customer's");
      if (from_status != "open" || to_status != "open") {
        details["reason"] = "account_closed";
        return "rejected";
      }
      if (from_currency != to_currency) {
        details["reason"] = "currency_mismatch";
        return "rejected";
      }
      if (from_balance < amount) {
        details["reason"] = "insufficient_funds";
        return "rejected";
      }
      db_->prepare("UPDATE accounts SET balance_minor = balance_minor - ?1 WHERE account_id = ?2")
          .bind(1, amount).bind(2, from).step();
      db_->prepare("UPDATE accounts SET balance_minor = balance_minor + ?1 WHERE account_id = ?2")
          .bind(1, amount).bind(2, to).step();
      details["from_account"] = from;
      details["to_account"] = to;
      details["amount_minor"] = amount;
      return "completed";
    }
    throw sdk::Error(BL_INVALID_ARGUMENT, "unknown operation type '" + type.substr(0, 64) + "'");
  }

  void seed_demo_data() {
    auto count = db_->prepare("SELECT count(*) FROM accounts");
    count.step();
    if (count.integer(0) > 0) return;
    struct Demo {
      const char *id, *customer, *type, *currency;
      std::int64_t balance;
    };
    const Demo demo[] = {{"acc-1001-chk", "c-1001", "checking", "USD", 254'300},
                         {"acc-1001-sav", "c-1001", "savings", "USD", 1'200'000},
                         {"acc-1002-chk", "c-1002", "checking", "USD", 98'150},
                         {"acc-1003-sav", "c-1003", "savings", "EUR", 530'000},
                         {"acc-1004-chk", "c-1004", "checking", "USD", 4'410'000}};
    db_->transaction([&] {
      for (const Demo& d : demo) {
        auto insert = db_->prepare(
            "INSERT INTO accounts(account_id, customer_id, type, currency, balance_minor, status, opened_at) "
            "VALUES(?1, ?2, ?3, ?4, ?5, 'open', ?6)");
        insert.bind(1, d.id).bind(2, d.customer).bind(3, d.type).bind(4, d.currency).bind(5, d.balance);
        insert.bind(6, now_rfc3339());
        insert.step();
      }
      return 0;
    });
  }

  std::string currency_;
  std::unique_ptr<Database> db_;
  Worker worker_;  // declared last: destroyed first, finishing queued work while db_ is alive
};

}  // namespace

BRANCHLINE_PLUGIN(CoreBankingSqlite)
