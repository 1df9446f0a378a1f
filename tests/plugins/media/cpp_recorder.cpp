// cpp_recorder: a recording test plugin written with the C++ helper's RecordingPlugin. It keeps
// every packet's bytes in memory and, at close, answers their count and a digest (FNV-1a, enough
// for the test to check that every byte arrived in order). With "complete_later" it completes the
// close call from another thread after close() returned, the other order the helper must handle.
#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using namespace branchline::sdk;

// The threads that complete closes later. The plugin owns them alone and joins them when it is
// destroyed: the host unloads the library after destroy, and a thread still running this code
// (completing, or freeing its recording after completing) would crash. (Sharing ownership with
// the recordings let the last one, freed on a worker after destroy, outlive the library.)
class Workers {
 public:
  template <class F>
  void spawn(F f) {
    std::lock_guard lock(mutex_);
    threads_.emplace_back(std::move(f));
  }
  ~Workers() {
    for (auto& t : threads_) t.join();
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

class MemoryRecording final : public Recording {
 public:
  MemoryRecording(std::string id, bool complete_later, Workers& workers)
      : id_(std::move(id)), complete_later_(complete_later), workers_(workers) {}
  bl_status write(const bl_media_packet& packet) override {
    if (packet.size > 65536) return BL_INVALID_ARGUMENT;
    for (size_t i = 0; i < packet.size; ++i) hash_ = (hash_ ^ packet.data[i]) * 1099511628211ull;
    bytes_ += packet.size;
    ++packets_;
    return BL_OK;
  }
  void close(Call call) override {
    std::string result = "{\"uri\":\"memory:" + id_ + "\",\"bytes\":" + std::to_string(bytes_) +
                         ",\"packets\":" + std::to_string(packets_) + ",\"fnv1a\":\"" + std::to_string(hash_) +
                         "\",\"duration_ms\":0}";
    if (!complete_later_) {
      call.ok(result);
      return;
    }
    workers_.spawn([call, result] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      call.ok(result);
    });
  }

 private:
  std::string id_;
  bool complete_later_;
  Workers& workers_;  // the plugin's
  uint64_t hash_ = 1469598103934665603ull;
  size_t bytes_ = 0, packets_ = 0;
};

class CppRecorder final : public RecordingPlugin {
 public:
  explicit CppRecorder(const CreateContext& ctx) : RecordingPlugin(ctx) {
    complete_later_ = ctx.settings.find("\"complete_later\":true") != std::string_view::npos;
  }
  std::unique_ptr<Recording> open(std::string_view id, std::string_view metadata) override {
    if (metadata.find("\"tracks\"") == std::string_view::npos) throw Error(BL_INVALID_ARGUMENT, "no tracks");
    return std::make_unique<MemoryRecording>(std::string(id), complete_later_, workers_);
  }

 private:
  bool complete_later_ = false;
  Workers workers_;  // last: destroyed (joined) first
};

}  // namespace

BRANCHLINE_PLUGIN(CppRecorder)
