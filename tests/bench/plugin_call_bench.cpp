// plugin_call_bench: what crossing the plugin ABI costs, against the same work behind a C++
// virtual call in the same binary and the same run (docs/performance.md has the figures).
//
//   NoPayload      a synchronous call carrying nothing (a media write that only counts): the
//                  function-pointer table and the C++ helper's trampoline vs one virtual call.
//   CrmLookup1KiB  a CRM lookup carrying about 1 KiB of JSON each way, through the host's whole
//                  asynchronous call path (call table, deadline timer, completion, answer posted
//                  to the caller's executor and run) vs the same JSON work behind a virtual call.
//   AsyncLatency   one asynchronous call at a time, answered on a strand of a pool thread: the
//                  latency from issuing it to the answer running, vs a virtual call whose answer
//                  is posted to the same strand.
//   Async64        64 calls in flight at once, per call, the same two ways.
#include "workload.hpp"

#include "audit/ledger.hpp"
#include "host/plugin_instance.hpp"
#include "host/plugin_library.hpp"
#include "telemetry/metrics.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/parse.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

namespace {

using namespace branchline;
namespace fs = std::filesystem;

// ---- the in-process baselines ----

struct PacketSink {
  virtual ~PacketSink() = default;
  virtual bl_status write(const bl_media_packet& packet) = 0;
};
struct CountingSink final : PacketSink {
  // noinline: a real indirect call, as the plugin's is (no speculative devirtualisation).
  [[gnu::noinline]] bl_status write(const bl_media_packet& packet) override {
    bytes += packet.size;
    return BL_OK;
  }
  std::size_t bytes = 0;
};

struct CrmService {
  virtual ~CrmService() = default;
  virtual std::string lookup(std::string_view body) = 0;
  virtual void note(std::function<void(std::string)> done) = 0;
};
struct LocalCrm final : CrmService {
  std::string lookup(std::string_view body) override { return bench::crm_lookup(body); }
  void note(std::function<void(std::string)> done) override { done("{}"); }
};

// Opaque to the optimiser, so the baseline is a real virtual call.
template <class T>
T* opaque(T* p) {
  benchmark::DoNotOptimize(p);
  return p;
}

// ---- the host side ----

struct Host {
  Host() {
    data_dir = fs::temp_directory_path() / ("branchline-bench-" + std::to_string(::getpid()));
    fs::create_directories(data_dir);
    env.executor = io.get_executor();
    env.data_dir = data_dir;
    env.audit = std::shared_ptr<audit::Ledger>(audit::Ledger::open(data_dir / "audit.db"));
    env.metrics = std::make_shared<telemetry::MetricsRegistry>();
  }
  ~Host() { fs::remove_all(data_dir); }
  std::unique_ptr<host::PluginInstance> load(const std::string& id, bl_plugin_kind kind) {
    auto library = host::PluginLibrary::load(fs::path(TEST_PLUGIN_DIR) / (id + ".so"), kind);
    host::InstanceConfig config;
    config.id = id;
    return host::PluginInstance::create(library, std::move(config), env);
  }
  boost::asio::io_context io;
  fs::path data_dir;
  host::HostEnvironment env;
};

constexpr auto kDeadline = std::chrono::milliseconds(5000);

void NoPayload_Virtual(benchmark::State& state) {
  CountingSink sink;
  PacketSink* s = opaque<PacketSink>(&sink);
  bl_media_packet packet{};
  packet.struct_size = sizeof(packet);
  for (auto _ : state) benchmark::DoNotOptimize(s->write(packet));
}

void NoPayload_Abi(benchmark::State& state) {
  Host h;
  auto rec = h.load("bench-recorder", BL_KIND_RECORDING);
  const auto& api = rec->library().table<bl_recording_api>();
  const std::string id = "r", meta = "{}";
  bl_recording_open_args args{sizeof(args), 0, id.data(), id.size(), meta.data(), meta.size()};
  bl_recording* handle = nullptr;
  bl_message error{};
  error.struct_size = sizeof(error);
  if (api.open(rec->handle(), &args, &handle, &error) != BL_OK) state.SkipWithError("open failed");
  auto write = opaque(&api)->write;
  bl_plugin_instance* instance = rec->handle();
  bl_media_packet packet{};
  packet.struct_size = sizeof(packet);
  for (auto _ : state) benchmark::DoNotOptimize(write(instance, handle, &packet));
  api.abort(instance, handle);
}

void CrmLookup1KiB_Virtual(benchmark::State& state) {
  LocalCrm crm;
  CrmService* c = opaque<CrmService>(&crm);
  const std::string body = bench::crm_request();
  std::size_t bytes = 0;
  for (auto _ : state) bytes += c->lookup(body).size();
  state.counters["result_bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
  state.counters["request_bytes"] = static_cast<double>(body.size());
}

// The whole host path on one thread: the answer is posted to `io` and run by run_one(), so the
// figure is CPU cost, not a thread hop.
void CrmLookup1KiB_Abi(benchmark::State& state) {
  Host h;
  // Without work of its own, the io_context stops whenever its queue empties (Asio's rule).
  auto guard = boost::asio::make_work_guard(h.io);
  auto crm = h.load("bench-crm", BL_KIND_CRM);
  const std::string body = bench::crm_request();
  std::size_t bytes = 0;
  for (auto _ : state) {
    bool answered = false;
    crm->call(&bl_crm_api::lookup_customer, body, "{}", kDeadline, h.io.get_executor(), [&](host::CallResult r) {
      bytes += r.result.size();
      answered = true;
    });
    while (!answered) h.io.run_one();
  }
  state.counters["result_bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
  h.io.poll();
}

// The host's own cost per call, with nothing behind it: add_note completes at once with "{}".
void EmptyCall_Abi(benchmark::State& state) {
  Host h;
  auto guard = boost::asio::make_work_guard(h.io);
  auto crm = h.load("bench-crm", BL_KIND_CRM);
  for (auto _ : state) {
    bool answered = false;
    crm->call(&bl_crm_api::add_note, "{}", "{}", kDeadline, h.io.get_executor(), [&](host::CallResult) { answered = true; });
    while (!answered) h.io.run_one();
  }
  h.io.poll();
}

// A pool thread runs the caller's strand; the benchmark thread issues calls and waits for the
// answers to run there.
// Like the host's control plane, the pool always has a timer pending (deadlines, sockets), so its
// thread sleeps in the reactor and a post wakes it the way it wakes the host: the same for both
// sides of each comparison.
struct Pool {
  Pool() : work(boost::asio::make_work_guard(io)), pending(io, std::chrono::hours(1)), thread([this] { io.run(); }) {
    pending.async_wait([](const boost::system::error_code&) {});
  }
  ~Pool() {
    work.reset();
    pending.cancel();
    io.stop();
    thread.join();
  }
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  boost::asio::steady_timer pending;
  std::thread thread;
};

void wait_until(const std::atomic<int>& counter, int value) {
  while (counter.load(std::memory_order_acquire) < value) {
  }
}

void AsyncLatency_Virtual(benchmark::State& state) {
  Pool pool;
  auto strand = boost::asio::make_strand(pool.io);
  LocalCrm crm;
  CrmService* c = opaque<CrmService>(&crm);
  std::atomic<int> done{0};
  int issued = 0;
  for (auto _ : state) {
    c->note([&](std::string) { boost::asio::post(strand, [&] { done.fetch_add(1, std::memory_order_release); }); });
    wait_until(done, ++issued);
  }
}

void AsyncLatency_Abi(benchmark::State& state) {
  Pool pool;
  Host h;
  h.env.executor = pool.io.get_executor();  // deadline timers on the pool
  auto crm = h.load("bench-crm", BL_KIND_CRM);
  auto strand = boost::asio::make_strand(pool.io);
  std::atomic<int> done{0};
  int issued = 0;
  for (auto _ : state) {
    crm->call(&bl_crm_api::add_note, "{}", "{}", kDeadline, strand,
              [&](host::CallResult) { done.fetch_add(1, std::memory_order_release); });
    wait_until(done, ++issued);
  }
}

constexpr int kInFlight = 64;

void Async64_Virtual(benchmark::State& state) {
  Pool pool;
  auto strand = boost::asio::make_strand(pool.io);
  LocalCrm crm;
  CrmService* c = opaque<CrmService>(&crm);
  std::atomic<int> done{0};
  int issued = 0;
  for (auto _ : state) {
    for (int i = 0; i < kInFlight; ++i)
      c->note([&](std::string) { boost::asio::post(strand, [&] { done.fetch_add(1, std::memory_order_release); }); });
    issued += kInFlight;
    wait_until(done, issued);
  }
  state.SetItemsProcessed(state.iterations() * kInFlight);
}

void Async64_Abi(benchmark::State& state) {
  Pool pool;
  Host h;
  h.env.executor = pool.io.get_executor();
  auto crm = h.load("bench-crm", BL_KIND_CRM);
  auto strand = boost::asio::make_strand(pool.io);
  std::atomic<int> done{0};
  int issued = 0;
  for (auto _ : state) {
    for (int i = 0; i < kInFlight; ++i)
      crm->call(&bl_crm_api::add_note, "{}", "{}", kDeadline, strand,
                [&](host::CallResult) { done.fetch_add(1, std::memory_order_release); });
    issued += kInFlight;
    wait_until(done, issued);
  }
  state.SetItemsProcessed(state.iterations() * kInFlight);
}

}  // namespace

BENCHMARK(NoPayload_Virtual);
BENCHMARK(NoPayload_Abi);
BENCHMARK(CrmLookup1KiB_Virtual);
BENCHMARK(CrmLookup1KiB_Abi);
BENCHMARK(EmptyCall_Abi);
BENCHMARK(AsyncLatency_Virtual)->UseRealTime();
BENCHMARK(AsyncLatency_Abi)->UseRealTime();
BENCHMARK(Async64_Virtual)->UseRealTime();
BENCHMARK(Async64_Abi)->UseRealTime();
BENCHMARK_MAIN();
