// audit_archive: the audit ledger as the API reads it (auditors' queries, examiners' exports): a
// LedgerReader on a thread of its own, because SQLite reads block and the server's threads must
// not, and an export page can take a while.
//
// Contract:
//  - run(job, failed) queues `job`; it runs on the archive's thread with the reader, which is
//    opened on first use and kept open (a WAL reader never blocks the ledger's writer).
//  - At most `max_queued` jobs wait; beyond that run() returns false and runs nothing (the route
//    answers 503 with Retry-After), so that a burst of exports neither piles up memory nor delays
//    everything behind it.
//  - A job that throws (the ledger cannot be opened or read) has `failed` called with the reason
//    instead; the reader is opened afresh for the next job. Nothing a job or `failed` throws
//    leaves the archive's thread.
//  - stop() lets the running job finish, calls `failed` for those still queued, and joins; run()
//    refuses from then on. The host calls it once the server has drained and before its executor
//    stops, so that no job answers into a stopped server. The destructor stops too (and, should
//    the last owner be a job's own answer on the archive's thread, detaches instead of joining).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace branchline::audit {
class LedgerReader;
}

namespace branchline::api {

class AuditArchive {
 public:
  using Job = std::function<void(audit::LedgerReader&)>;
  using Failed = std::function<void(const std::string& reason)>;

  explicit AuditArchive(std::filesystem::path ledger_file, std::size_t max_queued = 4);
  ~AuditArchive();
  AuditArchive(const AuditArchive&) = delete;
  AuditArchive& operator=(const AuditArchive&) = delete;

  bool run(Job job, Failed failed);
  void stop();

 private:
  // What the archive's thread uses; it holds its own reference, so that it never touches the
  // AuditArchive, which may be destroyed (by a job's answer) while the thread still runs.
  struct State {
    std::filesystem::path file;
    std::size_t max_queued;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::pair<Job, Failed>> queue;
    bool stopping = false;
  };
  static void work(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace branchline::api
