// callback_gate: the host's guarantee that it never calls into a plugin instance after destroy().
//
// Contract: every callback the host runs into a plugin outside a direct call (a cancel hint from
// a deadline timer, an audit `done`, ...) goes through run(). close() waits for a callback that
// is running and makes every later run() a no-op, so after close() returns the plugin may be
// destroyed. Callbacks into plugins must not block (the ABI says so), which is why holding the
// gate's lock while one runs is acceptable. Shared by pointer so that posted work can hold it.
#pragma once

#include <mutex>

namespace branchline::host {

class CallbackGate {
 public:
  // Runs f unless the gate is closed. Returns whether it ran.
  template <class F>
  bool run(F&& f) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    f();
    return true;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }

 private:
  std::mutex mutex_;
  bool closed_ = false;
};

}  // namespace branchline::host
