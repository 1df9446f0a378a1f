// event-sink-log: writes delivered events to a JSON-lines file, one event per line, for
// development, demos, and as a log shipper's input.
//
// A batch is acknowledged (BL_OK) only once its lines are on disk (write, then fsync). Delivery is
// at-least-once, so a batch may come again after a crash or a timeout: events at or below the
// highest sequence already in the file are skipped, so every event is in the file once. The file
// is the only record of that sequence: at start the plugin reads its last line, and cuts off a
// line left half-written by a crash (that batch was never acknowledged and will come again). A batch that is not a list of events is refused with
// BL_INVALID_ARGUMENT (the host dead-letters it). Writes run on the instance's worker thread.
#include "../common/json.hpp"
#include "../common/worker.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace {

using namespace branchline;
using namespace branchline::plugins;

class EventSinkLog final : public sdk::EventSinkPlugin {
 public:
  explicit EventSinkLog(const sdk::CreateContext& ctx) : EventSinkPlugin(ctx) {
    json::object settings = parse_object(ctx.settings);
    path_ = optional_string(settings, "path", 4096);
    if (path_.empty()) path_ = std::string(ctx.data_dir) + "/events.jsonl";
    auto also = settings.find("also_log");
    also_log_ = also != settings.end() && also->value().as_bool();
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) throw sdk::Error(BL_UNAVAILABLE, "cannot open " + path_ + ": " + std::strerror(errno));
    recover();
    host().log(BL_LOG_INFO, "event-sink-log writing to " + path_);
  }
  ~EventSinkLog() override {
    worker_.reset();  // finish queued batches first
    ::close(fd_);
  }

  void deliver(sdk::Call call) override {
    serve(*worker_, call, [this, call] {
      json::object body = parse_object(call.body());
      auto events = body.find("events");
      if (events == body.end() || !events->value().is_array())
        throw sdk::Error(BL_INVALID_ARGUMENT, "'events' must be a list");
      std::string lines;
      std::int64_t highest = last_sequence_;
      for (const auto& e : events->value().as_array()) {
        if (!e.is_object()) throw sdk::Error(BL_INVALID_ARGUMENT, "an event is not an object");
        const json::object& event = e.as_object();
        auto seq = event.find("sequence");
        if (seq == event.end() || !seq->value().is_int64()) throw sdk::Error(BL_INVALID_ARGUMENT, "an event has no sequence");
        std::string type = required_string(event, "type", 128);
        std::int64_t sequence = seq->value().as_int64();
        if (sequence <= highest) continue;  // already written: a redelivery
        highest = sequence;
        lines += json::serialize(event) + "\n";
        if (also_log_) host().log(BL_LOG_DEBUG, "event " + std::to_string(sequence) + " " + type);
      }
      if (!lines.empty()) {
        // All of the batch or none of it: on a failed write or fsync (a full disk), cut the file
        // back to where the batch began, so that its redelivery does not follow a half line.
        off_t start = ::lseek(fd_, 0, SEEK_END);
        try {
          write_all(lines);
          if (::fsync(fd_) != 0) throw sdk::Error(BL_UNAVAILABLE, std::string("fsync failed: ") + std::strerror(errno));
        } catch (...) {
          if (start >= 0 && ::ftruncate(fd_, start) != 0)
            host().log(BL_LOG_ERROR, "event-sink-log: cannot cut back a failed batch in " + path_);
          throw;
        }
        last_sequence_ = highest;
      }
      return std::string("{}");
    });
  }

 private:
  // Finds the last complete line's sequence; truncates a trailing partial line.
  void recover() {
    off_t size = ::lseek(fd_, 0, SEEK_END);
    if (size <= 0) return;
    std::string tail;  // the file's last bytes, grown backwards until it holds two newlines
    off_t at = size;
    auto newline_count = [&] { return std::count(tail.begin(), tail.end(), '\n'); };
    while (at > 0 && newline_count() < 2) {
      off_t chunk = std::min<off_t>(at, 4096);
      at -= chunk;
      std::string piece(static_cast<std::size_t>(chunk), '\0');
      if (::pread(fd_, piece.data(), piece.size(), at) != chunk)
        throw sdk::Error(BL_UNAVAILABLE, "cannot read " + path_);
      tail = piece + tail;
    }
    std::size_t end = tail.rfind('\n');
    if (end != tail.size() - 1) {
      // A partial last line: cut it off.
      off_t keep = end == std::string::npos ? at : at + static_cast<off_t>(end) + 1;
      if (::ftruncate(fd_, keep) != 0) throw sdk::Error(BL_UNAVAILABLE, "cannot repair " + path_);
      host().log(BL_LOG_WARN, "event-sink-log: cut a half-written line off " + path_);
      tail.resize(end == std::string::npos ? 0 : end + 1);
      if (tail.empty()) return recover();
    }
    std::size_t start = tail.rfind('\n', tail.size() - 2);
    std::string line = tail.substr(start == std::string::npos ? 0 : start + 1);
    json::error_code ec;
    json::value last = json::parse(line, ec);
    if (!ec && last.is_object() && last.as_object().contains("sequence") && last.at("sequence").is_int64())
      last_sequence_ = last.at("sequence").as_int64();
  }

  void write_all(const std::string& data) {
    std::size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(fd_, data.data() + written, data.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw sdk::Error(BL_UNAVAILABLE, std::string("write failed: ") + std::strerror(errno));
      written += static_cast<std::size_t>(n);
    }
  }

  std::string path_;
  bool also_log_ = false;
  int fd_ = -1;
  std::int64_t last_sequence_ = 0;
  std::unique_ptr<Worker> worker_ = std::make_unique<Worker>();
};

}  // namespace

BRANCHLINE_PLUGIN(EventSinkLog)
