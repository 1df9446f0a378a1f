// worker: one thread that runs a plugin's blocking work (SQLite writes, password hashing) in
// order, so that operations called on host threads return at once (the ABI's "never block").
// The destructor finishes what is queued and joins.
#pragma once

#include <branchline/plugin.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace branchline::plugins {

class Worker {
 public:
  Worker() : thread_([this] { run(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

// Completes `call` with what `work` returns (the result JSON), or with the status of the
// sdk::Error it throws (BL_INTERNAL for any other exception).
template <class Work>
void answer(sdk::Call& call, Work&& work) {
  try {
    call.ok(work());
  } catch (const sdk::Error& e) {
    call.fail(e.status(), e.what(), e.error_document());
  } catch (const std::exception& e) {
    call.fail(BL_INTERNAL, e.what());
  }
}

// Runs `work` on the worker and answers `call` with it (see answer()).
template <class Work>
void serve(Worker& worker, sdk::Call call, Work work) {
  worker.post([call, work = std::move(work)]() mutable { answer(call, work); });
}

}  // namespace branchline::plugins
