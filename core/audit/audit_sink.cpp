// audit_sink: see audit_sink.hpp.
#include "audit/audit_sink.hpp"

#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace branchline::audit {

JsonLinesAuditSink::JsonLinesAuditSink(std::filesystem::path path) : path_(std::move(path)) {
  std::filesystem::create_directories(path_.parent_path());
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("audit: cannot open " + path_.string() + ": " + std::strerror(errno));
}

JsonLinesAuditSink::~JsonLinesAuditSink() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonLinesAuditSink::append(boost::json::object entry, std::function<void(bl_status)> done) {
  if (!entry.contains("time")) {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    entry["time_us"] = now.count();
  }
  std::string line = boost::json::serialize(entry);
  line.push_back('\n');
  bl_status status = BL_OK;
  {
    std::lock_guard lock(mutex_);
    std::size_t written = 0;
    while (written < line.size()) {
      ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status = BL_UNAVAILABLE;
        break;
      }
      written += static_cast<std::size_t>(n);
    }
    if (status == BL_OK && ::fsync(fd_) != 0) status = BL_UNAVAILABLE;
  }
  if (done) done(status);
}

}  // namespace branchline::audit
