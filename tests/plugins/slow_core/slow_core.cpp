// slow_core: a core-banking connector that books an operation at once but answers it late, after
// the host's deadline (a core system under load, or a lost answer), and that is idempotent on the
// key as abi.h asks: a retry of a key it has booked is answered with the first result at once.
// The API's 504 for a write that may have been done, and the client's retry with the same
// Idempotency-Key, are tested against it (tests/unit/api/customer_routes_test.cpp).
#include "../../../plugins/common/json.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace json = branchline::plugins::json;
using branchline::sdk::Call;

class SlowCore final : public branchline::sdk::CoreBankingPlugin {
 public:
  using CoreBankingPlugin::CoreBankingPlugin;
  ~SlowCore() override {
    for (auto& t : late_) t.join();
  }

  void list_accounts(Call call) override {
    json::object body = branchline::plugins::parse_object(call.body());
    call.ok(json::serialize(json::object{{"customer_id", body.at("customer_id")}, {"accounts", json::array{}}}));
  }

  void submit_operation(Call call) override {
    json::object body = branchline::plugins::parse_object(call.body());
    std::string key = branchline::plugins::required_string(body, "idempotency_key");
    std::string request = branchline::plugins::canonical(json::object{{"customer_id", body.at("customer_id")},
                                                                     {"type", body.at("type")},
                                                                     {"params", body.contains("params") ? body.at("params") : json::value()}});
    std::lock_guard lock(mutex_);
    if (auto it = booked_.find(key); it != booked_.end()) {
      // The same key for another request is refused, as abi.h asks (core_banking.h).
      if (it->second.request != request) return void(call.fail(BL_ALREADY_EXISTS, "the key was used for another request"));
      call.ok(it->second.result);
      return;
    }
    std::string result = json::serialize(json::object{{"operation_id", "op-" + std::to_string(booked_.size() + 1)},
                                                      {"customer_id", body.at("customer_id")},
                                                      {"state", "completed"}});
    booked_.emplace(key, Booking{request, result});
    // Answered only after the host has given up (its deadline is what the test sets, well under this).
    late_.emplace_back([call, result] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      call.ok(result);
    });
  }

  void get_operation(Call call) override { call.fail(BL_NOT_FOUND, "no such operation"); }

 private:
  std::mutex mutex_;
  struct Booking {
    std::string request;  // canonical: what the key was first used for
    std::string result;
  };
  std::map<std::string, Booking> booked_;  // idempotency key -> the booking
  std::vector<std::thread> late_;
};

}  // namespace

BRANCHLINE_PLUGIN(SlowCore)
