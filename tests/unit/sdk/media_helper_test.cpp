// The C++ helper's media kinds (RecordingPlugin, TranscriptionPlugin) across the real ABI: open,
// write from one thread, close completed exactly once (inside close() or later), abort, refusal.
#include "../host/host_fixture.hpp"

#include <gtest/gtest.h>

#include <mutex>

namespace branchline::test {
namespace {

using MediaHelper = HostFixture;

host::CallResult close_with(host::PluginInstance& instance, std::function<void(bl_plugin_instance*, const bl_request*)> f,
                            boost::asio::any_io_executor ex, const std::string& body) {
  std::promise<host::CallResult> answer;
  instance.call_with(std::move(f), body, std::chrono::milliseconds(5000), ex,
                     [&answer](host::CallResult r) { answer.set_value(std::move(r)); });
  auto future = answer.get_future();
  EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return future.get();
}

void record(MediaHelper& t, host::PluginInstance& rec, boost::asio::any_io_executor ex, bool expect_ok = true) {
  const auto& api = rec.library().table<bl_recording_api>();
  const std::string id = "rec-1";
  const std::string meta = R"({"consultation_id":"k-1","tracks":[{"track_id":1,"media":"audio","codec":"opus"}]})";
  bl_recording_open_args args{sizeof(args), 0, id.data(), id.size(), meta.data(), meta.size()};
  bl_recording* handle = nullptr;
  bl_message error{};
  error.struct_size = sizeof(error);
  ASSERT_EQ(api.open(rec.handle(), &args, &handle, &error), BL_OK) << error.text;
  std::uint64_t hash = 1469598103934665603ull;
  std::vector<std::uint8_t> payload(1200);
  for (int i = 0; i < 100; ++i) {
    for (std::size_t k = 0; k < payload.size(); ++k) {
      payload[k] = static_cast<std::uint8_t>(i * 31 + k);
      hash = (hash ^ payload[k]) * 1099511628211ull;
    }
    bl_media_packet p{};
    p.struct_size = sizeof(p);
    p.track_id = 1;
    p.data = payload.data();
    p.size = payload.size();
    ASSERT_EQ(api.write(rec.handle(), handle, &p), BL_OK);
  }
  host::CallResult r = close_with(
      rec, [close = api.close, handle](bl_plugin_instance* i, const bl_request* req) { close(i, handle, req); }, ex,
      R"({"reason":"ended"})");
  if (!expect_ok) return;
  EXPECT_EQ(r.status, BL_OK) << r.message;
  EXPECT_NE(r.result.find("\"bytes\":120000,\"packets\":100,\"fnv1a\":\"" + std::to_string(hash) + "\""),
            std::string::npos)
      << r.result;
  (void)t;
}

TEST_F(MediaHelper, RecordingReceivesEveryByteAndClosesOnce) {
  auto rec = instantiate("cpp-recorder", "{}", BL_KIND_RECORDING);
  record(*this, *rec, io_.get_executor());
  EXPECT_EQ(rec->stray_completions(), 0u);
}

TEST_F(MediaHelper, RecordingCompletedAfterCloseReturnedIsFreedOnce) {
  auto rec = instantiate("cpp-recorder", R"({"complete_later":true})", BL_KIND_RECORDING);
  record(*this, *rec, io_.get_executor());
  record(*this, *rec, io_.get_executor());
  EXPECT_EQ(rec->stray_completions(), 0u);
}

TEST_F(MediaHelper, RecordingOpenRefusalCarriesTheReasonAndAbortFrees) {
  auto rec = instantiate("cpp-recorder", "{}", BL_KIND_RECORDING);
  const auto& api = rec->library().table<bl_recording_api>();
  const std::string id = "rec-2", bad_meta = "{}", meta = R"({"tracks":[]})";
  bl_recording_open_args args{sizeof(args), 0, id.data(), id.size(), bad_meta.data(), bad_meta.size()};
  bl_recording* handle = nullptr;
  bl_message error{};
  error.struct_size = sizeof(error);
  EXPECT_EQ(api.open(rec->handle(), &args, &handle, &error), BL_INVALID_ARGUMENT);
  EXPECT_STREQ(error.text, "no tracks");
  args.metadata = meta.data();
  args.metadata_length = meta.size();
  ASSERT_EQ(api.open(rec->handle(), &args, &handle, &error), BL_OK);
  ASSERT_NE(api.abort, nullptr);
  api.abort(rec->handle(), handle);  // freed synchronously (ASan/valgrind would see a leak or double free)
}

struct Segments {
  std::mutex mutex;
  std::vector<std::string> texts;
  static void on_segment(void* self, const bl_transcript_segment* s) {
    auto* me = static_cast<Segments*>(self);
    std::lock_guard lock(me->mutex);
    me->texts.emplace_back(s->text, s->text_length);
  }
};

TEST_F(MediaHelper, TranscriptionDeliversSegmentsThroughTheSinkAndFlushesAtClose) {
  auto stt = instantiate("cpp-transcriber", R"({"segment_every_frames":10})", BL_KIND_TRANSCRIPTION);
  const auto& api = stt->library().table<bl_transcription_api>();
  Segments segments;
  bl_transcript_sink sink{sizeof(sink), 0, &segments, &Segments::on_segment};
  const std::string id = "s-1", lang = "en-US";
  bl_transcription_open_args args{sizeof(args), 16000, 1, 0, 0, id.data(), id.size(), lang.data(), lang.size()};
  bl_transcription* stream = nullptr;
  bl_message error{};
  error.struct_size = sizeof(error);
  ASSERT_EQ(api.open(stt->handle(), &args, &sink, &stream, &error), BL_OK) << error.text;
  std::vector<std::int16_t> pcm(320, 0);  // 20 ms at 16 kHz
  for (int i = 0; i < 25; ++i) {
    bl_pcm_frame f{};
    f.struct_size = sizeof(f);
    f.track_id = 7;
    f.sample_rate = 16000;
    f.channels = 1;
    f.capture_time_us = i * 20000;
    f.samples = pcm.data();
    f.frames = pcm.size();
    ASSERT_EQ(api.write(stt->handle(), stream, &f), BL_OK);
  }
  host::CallResult r = close_with(
      *stt, [close = api.close, stream](bl_plugin_instance* i, const bl_request* req) { close(i, stream, req); },
      io_.get_executor(), "{}");
  EXPECT_EQ(r.result, R"({"segments":3})");
  EXPECT_EQ(segments.texts, (std::vector<std::string>{"frames 10 samples 3200", "frames 10 samples 3200",
                                                      "frames 5 samples 1600"}));
  bl_transcription_open_args stereo = args;
  stereo.channels = 2;
  EXPECT_EQ(api.open(stt->handle(), &stereo, &sink, &stream, &error), BL_INVALID_ARGUMENT);
  EXPECT_STREQ(error.text, "16 kHz mono only");
}

}  // namespace
}  // namespace branchline::test
