// cpp_transcriber: a transcription test plugin written with the helper's TranscriptionPlugin. It
// does not recognise speech (the pocketsphinx plugin does, with media); it reports one segment
// per "segment_every_frames" frames, naming the frames and samples it saw, so the test can check
// the sink plumbing, ordering and the close contract.
#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <string>

namespace {

using namespace branchline::sdk;

class CountingStream final : public Transcription {
 public:
  CountingStream(TranscriptSink sink, int every) : sink_(sink), every_(every) {}
  bl_status write(const bl_pcm_frame& frame) override {
    if (frame.samples == nullptr && frame.frames > 0) return BL_INVALID_ARGUMENT;
    if (pending_frames_ == 0) start_us_ = frame.capture_time_us;
    ++pending_frames_;
    pending_samples_ += frame.frames;
    end_us_ = frame.capture_time_us;
    if (pending_frames_ >= every_) flush(frame.track_id);
    return BL_OK;
  }
  void close(Call call) override {
    if (pending_frames_ > 0) flush(0);
    call.ok("{\"segments\":" + std::to_string(segments_) + "}");
  }

 private:
  void flush(uint32_t track) {
    sink_.segment(track, "frames " + std::to_string(pending_frames_) + " samples " + std::to_string(pending_samples_),
                  start_us_, end_us_, 1.0f, "en-US");
    ++segments_;
    pending_frames_ = 0;
    pending_samples_ = 0;
  }
  TranscriptSink sink_;
  int every_;
  int pending_frames_ = 0;
  size_t pending_samples_ = 0;
  int64_t start_us_ = 0, end_us_ = 0;
  int segments_ = 0;
};

class CppTranscriber final : public TranscriptionPlugin {
 public:
  explicit CppTranscriber(const CreateContext& ctx) : TranscriptionPlugin(ctx) {
    auto at = ctx.settings.find("\"segment_every_frames\":");
    if (at != std::string_view::npos) every_ = std::stoi(std::string(ctx.settings.substr(at + 23)));
  }
  std::unique_ptr<Transcription> open(const bl_transcription_open_args& args, TranscriptSink sink) override {
    if (args.sample_rate != 16000 || args.channels != 1) throw Error(BL_INVALID_ARGUMENT, "16 kHz mono only");
    return std::make_unique<CountingStream>(sink, every_);
  }

 private:
  int every_ = 10;
};

}  // namespace

BRANCHLINE_PLUGIN(CppTranscriber)
