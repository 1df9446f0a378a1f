// audit_sink: where every audit entry of the host and its plugins goes.
//
// Contract: append() takes one entry (a JSON object) and calls done exactly once, on a host
// thread, with BL_OK only after the entry is durable (fsynced), or with an error. Entries are
// never dropped silently. The tamper-evident ledger (core/audit, issue 4) implements this same
// interface; until it lands, JsonLinesAuditSink appends fsynced JSON lines.
#pragma once

#include <branchline/abi.h>

#include <boost/json/object.hpp>

#include <filesystem>
#include <functional>
#include <mutex>

namespace branchline::audit {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void append(boost::json::object entry, std::function<void(bl_status)> done) = 0;
};

// One JSON object per line in `path`, each written with write(2) and fsync(2) before done(BL_OK).
class JsonLinesAuditSink final : public AuditSink {
 public:
  explicit JsonLinesAuditSink(std::filesystem::path path);
  ~JsonLinesAuditSink() override;
  void append(boost::json::object entry, std::function<void(bl_status)> done) override;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::mutex mutex_;
  int fd_ = -1;
};

}  // namespace branchline::audit
