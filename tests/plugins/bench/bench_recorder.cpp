// bench_recorder: the media side of tests/bench: write() counts the packet and returns, the
// least work a crossing can carry.
#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

namespace {

using namespace branchline::sdk;

class Counting final : public Recording {
 public:
  bl_status write(const bl_media_packet& packet) override {
    bytes_ += packet.size;
    return BL_OK;
  }
  void close(Call call) override { call.ok("{\"bytes\":" + std::to_string(bytes_) + "}"); }

 private:
  std::size_t bytes_ = 0;
};

class BenchRecorder final : public RecordingPlugin {
 public:
  using RecordingPlugin::RecordingPlugin;
  std::unique_ptr<Recording> open(std::string_view, std::string_view) override { return std::make_unique<Counting>(); }
};

}  // namespace

BRANCHLINE_PLUGIN(BenchRecorder)
