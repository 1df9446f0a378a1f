// crm-sqlite: a CRM kept in SQLite, for development, demos and small institutions without a CRM.
//
// Customers (profile fields, products, KYC status) and interaction notes, in one SQLite file
// (WAL, synchronous=FULL). add_note is idempotent on its idempotency_key: the same key and body
// answer the first note's id, the same key with another body is BL_ALREADY_EXISTS. Every
// operation runs on the instance's worker thread, so host threads never wait on the disk.
#include "../common/audit.hpp"
#include "../common/ids.hpp"
#include "../common/json.hpp"
#include "../common/sqlite_db.hpp"
#include "../common/worker.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

namespace {

using namespace branchline;
using namespace branchline::plugins;

// The profile fields a lookup may ask for, and their columns.
const std::vector<std::pair<std::string, std::string>> kFields = {
    {"name", "name"},        {"email", "email"},     {"phone", "phone"},
    {"segment", "segment"},  {"kyc_status", "kyc_status"}, {"preferred_language", "preferred_language"},
    {"products", "products"}, {"external_ref", "external_ref"}, {"region", "region"}};

class CrmSqlite final : public sdk::CrmPlugin {
 public:
  explicit CrmSqlite(const sdk::CreateContext& ctx) : CrmPlugin(ctx) {
    json::object settings = parse_object(ctx.settings);
    std::string path = optional_string(settings, "database", 4096);
    if (path.empty()) path = std::string(ctx.data_dir) + "/crm.sqlite";
    db_ = std::make_unique<Database>(path);
    db_->exec(
        "CREATE TABLE IF NOT EXISTS customers ("
        "  customer_id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT, segment TEXT,"
        "  kyc_status TEXT, preferred_language TEXT, products TEXT NOT NULL DEFAULT '[]', external_ref TEXT, region TEXT);"
        "CREATE INDEX IF NOT EXISTS customers_email ON customers(email);"
        "CREATE INDEX IF NOT EXISTS customers_phone ON customers(phone);"
        "CREATE TABLE IF NOT EXISTS notes ("
        "  note_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(customer_id),"
        "  consultation_id TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL,"
        "  idempotency_key TEXT NOT NULL UNIQUE, body_hash TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS notes_customer ON notes(customer_id, created_at);");
    // The customer's data-residency region (the host's policies decide on it): databases made
    // before it existed get the column, empty.
    bool has_region = false;
    for (auto info = db_->prepare("PRAGMA table_info(customers)"); info.step();)
      has_region = has_region || info.text(1) == "region";
    if (!has_region) db_->exec("ALTER TABLE customers ADD COLUMN region TEXT");
    auto seed = settings.find("seed_demo_data");
    std::string demo_region = optional_string(settings, "demo_region", 63);
    if (seed == settings.end() || seed->value().as_bool()) seed_demo_data(demo_region.empty() ? "local" : demo_region);
    host().log(BL_LOG_INFO, "crm-sqlite ready on " + path);
  }

  void lookup_customer(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      std::string id = required_string(body, "customer_id");
      std::vector<std::string> fields = string_list(body, "fields", 32);
      json::object entry = audit_entry(call, "crm.customer.read", {{"type", "customer"}, {"id", id}, {"customer", id}});
      entry["fields"] = field_names(fields);
      return audited(host(), entry, [&] {
        auto stmt = db_->prepare(select_sql() + " WHERE customer_id = ?1");
        stmt.bind(1, id);
        if (!stmt.step()) throw sdk::Error(BL_NOT_FOUND, "no such customer");
        return json::serialize(customer_json(stmt, fields));
      });
    });
  }

  void search_customers(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      auto q = body.find("query");
      if (q == body.end() || !q->value().is_object()) throw sdk::Error(BL_INVALID_ARGUMENT, "'query' is required");
      const json::object& query = q->value().as_object();
      std::vector<std::string> fields = string_list(body, "fields", 32);
      std::int64_t limit = optional_integer(body, "limit", 20, 1, 100);
      std::string column, value;
      for (const char* key : {"email", "phone", "external_ref", "name"}) {
        value = optional_string(query, key);
        if (!value.empty()) {
          column = key;
          break;
        }
      }
      if (column.empty()) throw sdk::Error(BL_INVALID_ARGUMENT, "query by email, phone, external_ref or name");
      // Names match by prefix, case-insensitively; the others exactly.
      std::string where = column == "name" ? " WHERE name LIKE ?1 ESCAPE '\\' COLLATE NOCASE" : " WHERE " + column + " = ?1";
      if (column == "name") {
        std::string escaped;
        for (char c : value) {
          if (c == '%' || c == '_' || c == '\\') escaped += '\\';
          escaped += c;
        }
        value = escaped + "%";
      }
      // The query itself identifies someone and has no customer to seal it with: only its kind is
      // recorded, with the customers it returned.
      json::object entry = audit_entry(call, "crm.customer.search", {{"type", "customer_search"}, {"query_by", column}});
      entry["fields"] = field_names(fields);
      return audited(host(), entry, [&] {
        auto stmt = db_->prepare(select_sql() + where + " ORDER BY customer_id LIMIT ?2");
        stmt.bind(1, value).bind(2, limit);
        json::array customers, ids;
        while (stmt.step()) {
          customers.push_back(customer_json(stmt, fields));
          ids.push_back(customers.back().as_object().at("customer_id"));
        }
        entry["resource"].as_object()["customers"] = std::move(ids);
        return json::serialize(json::object{{"customers", std::move(customers)}});
      });
    });
  }

  void add_note(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      std::string customer = required_string(body, "customer_id");
      std::string consultation = required_string(body, "consultation_id");
      std::string author = required_string(body, "author");
      std::string text = required_string(body, "text", 16 * 1024);
      std::string key = required_string(body, "idempotency_key", 128);
      std::string hash = sha256_hex(customer + '\n' + consultation + '\n' + author + '\n' + text);
      json::object entry = audit_entry(call, "crm.note.create",
                                       {{"type", "note"}, {"customer", customer}, {"consultation", consultation}});
      return audited(host(), entry, [&] {
        std::string note_id = create_note_once(customer, consultation, author, text, key, hash);
        entry["resource"].as_object()["id"] = note_id;
        return json::serialize(json::object{{"note_id", note_id}});
      });
    });
  }

  void list_notes(sdk::Call call) override {
    serve(worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      std::string customer = required_string(body, "customer_id");
      std::int64_t limit = optional_integer(body, "limit", 20, 1, 100);
      json::object entry = audit_entry(call, "crm.note.read", {{"type", "customer_notes"}, {"customer", customer}});
      entry["fields"] = json::array{"author", "text", "created_at"};
      audit(host(), entry);
      auto stmt = db_->prepare(
          "SELECT note_id, consultation_id, author, text, created_at FROM notes WHERE customer_id = ?1 "
          "ORDER BY created_at DESC, rowid DESC LIMIT ?2");
      stmt.bind(1, customer).bind(2, limit);
      json::array notes;
      while (stmt.step()) {
        notes.push_back(json::object{{"note_id", stmt.text(0)},
                                     {"consultation_id", stmt.text(1)},
                                     {"author", stmt.text(2)},
                                     {"text", stmt.text(3)},
                                     {"created_at", stmt.text(4)}});
      }
      return json::serialize(json::object{{"notes", std::move(notes)}});
    });
  }

 private:
  // The note, once per idempotency key: a repeat answers the first note's id.
  std::string create_note_once(const std::string& customer, const std::string& consultation, const std::string& author,
                               const std::string& text, const std::string& key, const std::string& hash) {
    return db_->transaction([&] {
      auto existing = db_->prepare("SELECT note_id, body_hash FROM notes WHERE idempotency_key = ?1");
      existing.bind(1, key);
      if (existing.step()) {
        if (existing.text(1) != hash) throw sdk::Error(BL_ALREADY_EXISTS, "the idempotency key was used for another note");
        return existing.text(0);
      }
      auto known = db_->prepare("SELECT 1 FROM customers WHERE customer_id = ?1");
      known.bind(1, customer);
      if (!known.step()) throw sdk::Error(BL_NOT_FOUND, "no such customer");
      std::string note_id = random_id("note-");
      auto insert = db_->prepare(
          "INSERT INTO notes(note_id, customer_id, consultation_id, author, text, created_at, idempotency_key, "
          "body_hash) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      insert.bind(1, note_id).bind(2, customer).bind(3, consultation).bind(4, author).bind(5, text);
      insert.bind(6, now_rfc3339()).bind(7, key).bind(8, hash);
      insert.step();
      return note_id;
    });
  }

  // The profile fields an operation touched: those asked for, or all of them.
  static json::array field_names(const std::vector<std::string>& asked) {
    json::array out;
    if (asked.empty())
      for (const auto& [name, column] : kFields) out.push_back(json::string(name));
    else
      for (const auto& f : asked) out.push_back(json::string(f));
    return out;
  }

  static std::string select_sql() {
    std::string sql = "SELECT customer_id";
    for (const auto& f : kFields) sql += ", " + f.second;
    return sql + " FROM customers";
  }

  // Only the requested fields that the customer has (an empty list: all of them).
  static json::object customer_json(const Statement& row, const std::vector<std::string>& wanted) {
    json::object fields;
    for (std::size_t i = 0; i < kFields.size(); ++i) {
      const std::string& name = kFields[i].first;
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
      int column = static_cast<int>(i) + 1;
      if (row.is_null(column)) continue;
      if (name == "products") {
        json::error_code ec;
        json::value products = json::parse(row.text(column), ec);
        fields[name] = ec ? json::value(json::array()) : products;
      } else {
        fields[name] = row.text(column);
      }
    }
    return json::object{{"customer_id", row.text(0)}, {"fields", std::move(fields)}};
  }

  void seed_demo_data(const std::string& region) {
    auto count = db_->prepare("SELECT count(*) FROM customers");
    count.step();
    if (count.integer(0) > 0) return;
    struct Demo {
      const char *id, *name, *email, *phone, *segment, *kyc, *language, *products, *ref, *region;
    };
    const Demo demo[] = {
        {"c-1001", "Ada Lovelace", "ada@example.org", "+15550101", "retail", "verified", "en",
         R"(["checking","savings"])", "CIF-1001", nullptr},
        {"c-1002", "Grace Hopper", "grace@example.org", "+15550102", "premier", "verified", "en",
         R"(["checking","mortgage"])", "CIF-1002", nullptr},
        {"c-1003", "Émilie du Châtelet", "emilie@example.fr", "+33155500103", "retail", "pending", "fr",
         R"(["savings"])", "CIF-1003", "eu-west"},
        {"c-1004", "Katherine Johnson", "katherine@example.org", "+15550104", "small_business", "verified", "en",
         R"(["business_checking","loan"])", "CIF-1004", nullptr},
    };
    db_->transaction([&] {
      for (const Demo& d : demo) {
        auto insert = db_->prepare(
            "INSERT INTO customers(customer_id, name, email, phone, segment, kyc_status, preferred_language, "
            "products, external_ref, region) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        insert.bind(1, d.id).bind(2, d.name).bind(3, d.email).bind(4, d.phone).bind(5, d.segment);
        insert.bind(6, d.kyc).bind(7, d.language).bind(8, d.products).bind(9, d.ref);
        insert.bind(10, d.region ? std::string(d.region) : region);
        insert.step();
      }
      return 0;
    });
  }

  std::unique_ptr<Database> db_;
  Worker worker_;  // declared last: destroyed first, finishing queued work while db_ is alive
};

}  // namespace

BRANCHLINE_PLUGIN(CrmSqlite)
