// call_table: see call_table.hpp.
#include "host/call_table.hpp"

#include "common/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <vector>

namespace branchline::host {

struct CallTable::Call {
  Call(boost::asio::any_io_executor reply, CallHandler h) : reply_to(std::move(reply)), handler(std::move(h)) {}

  // Answers the caller once; later answers are dropped.
  void answer(CallResult result) {
    if (answered.exchange(true, std::memory_order_acq_rel)) return;
    boost::asio::post(reply_to, [h = std::move(handler), r = std::move(result)]() mutable { h(std::move(r)); });
  }

  bl_request request{};
  std::string body;
  std::string context;
  std::atomic<bool> answered{false};
  std::multimap<std::chrono::steady_clock::time_point, bl_call_id>::iterator deadline;  // guarded by the registry's mutex
  bool has_deadline = false;
  boost::asio::any_io_executor reply_to;
  CallHandler handler;
  std::function<void(bl_call_id)> cancel_hint;
};

CallTable::CallTable(boost::asio::any_io_executor timers, std::string owner)
    : timers_(timers), registry_(std::make_shared<Registry>(std::move(timers))), owner_(std::move(owner)) {}

void CallTable::Registry::arm(const std::weak_ptr<Registry>& self) {
  if (closed || deadlines.empty()) return;
  Clock::time_point earliest = deadlines.begin()->first;
  if (earliest >= armed_for) return;  // already armed for this deadline or an earlier one
  armed_for = earliest;
  timer.expires_at(earliest);
  timer.async_wait([self](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or closed
    if (auto r = self.lock()) r->on_timer(self);
  });
}

void CallTable::Registry::on_timer(const std::weak_ptr<Registry>& self) {
  std::vector<bl_call_id> expired;
  {
    std::lock_guard lock(mutex);
    armed_for = Clock::time_point::max();
    const Clock::time_point now = Clock::now();
    while (!deadlines.empty() && deadlines.begin()->first <= now) {
      bl_call_id id = deadlines.begin()->second;
      deadlines.erase(deadlines.begin());
      if (auto it = live.find(id); it != live.end()) it->second->has_deadline = false;
      expired.push_back(id);
    }
    arm(self);
  }
  for (bl_call_id id : expired) give_up(id, BL_DEADLINE_EXCEEDED, "the plugin did not complete the call before its deadline");
}

CallTable::~CallTable() {
  close();
  // Calls a plugin never completed: a timer handler already running finds the registry gone.
  std::lock_guard lock(registry_->mutex);
  registry_->live.clear();
}

void CallTable::close() {
  registry_->gate->close();
  std::vector<std::shared_ptr<Call>> waiting;
  {
    // One critical section: a start() either happened before (its call is answered here) or
    // sees `closed` and answers itself.
    std::lock_guard lock(registry_->mutex);
    registry_->closed = true;
    for (auto& [id, call] : registry_->live) {
      waiting.push_back(call);
      call->has_deadline = false;
    }
    registry_->deadlines.clear();
    registry_->timer.cancel();
  }
  for (auto& call : waiting) {
    call->answer(CallResult{BL_CANCELLED, {}, "the host is shutting down the plugin instance"});
  }
}

bl_call_id CallTable::start(std::string body, std::string context, std::chrono::milliseconds deadline,
                            boost::asio::any_io_executor reply_to, CallHandler handler,
                            const std::function<void(const bl_request*)>& invoke,
                            std::function<void(bl_call_id)> cancel_hint) {
  const bl_call_id id = next_id_.fetch_add(1, std::memory_order_relaxed);
  auto call = std::make_shared<Call>(std::move(reply_to), std::move(handler));
  call->body = std::move(body);
  call->context = std::move(context);
  call->cancel_hint = std::move(cancel_hint);
  call->request.struct_size = sizeof(bl_request);
  call->request.deadline_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(0, deadline.count()));
  call->request.call = id;
  call->request.body = call->body.data();
  call->request.body_length = call->body.size();
  call->request.context = call->context.data();
  call->request.context_length = call->context.size();
  {
    std::lock_guard lock(registry_->mutex);
    if (registry_->closed) {
      // The instance is shutting down: the plugin is not called any more.
      call->answer(CallResult{BL_CANCELLED, {}, "the host is shutting down the plugin instance"});
      return id;
    }
    registry_->live.emplace(id, call);
    call->deadline = registry_->deadlines.emplace(Clock::now() + deadline, id);
    call->has_deadline = true;
    registry_->arm(registry_);
  }
  // The request pointer stays valid: `call` is in registry_->live until the plugin completes it.
  invoke(&call->request);
  return id;
}

void CallTable::Registry::give_up(bl_call_id id, bl_status status, std::string_view why) {
  std::shared_ptr<Call> call;
  {
    std::lock_guard lock(mutex);
    auto it = live.find(id);
    if (it == live.end()) return;
    call = it->second;
  }
  if (call->answered.load(std::memory_order_acquire)) return;
  call->answer(CallResult{status, {}, std::string(why)});
  if (call->cancel_hint) gate->run([&] { call->cancel_hint(id); });
}

void CallTable::cancel(bl_call_id id) {
  registry_->give_up(id, BL_CANCELLED, "the caller cancelled the call");
}

void CallTable::complete(bl_call_id id, bl_status status, std::string_view result, std::string_view message) {
  std::shared_ptr<Call> call;
  {
    std::lock_guard lock(registry_->mutex);
    auto it = registry_->live.find(id);
    if (it == registry_->live.end()) {
      stray_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    call = std::move(it->second);
    registry_->live.erase(it);
    // The timer stays armed; when it fires early it finds nothing due and re-arms for the next.
    if (call->has_deadline) registry_->deadlines.erase(call->deadline);
    call->has_deadline = false;
    if (registry_->live.empty()) registry_->drained.notify_all();
  }
  if (status < BL_OK || status > BL_UNCAUGHT_EXCEPTION) status = BL_INTERNAL;
  if (!call->answered.load(std::memory_order_acquire)) {
    // On an error, the result is the operation's error document (abi.h, complete()): small, or
    // dropped.
    bool keep = status == BL_OK || result.size() <= kMaxErrorDocument;
    // A plugin's fault its vendor should see; logged without the document (it may hold anything).
    if (!keep)
      log::warn("host", "plugin instance '" + owner_ + "' failed call " + std::to_string(id) + " with an error document of " +
                            std::to_string(result.size()) +
                            " bytes, over the 4 KiB abi.h allows: the document was dropped, the failure kept");
    call->answer(CallResult{status, keep ? std::string(result) : std::string(), std::string(message)});
  }
}

std::size_t CallTable::outstanding() const {
  std::lock_guard lock(registry_->mutex);
  return registry_->live.size();
}

std::size_t CallTable::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(registry_->mutex);
  registry_->drained.wait_for(lock, timeout, [this] { return registry_->live.empty(); });
  return registry_->live.size();
}

}  // namespace branchline::host
