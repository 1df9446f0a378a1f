// ledger_driver: a process that appends to an audit ledger from many threads as fast as it can
// and reports each acknowledgement on standard output, for the fault tests that kill it.
//
// usage: ledger_driver DB PUBLISHED ROUND THREADS
// Each thread t appends {"action":"fault.append","round":R,"writer":t,"n":i} for i = 0, 1, ...
// and, once acknowledged, writes "acked <seq> <R> <t> <i>\n" with one write(2), so that a line
// on the output is a promise the ledger made before it was killed.
#include "audit/ledger.hpp"
#include "common/log.hpp"

#include <boost/json.hpp>

#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

int main(int argc, char** argv) {
  using namespace branchline;
  if (argc != 5) return 2;
  log::configure(log::Format::Json, log::Level::Warn);
  audit::LedgerOptions options;
  options.publish_to = argv[2];
  options.checkpoint_every = 64;
  options.checkpoint_interval = std::chrono::milliseconds(20);
  auto ledger = audit::Ledger::open(argv[1], options);
  const int round = std::stoi(argv[3]);
  const int threads = std::stoi(argv[4]);
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([&, t] {
      for (std::int64_t i = 0;; ++i) {
        std::uint64_t seq = ledger->append_and_wait(
            boost::json::object{{"action", "fault.append"}, {"round", round}, {"writer", t}, {"n", i}});
        std::string line = "acked " + std::to_string(seq) + " " + std::to_string(round) + " " + std::to_string(t) +
                           " " + std::to_string(i) + "\n";
        if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return;
      }
    });
  for (auto& w : writers) w.join();
}
