// cpp_crm: a CRM test plugin written with the C++ helper (branchline/plugin.hpp). Its settings pick
// a behaviour so the host's tests can drive every path of the call contract:
//   "mode": "normal"          answers at once (lookup echoes the customer id)
//           "async"           answers from its own thread after "delay_ms"
//           "never"           keeps the call and completes it only at destroy (host deadline test)
//           "throw"           throws from the operation (the helper turns it into a status)
//           "drop"            lets the Call go without completing it (the helper completes it)
//           "twice"           completes twice (the host must ignore the second)
//           "error_document"  fails with BL_UNAVAILABLE and an error document of "document_bytes"
//                             (abi.h allows 4 KiB; the host keeps one up to that, drops a larger one)
//   "throw_on_create": true   the constructor throws
//   "fail_on_create": true    the constructor fails with branchline::sdk::Error(BL_UNAVAILABLE)
//   "leak_secret": true       a careless plugin: logs its secret "api_token" and fails to create
//                             with the secret in its reason (the host must redact both)
#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using branchline::sdk::Call;

// Reads "name":"value" or "name":number|true from host-generated JSON (test plugin only).
std::string field(std::string_view json, std::string_view name) {
  std::string key = "\"" + std::string(name) + "\":";
  auto at = json.find(key);
  if (at == std::string_view::npos) return {};
  auto v = json.substr(at + key.size());
  if (!v.empty() && v.front() == '"') {
    auto end = v.find('"', 1);
    return std::string(v.substr(1, end == std::string_view::npos ? 0 : end - 1));
  }
  auto end = v.find_first_of(",}");
  return std::string(v.substr(0, end));
}

class CppCrm final : public branchline::sdk::CrmPlugin {
 public:
  explicit CppCrm(const branchline::sdk::CreateContext& ctx) : CrmPlugin(ctx) {
    if (field(ctx.settings, "throw_on_create") == "true") throw std::runtime_error("constructor exploded on purpose");
    if (field(ctx.settings, "fail_on_create") == "true") {
      throw branchline::sdk::Error(BL_UNAVAILABLE, "vendor endpoint unreachable (on purpose)");
    }
    if (field(ctx.settings, "leak_secret") == "true") {
      std::string token = host().secret("api_token");
      host().log(BL_LOG_WARN, "connecting with token " + token);
      throw branchline::sdk::Error(BL_PERMISSION_DENIED, "vendor refused token " + token);
    }
    mode_ = field(ctx.settings, "mode");
    if (mode_.empty()) mode_ = "normal";
    std::string delay = field(ctx.settings, "delay_ms");
    delay_ms_ = delay.empty() ? 10 : std::stoi(delay);
    std::string bytes = field(ctx.settings, "document_bytes");
    document_bytes_ = bytes.empty() ? 64 : static_cast<std::size_t>(std::stoul(bytes));
    host().log(BL_LOG_INFO, "cpp_crm created in mode " + mode_);
  }

  ~CppCrm() override {
    for (auto& t : threads_) t.join();
    std::lock_guard lock(mutex_);
    for (auto& call : kept_) call.fail(BL_CANCELLED, "plugin shutting down");
  }

  void lookup_customer(Call call) override {
    std::string id = field(call.body(), "customer_id");
    std::string result = R"({"customer_id":")" + id + R"(","fields":{"name":"Grace Hopper"}})";
    if (mode_ == "normal") {
      if (id == "missing") call.fail(BL_NOT_FOUND, "no such customer");
      else call.ok(result);
    } else if (mode_ == "async") {
      std::lock_guard lock(mutex_);
      threads_.emplace_back([call, result, delay = delay_ms_] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        call.ok(result);
      });
    } else if (mode_ == "never") {
      std::lock_guard lock(mutex_);
      kept_.push_back(call);
    } else if (mode_ == "throw") {
      throw std::runtime_error("lookup exploded on purpose");
    } else if (mode_ == "drop") {
      // Returns without completing: the helper completes the call with BL_INTERNAL.
    } else if (mode_ == "twice") {
      host().complete(call.id(), BL_OK, result, {});
      host().complete(call.id(), BL_OK, result, {});
    } else if (mode_ == "error_document") {
      std::string document = R"({"error":"vendor_down","pad":")";
      document += std::string(document_bytes_ > document.size() + 2 ? document_bytes_ - document.size() - 2 : 0, 'x');
      document += "\"}";
      call.fail(BL_UNAVAILABLE, "the vendor is down", document);
    }
  }

  // Audits the note and answers only once the entry is durable ("bad_audit": true sends an entry
  // that is not a JSON object, which the host must refuse). With "op" it exercises a host service
  // instead and answers what the service said:
  //   {"op":"http","method":"GET","url":"..."}  -> {"status":S,"http_status":H,"body":"...","message":"..."}
  //   {"op":"kv_put","key":"k","value":"v"}      -> {"status":S}
  //   {"op":"kv_get","key":"k"}                  -> {"status":S,"value":"..."}
  //   {"op":"kv_delete","key":"k"}               -> {"status":S}
  void add_note(Call call) override {
    std::string op = field(call.body(), "op");
    if (!op.empty()) return service(call, op);
    std::string entry = R"({"action":"crm.note.add","resource":{"customer":")" + field(call.body(), "customer_id") +
                        R"("},"outcome":"success"})";
    if (field(call.body(), "bad_audit") == "true") entry = "[\"not an object\"]";
    auto* held = new Call(call);
    bl_status status = host().audit(
        entry,
        [](void* user, bl_status durable) {
          std::unique_ptr<Call> c(static_cast<Call*>(user));
          if (durable == BL_OK) c->ok(R"({"note_id":"n-1"})");
          else c->fail(durable, "the audit entry could not be stored");
        },
        held);
    if (status != BL_OK) {
      delete held;
      call.fail(status, "the host refused the audit entry");
    }
  }

  static std::string escape(std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      out += c;
    }
    return out;
  }

  void service(Call call, const std::string& op) {
    std::string key = field(call.body(), "key");
    auto answer = [&](bl_status status, const std::string& extra = "") {
      call.ok("{\"status\":" + std::to_string(status) + extra + "}");
    };
    try {
      if (op == "http") {
        std::string method = field(call.body(), "method");
        bl_status status = host().http(method.empty() ? "GET" : method, field(call.body(), "url"),
                                       {{"X-Test", "cpp-crm"}}, field(call.body(), "body"),
                                       [call](branchline::sdk::Host::HttpResult r) {
                                         call.ok("{\"status\":" + std::to_string(r.status) + ",\"http_status\":" +
                                                 std::to_string(r.http_status) + ",\"body\":\"" + escape(r.body) +
                                                 "\",\"message\":\"" + escape(r.message) + "\"}");
                                       });
        if (status != BL_OK) answer(status);
      } else if (op == "kv_put") {
        host().kv_put(key, field(call.body(), "value"));
        answer(BL_OK);
      } else if (op == "kv_get") {
        auto value = host().kv_get(key);
        if (value) answer(BL_OK, ",\"value\":\"" + escape(*value) + "\"");
        else answer(BL_NOT_FOUND);
      } else if (op == "kv_delete") {
        host().kv_erase(key);
        answer(BL_OK);
      } else {
        call.fail(BL_INVALID_ARGUMENT, "unknown op");
      }
    } catch (const branchline::sdk::Error& e) {
      answer(e.status());
    }
  }

  void cancel_call(bl_call_id id) override {
    std::lock_guard lock(mutex_);
    ++cancels_;
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (it->id() == id) {
        it->fail(BL_CANCELLED, "cancelled by the host");
        kept_.erase(it);
        break;
      }
    }
  }

  std::string health() override {
    std::lock_guard lock(mutex_);
    return R"({"status":"ok","detail":"cancels=)" + std::to_string(cancels_) + R"("})";
  }

 private:
  std::string mode_;
  int delay_ms_ = 10;
  std::size_t document_bytes_ = 64;
  std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::vector<Call> kept_;
  int cancels_ = 0;
};

}  // namespace

BRANCHLINE_PLUGIN(CppCrm)
