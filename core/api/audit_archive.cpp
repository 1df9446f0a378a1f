// audit_archive: see audit_archive.hpp.
#include "api/audit_archive.hpp"

#include "audit/ledger.hpp"

namespace branchline::api {

AuditArchive::AuditArchive(std::filesystem::path ledger_file, std::size_t max_queued)
    : state_(std::make_shared<State>()) {
  state_->file = std::move(ledger_file);
  state_->max_queued = max_queued;
  thread_ = std::thread(&AuditArchive::work, state_);
}

AuditArchive::~AuditArchive() {
  if (thread_.joinable() && std::this_thread::get_id() == thread_.get_id()) {
    // The last owner was released by a job's answer on the archive's own thread, which cannot
    // join itself: it sees `stopping` when the job returns and ends on its own.
    {
      std::lock_guard lock(state_->mutex);
      state_->stopping = true;
    }
    thread_.detach();
    return;
  }
  stop();
}

void AuditArchive::stop() {
  std::deque<std::pair<Job, Failed>> left;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    left.swap(state_->queue);
  }
  state_->wake.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& [job, failed] : left) {
    try {
      failed("the host is stopping");
    } catch (...) {
    }
  }
}

bool AuditArchive::run(Job job, Failed failed) {
  if (!job || !failed) return false;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping || state_->queue.size() >= state_->max_queued) return false;
    state_->queue.emplace_back(std::move(job), std::move(failed));
  }
  state_->wake.notify_one();
  return true;
}

void AuditArchive::work(std::shared_ptr<State> state) {
  std::unique_ptr<audit::LedgerReader> reader;  // this thread's only
  for (;;) {
    std::pair<Job, Failed> next;
    {
      std::unique_lock lock(state->mutex);
      state->wake.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
      if (state->stopping) return;
      next = std::move(state->queue.front());
      state->queue.pop_front();
    }
    std::string failure;
    try {
      if (!reader) reader = audit::LedgerReader::open(state->file);
      next.first(*reader);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "an unknown error";
    }
    if (!failure.empty()) {
      reader.reset();  // opened afresh for the next job
      try {
        next.second(failure);
      } catch (...) {
      }
    }
    next = {};  // may release the last owner of the AuditArchive: only `state` is used from here
  }
}

}  // namespace branchline::api
