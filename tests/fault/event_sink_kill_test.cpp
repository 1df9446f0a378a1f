// A real fault: event-sink-log's host process is killed with SIGKILL while batches are being
// written. After a restart and the redelivery of the batch that was in flight, the file holds
// every acknowledged event exactly once, in order, and nothing else is broken.
#include "../unit/app/process.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace branchline::test {
namespace {

namespace fs = std::filesystem;

std::int64_t last_acked(const std::string& out) {
  std::int64_t last = 0;
  std::istringstream in(out);
  for (std::string word; in >> word;)
    if (word == "acked") in >> last;
  return last;
}

TEST(EventSinkLogFault, NothingAcknowledgedIsLostOrDuplicatedAfterSigkill) {
  fs::path dir = fs::temp_directory_path() / ("branchline-fault-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  const std::string driver = FAULT_DRIVER;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::int64_t first = 1;
    {
      std::ifstream in(dir / "data/plugins/sink/events.jsonl");
      std::string line, last_line;
      while (std::getline(in, line))
        if (!line.empty() && line.back() == '}') last_line = line;
      if (!last_line.empty()) first = boost::json::parse(last_line).at("sequence").as_int64() + 1;
    }
    Process writer({driver, REFERENCE_PLUGIN_DIR, (dir / "data").string(), std::to_string(first), "run"},
                   dir / ("run" + std::to_string(round)));
    ASSERT_TRUE(eventually([&] { return last_acked(writer.out()) >= first + 20 * (5 + 3 * round) - 1; }))
        << writer.err();
    writer.signal(SIGKILL);
    ASSERT_EQ(writer.wait(), 128 + SIGKILL);
    std::int64_t acked = last_acked(writer.out());

    // The host restarts and delivers again the batch that was in flight.
    Process again({driver, REFERENCE_PLUGIN_DIR, (dir / "data").string(), std::to_string(acked + 1), "once"},
                  dir / ("again" + std::to_string(round)));
    ASSERT_EQ(again.wait(), 0) << again.err();

    std::ifstream in(dir / "data/plugins/sink/events.jsonl");
    std::int64_t expected = 1;
    for (std::string line; std::getline(in, line); ++expected) {
      boost::system::error_code ec;
      boost::json::value event = boost::json::parse(line, ec);
      ASSERT_FALSE(ec) << "line " << expected << " is not JSON: " << line.substr(0, 80);
      ASSERT_EQ(event.at("sequence").as_int64(), expected);
    }
    EXPECT_EQ(expected - 1, acked + 20) << "every acknowledged event and the redelivered batch, once each";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace branchline::test
