// cpp_recorder: a recording test plugin written with the C++ helper's RecordingPlugin. It keeps
// every packet's bytes in memory and, at close, answers their count and a digest (FNV-1a, enough
// for the test to check that every byte arrived in order). With "complete_later" it completes the
// close call from another thread after close() returned, the other order the helper must handle.
#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <chrono>
#include <thread>

namespace {

using namespace branchline::sdk;

class MemoryRecording final : public Recording {
 public:
  MemoryRecording(std::string id, bool complete_later) : id_(std::move(id)), complete_later_(complete_later) {}
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
    std::thread([call, result] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      call.ok(result);
    }).detach();
  }

 private:
  std::string id_;
  bool complete_later_;
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
    return std::make_unique<MemoryRecording>(std::string(id), complete_later_);
  }

 private:
  bool complete_later_ = false;
};

}  // namespace

BRANCHLINE_PLUGIN(CppRecorder)
