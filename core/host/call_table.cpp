// call_table: see call_table.hpp.
#include "host/call_table.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <vector>

namespace branchline::host {

struct CallTable::Call {
  Call(boost::asio::any_io_executor timers, boost::asio::any_io_executor reply, CallHandler h)
      : timer(std::move(timers)), reply_to(std::move(reply)), handler(std::move(h)) {}

  // Answers the caller once; later answers are dropped.
  void answer(CallResult result) {
    if (answered.exchange(true, std::memory_order_acq_rel)) return;
    boost::asio::post(reply_to, [h = std::move(handler), r = std::move(result)]() mutable { h(std::move(r)); });
  }

  bl_request request{};
  std::string body;
  std::string context;
  std::atomic<bool> answered{false};
  std::mutex timer_mutex;  // the timer is armed and cancelled from different threads
  boost::asio::steady_timer timer;
  boost::asio::any_io_executor reply_to;
  CallHandler handler;
  std::function<void(bl_call_id)> cancel_hint;
};

CallTable::CallTable(boost::asio::any_io_executor timers)
    : timers_(std::move(timers)), registry_(std::make_shared<Registry>()) {}

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
    std::lock_guard lock(registry_->mutex);
    for (auto& [id, call] : registry_->live) waiting.push_back(call);
  }
  for (auto& call : waiting) {
    {
      std::lock_guard timer_lock(call->timer_mutex);
      call->timer.cancel();
    }
    call->answer(CallResult{BL_CANCELLED, {}, "the host is shutting down the plugin instance"});
  }
}

bl_call_id CallTable::start(std::string body, std::string context, std::chrono::milliseconds deadline,
                            boost::asio::any_io_executor reply_to, CallHandler handler,
                            const std::function<void(const bl_request*)>& invoke,
                            std::function<void(bl_call_id)> cancel_hint) {
  const bl_call_id id = next_id_.fetch_add(1, std::memory_order_relaxed);
  auto call = std::make_shared<Call>(timers_, std::move(reply_to), std::move(handler));
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
    registry_->live.emplace(id, call);
  }
  {
    std::lock_guard lock(call->timer_mutex);
    call->timer.expires_after(deadline);
    call->timer.async_wait([id, registry = std::weak_ptr<Registry>(registry_)](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto r = registry.lock()) {
        r->give_up(id, BL_DEADLINE_EXCEEDED, "the plugin did not complete the call before its deadline");
      }
    });
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
    if (registry_->live.empty()) registry_->drained.notify_all();
  }
  if (status < BL_OK || status > BL_UNCAUGHT_EXCEPTION) status = BL_INTERNAL;
  if (!call->answered.load(std::memory_order_acquire)) {
    {
      std::lock_guard lock(call->timer_mutex);
      call->timer.cancel();
    }
    call->answer(CallResult{status, status == BL_OK ? std::string(result) : std::string(),
                            std::string(message)});
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
