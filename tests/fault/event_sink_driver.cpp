// event_sink_driver: a minimal host for the event-sink-log fault test. It loads the plugin through
// the real host code and delivers batches of 20 events, printing "acked <last sequence>" after each
// batch the plugin acknowledged. The test kills it with SIGKILL mid-stream.
//   event_sink_driver PLUGIN_DIR DATA_DIR FIRST_SEQUENCE run|once
#include "audit/ledger.hpp"
#include "host/plugin_instance.hpp"
#include "host/plugin_library.hpp"
#include "telemetry/metrics.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <future>
#include <string>
#include <thread>

using namespace branchline;

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  std::filesystem::path plugin_dir = argv[1], data_dir = argv[2];
  std::int64_t next = std::stoll(argv[3]);
  bool forever = std::string(argv[4]) == "run";

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread thread([&io] { io.run(); });
  host::HostEnvironment env;
  env.executor = io.get_executor();
  env.data_dir = data_dir;
  env.audit = std::shared_ptr<audit::Ledger>(audit::Ledger::open(data_dir / "audit.db"));
  env.metrics = std::make_shared<telemetry::MetricsRegistry>();
  auto library = host::PluginLibrary::load(plugin_dir / "event-sink-log.so", BL_KIND_EVENT_SINK);
  host::InstanceConfig config;
  config.id = "sink";
  auto sink = host::PluginInstance::create(library, std::move(config), env);

  const std::string padding(200, 'p');
  do {
    std::string events;
    for (int i = 0; i < 20; ++i, ++next) {
      if (!events.empty()) events += ",";
      events += R"({"sequence":)" + std::to_string(next) + R"(,"id":"e-)" + std::to_string(next) +
                R"(","type":"test.event","time":"2026-11-24T10:00:00Z","data":{"padding":")" + padding + "\"}}";
    }
    std::promise<host::CallResult> answer;
    sink->call(&bl_event_sink_api::deliver, R"({"events":[)" + events + "]}", "{}", std::chrono::seconds(10),
               io.get_executor(), [&answer](host::CallResult r) { answer.set_value(std::move(r)); });
    host::CallResult r = answer.get_future().get();
    if (r.status != BL_OK) {
      std::fprintf(stderr, "deliver failed: %d %s\n", r.status, r.message.c_str());
      return 1;
    }
    std::printf("acked %lld\n", static_cast<long long>(next - 1));
    std::fflush(stdout);
  } while (forever);

  sink.reset();
  work.reset();
  io.stop();
  thread.join();
  return 0;
}
