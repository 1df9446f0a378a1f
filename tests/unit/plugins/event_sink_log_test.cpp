// event-sink-log through the host: durable lines, redelivery without duplicates, crash repair.
#include "reference_fixture.hpp"

#include "../../support/scoped_tmpfs.hpp"

#include <fstream>
#include <sstream>

namespace branchline::test {
namespace {

using EventSinkLog = ReferencePlugin;
namespace json = boost::json;

std::string batch(int from, int to) {
  std::string events;
  for (int i = from; i <= to; ++i) {
    if (!events.empty()) events += ",";
    events += R"({"sequence":)" + std::to_string(i) + R"(,"id":"e-)" + std::to_string(i) +
              R"(","type":"consultation.started","time":"2026-11-24T09:00:00Z","data":{"n":)" + std::to_string(i) + "}}";
  }
  return R"({"events":[)" + events + "]}";
}

std::vector<std::int64_t> sequences(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::int64_t> out;
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).at("sequence").as_int64());
  return out;
}

TEST_F(EventSinkLog, WritesEachEventOnceEvenWhenABatchComesAgain) {
  auto sink = start("event-sink-log", BL_KIND_EVENT_SINK);
  ok(*sink, &bl_event_sink_api::deliver, batch(1, 3));
  ok(*sink, &bl_event_sink_api::deliver, batch(2, 5));  // 2 and 3 again
  sink.reset();
  sink = start("event-sink-log", BL_KIND_EVENT_SINK);   // and after a restart
  ok(*sink, &bl_event_sink_api::deliver, batch(4, 6));
  EXPECT_EQ(sequences(data_dir_ / "plugins/ref-1/events.jsonl"), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_F(EventSinkLog, AHalfWrittenLineFromACrashIsCutOff) {
  auto file = data_dir_ / "plugins/ref-1/events.jsonl";
  {
    auto sink = start("event-sink-log", BL_KIND_EVENT_SINK);
    ok(*sink, &bl_event_sink_api::deliver, batch(1, 2));
  }
  std::ofstream(file, std::ios::app) << R"({"sequence":3,"id":"e-3","ty)";  // the crash
  auto sink = start("event-sink-log", BL_KIND_EVENT_SINK);
  ok(*sink, &bl_event_sink_api::deliver, batch(3, 4));  // the unacknowledged batch, again
  EXPECT_EQ(sequences(file), (std::vector<std::int64_t>{1, 2, 3, 4}));
}

TEST_F(EventSinkLog, AFullDiskRefusesTheWholeBatchAndLeavesNoPartOfIt) {
  test::ScopedTmpfs disk(data_dir_ / "small-disk", "1m");
  if (!disk.mounted()) {
    if (disk.permission_denied()) GTEST_SKIP() << "mounting a tmpfs needs CAP_SYS_ADMIN; ./tests/run.sh runs as root";
    FAIL() << "mount tmpfs: " << disk.error();
  }
  auto file = disk.path() / "events.jsonl";
  auto sink = start("event-sink-log", BL_KIND_EVENT_SINK, R"({"path":")" + file.string() + R"("})");
  disk.fill_leaving(96 * 1024);
  int next = 1, acknowledged = 0;
  bl_status refused = BL_OK;
  for (int round = 0; round < 200 && refused == BL_OK; ++round, next += 40) {
    refused = call(*sink, &bl_event_sink_api::deliver, batch(next, next + 39)).status;
    if (refused == BL_OK) acknowledged = next + 39;
  }
  ASSERT_NE(refused, BL_OK) << "the disk never filled up";
  ASSERT_GT(acknowledged, 0);
  // Every acknowledged event once, whole lines, and nothing of the refused batch.
  std::vector<std::int64_t> want;
  for (int i = 1; i <= acknowledged; ++i) want.push_back(i);
  EXPECT_EQ(sequences(file), want);
  // Space again: the refused batch is delivered again and lands whole.
  std::filesystem::remove(disk.path() / "filler");
  ok(*sink, &bl_event_sink_api::deliver, batch(acknowledged + 1, acknowledged + 40));
  for (int i = acknowledged + 1; i <= acknowledged + 40; ++i) want.push_back(i);
  EXPECT_EQ(sequences(file), want);
}

TEST_F(EventSinkLog, MalformedBatchesAreRefused) {
  auto sink = start("event-sink-log", BL_KIND_EVENT_SINK);
  EXPECT_EQ(call(*sink, &bl_event_sink_api::deliver, R"({"events":{}})").status, BL_INVALID_ARGUMENT);
  EXPECT_EQ(call(*sink, &bl_event_sink_api::deliver, R"({"events":[{"id":"x","type":"t"}]})").status,
            BL_INVALID_ARGUMENT);
  EXPECT_EQ(call(*sink, &bl_event_sink_api::deliver, R"([1,2])").status, BL_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace branchline::test
