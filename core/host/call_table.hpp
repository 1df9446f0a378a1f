// call_table: the host's side of asynchronous plugin calls for one plugin instance.
//
// Contract (the ABI's ASYNCHRONOUS CALLS rule, from the host's side):
//  - start() builds the bl_request (owning copies of body and context), registers its call id,
//    arms the deadline and hands the request to the plugin. The caller's handler runs exactly
//    once, on the caller's executor: with the plugin's result, or with BL_DEADLINE_EXCEEDED when
//    the deadline passes first, or with BL_CANCELLED after cancel().
//  - The request and its buffers live until the plugin completes the call, even after the host
//    gave up; a result that arrives after the host gave up is dropped.
//  - complete() may come from any thread, before start() returns, or never (a buggy plugin: the
//    caller still gets its deadline). An unknown or repeated call id is counted, never a crash.
//  - drain() waits until the plugin completed every call, for shutdown; close() then answers the
//    callers still waiting with BL_CANCELLED and closes the gate, so no cancel hint reaches the
//    plugin afterwards (the destructor closes too).
#pragma once

#include <branchline/abi.h>

#include "host/callback_gate.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <map>
#include <unordered_map>

namespace branchline::host {

// The largest error document a failed call keeps (abi.h, complete()); a larger one is dropped.
inline constexpr std::size_t kMaxErrorDocument = 4096;

struct CallResult {
  bl_status status = BL_OK;
  std::string result;   // JSON when status == BL_OK; else the error document, if any (at most 4 KiB)
  std::string message;  // the plugin's (or host's) reason, for logs
};

using CallHandler = std::function<void(CallResult)>;

class CallTable {
 public:
  // timers: where deadline timers run (the host's control-plane io_context).
  // `owner` names the plugin instance in the table's log lines.
  explicit CallTable(boost::asio::any_io_executor timers, std::string owner = {});
  ~CallTable();
  CallTable(const CallTable&) = delete;
  CallTable& operator=(const CallTable&) = delete;

  // Starts a call. invoke(request) hands the request to the plugin (synchronously); cancel_hint(id)
  // tells the plugin the host gave up (may be empty). Returns the call id.
  bl_call_id start(std::string body, std::string context, std::chrono::milliseconds deadline,
                   boost::asio::any_io_executor reply_to, CallHandler handler,
                   const std::function<void(const bl_request*)>& invoke, std::function<void(bl_call_id)> cancel_hint);

  // The caller gives up: its handler gets BL_CANCELLED (unless already answered).
  void cancel(bl_call_id id);

  // The plugin's completion (host->complete). Any thread.
  void complete(bl_call_id id, bl_status status, std::string_view result, std::string_view message);

  // Calls the plugin has not completed yet (including those the host gave up on).
  std::size_t outstanding() const;
  // Completions for unknown or already completed ids.
  std::uint64_t stray_completions() const { return stray_.load(std::memory_order_relaxed); }
  // Waits until outstanding() == 0 or the timeout passes; returns outstanding().
  std::size_t drain(std::chrono::milliseconds timeout);
  // Stops the deadlines, answers every caller still waiting with BL_CANCELLED, and closes the
  // gate: when it returns no cancel hint is running or will run. A completion that arrives later
  // still releases its request. Idempotent.
  void close();
  // The gate through which the host calls into this instance's plugin from outside a call.
  const std::shared_ptr<CallbackGate>& gate() const { return registry_->gate; }

 private:
  struct Call;
  using Clock = std::chrono::steady_clock;
  // The live calls and their deadlines, shared with the deadline timer through weak references,
  // so that a timer that fires while (or after) the table is destroyed finds nothing instead of a
  // dangling table. One timer per table, armed at the earliest deadline: starting a call whose
  // deadline is not the earliest touches no timer (a per-call timer cost a timerfd syscall or a
  // cross-thread wake-up on every call; see docs/performance.md).
  struct Registry {
    explicit Registry(boost::asio::any_io_executor executor) : timer(std::move(executor)) {}
    mutable std::mutex mutex;
    std::condition_variable drained;
    std::unordered_map<bl_call_id, std::shared_ptr<Call>> live;
    std::multimap<Clock::time_point, bl_call_id> deadlines;
    boost::asio::steady_timer timer;     // guarded by mutex
    Clock::time_point armed_for = Clock::time_point::max();
    bool closed = false;
    std::shared_ptr<CallbackGate> gate = std::make_shared<CallbackGate>();
    void give_up(bl_call_id id, bl_status status, std::string_view why);
    // With mutex held: arms the timer for the earliest deadline if it is not armed for it already.
    void arm(const std::weak_ptr<Registry>& self);
    void on_timer(const std::weak_ptr<Registry>& self);
  };

  boost::asio::any_io_executor timers_;
  std::shared_ptr<Registry> registry_;
  std::atomic<bl_call_id> next_id_{1};
  std::atomic<std::uint64_t> stray_{0};
  std::string owner_;
};

}  // namespace branchline::host
