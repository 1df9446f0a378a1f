// audit_archive: see audit_archive.hpp.
#include "api/audit_archive.hpp"

#include "audit/ledger.hpp"

namespace branchline::api {

AuditArchive::AuditArchive(std::filesystem::path ledger_file, std::size_t max_queued)
    : file_(std::move(ledger_file)), max_queued_(max_queued), thread_([this] { work(); }) {}

AuditArchive::~AuditArchive() {
  std::deque<Queued> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  left.swap(queue_);  // the thread is gone: nobody else touches the queue
  for (auto& q : left) q.failed("the host is stopping");
}

bool AuditArchive::run(Job job, Failed failed) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back({std::move(job), std::move(failed)});
  }
  wake_.notify_one();
  return true;
}

void AuditArchive::work() {
  for (;;) {
    Queued next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      if (!reader_) reader_ = audit::LedgerReader::open(file_);
      next.job(*reader_);
    } catch (const std::exception& e) {
      reader_.reset();  // opened afresh for the next job
      next.failed(e.what());
    }
  }
}

}  // namespace branchline::api
