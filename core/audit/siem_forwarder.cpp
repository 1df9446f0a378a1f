// siem_forwarder: see siem_forwarder.hpp. Splunk's HEC protocol as documented: events are JSON
// objects one after another in a POST body; with indexer acknowledgement on, the response carries
// an ackId, and POST /services/collector/ack {"acks":[id...]} answers {"acks":{"id":true|false}}.
#include "audit/siem_forwarder.hpp"

#include "audit/ocsf.hpp"
#include "audit/sqlite_rows.hpp"
#include "common/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <condition_variable>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace sqlite_rows;

// Writes a small file whole: a temporary beside it, fsynced, renamed over it, the directory fsynced.
bool write_atomically(const fs::path& file, const std::string& content) {
  fs::path tmp = file;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) return false;
  int dir = ::open(file.parent_path().empty() ? "." : file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

}  // namespace

struct SiemForwarder::Impl {
  fs::path ledger, position_file;
  HecOptions o;
  std::shared_ptr<net::HttpClient> http;
  sqlite3* db = nullptr;
  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  ForwarderStatus st;
  std::thread thread;

  ~Impl() { sqlite3_close(db); }

  void load_position() {
    std::ifstream in(position_file);
    if (!in) return;
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    json::value v = json::parse(text.str(), ec);
    if (ec || !v.is_object()) {
      log::warn("siem", "the forwarding position " + position_file.string() + " is unreadable; starting from entry 1");
      return;
    }
    if (auto* d = v.as_object().if_contains("delivered"); d && d->is_int64()) st.delivered = static_cast<std::uint64_t>(d->as_int64());
    if (auto* c = v.as_object().if_contains("checkpoint"); c && c->is_int64()) st.checkpoint = static_cast<std::uint64_t>(c->as_int64());
  }

  bool save_position(std::uint64_t delivered, std::uint64_t checkpoint) {
    return write_atomically(position_file,
                            json::serialize(json::object{{"delivered", delivered}, {"checkpoint", checkpoint}}) + "\n");
  }

  // Sleeps, unless stopped; false when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, d, [this] { return stopping; });
  }
  bool stopped() const {
    std::lock_guard lock(mutex);
    return stopping;
  }

  // One HTTP exchange; nullopt when stopping.
  std::optional<net::HttpResponse> exchange(const std::string& path, std::string body) {
    net::HttpRequest request;
    request.method = "POST";
    request.url = o.url + path;
    request.headers = {{"Authorization", "Splunk " + o.token},
                       {"X-Splunk-Request-Channel", o.channel},
                       {"Content-Type", "application/json"}};
    request.body = std::move(body);
    auto answer = std::make_shared<std::promise<net::HttpResponse>>();
    auto future = answer->get_future();
    net::HttpClient::Id id = 0;
    std::string reason;
    if (http->start(std::move(request), o.policy, [answer](net::HttpResponse r) { answer->set_value(std::move(r)); }, &id,
                    &reason) != BL_OK) {
      net::HttpResponse refused;
      refused.status = BL_PERMISSION_DENIED;
      refused.message = reason;
      return refused;
    }
    while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      if (stopped()) {
        http->cancel(id);
        future.wait();
        return std::nullopt;
      }
    }
    return future.get();
  }

  struct Batch {
    std::string body;
    std::uint64_t last_seq = 0, last_checkpoint = 0;
    std::size_t events = 0;
  };

  json::object hec_event(json::value event, std::int64_t time_ms, const std::string& sourcetype, const char* field,
                         std::uint64_t value) const {
    json::object e{{"time", static_cast<double>(time_ms) / 1000.0},
                   {"host", o.host},
                   {"source", o.source},
                   {"sourcetype", sourcetype},
                   {"event", std::move(event)},
                   {"fields", json::object{{field, std::to_string(value)}}}};
    if (!o.index.empty()) e["index"] = o.index;
    return e;
  }

  // The next entries after the position, then the checkpoints they complete.
  Batch next_batch() {
    Batch b;
    b.last_seq = st.delivered;
    b.last_checkpoint = st.checkpoint;
    exec(db, ledger, "BEGIN");
    try {
      Statement rows(db, "SELECT seq, canonical FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2");
      sqlite3_bind_int64(rows.s, 1, static_cast<sqlite3_int64>(st.delivered));
      sqlite3_bind_int64(rows.s, 2, static_cast<sqlite3_int64>(o.batch_max));
      while (sqlite3_step(rows.s) == SQLITE_ROW) {
        std::uint64_t seq = static_cast<std::uint64_t>(sqlite3_column_int64(rows.s, 0));
        json::object event = to_ocsf(text(rows.s, 1), seq, o.origin);
        std::int64_t time = event.contains("time") && event.at("time").is_int64() ? event.at("time").as_int64() : 0;
        b.body += json::serialize(hec_event(std::move(event), time, o.sourcetype, "ledger_index", seq));
        b.body += '\n';
        b.last_seq = seq;
        ++b.events;
      }
      Statement checkpoints(db, "SELECT size, note FROM checkpoints WHERE size > ?1 AND size <= ?2 ORDER BY size");
      sqlite3_bind_int64(checkpoints.s, 1, static_cast<sqlite3_int64>(st.checkpoint));
      sqlite3_bind_int64(checkpoints.s, 2, static_cast<sqlite3_int64>(b.last_seq));
      auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      while (sqlite3_step(checkpoints.s) == SQLITE_ROW) {
        std::uint64_t size = static_cast<std::uint64_t>(sqlite3_column_int64(checkpoints.s, 0));
        json::object event{{"checkpoint", text(checkpoints.s, 1)}, {"tree_size", size}, {"origin", o.origin}};
        b.body += json::serialize(hec_event(std::move(event), now_ms, o.sourcetype + ":checkpoint", "ledger_checkpoint", size));
        b.body += '\n';
        b.last_checkpoint = size;
        ++b.events;
      }
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    exec(db, ledger, "COMMIT");
    return b;
  }

  void failed(const std::string& why) {
    std::lock_guard lock(mutex);
    ++st.failures;
    st.last_error = why;
  }

  // Sends the batch and waits for the indexers to acknowledge it. true: delivered.
  enum class Outcome { delivered, retry, stopped };
  Outcome send(const Batch& b, std::chrono::milliseconds& backoff) {
    auto response = exchange("/services/collector/event", b.body);
    if (!response) return Outcome::stopped;
    {
      std::lock_guard lock(mutex);
      ++st.batches_sent;
    }
    if (response->status != BL_OK || response->http_status != 200) {
      std::string why = response->status != BL_OK ? "cannot reach the collector: " + response->message
                                                   : "the collector answered " + std::to_string(response->http_status) +
                                                         ": " + response->body.substr(0, 200);
      bool configuration = response->status == BL_OK && response->http_status >= 400 && response->http_status < 500 &&
                           response->http_status != 429;
      failed(why);
      log::warn("siem", why + (configuration ? " (check audit.siem: token, index, channel)" : "; retrying"));
      if (configuration) backoff = o.backoff_max;
      return Outcome::retry;
    }
    boost::system::error_code ec;
    json::value reply = json::parse(response->body, ec);
    const json::value* ack = !ec && reply.is_object() ? reply.as_object().if_contains("ackId") : nullptr;
    if (!ack || !ack->is_int64()) {
      failed("the collector gave no ackId: indexer acknowledgement must be on for this token");
      log::error("siem", "the collector gave no ackId: turn on indexer acknowledgement for the HEC token");
      backoff = o.backoff_max;
      return Outcome::retry;
    }
    std::int64_t id = ack->as_int64();
    auto deadline = std::chrono::steady_clock::now() + o.ack_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!pause(o.ack_poll)) return Outcome::stopped;
      auto answer = exchange("/services/collector/ack", json::serialize(json::object{{"acks", json::array{id}}}));
      if (!answer) return Outcome::stopped;
      if (answer->status != BL_OK || answer->http_status != 200) continue;  // ask again until the deadline
      json::value acks = json::parse(answer->body, ec);
      if (ec || !acks.is_object()) continue;
      const json::value* map = acks.as_object().if_contains("acks");
      const json::value* done = map && map->is_object() ? map->as_object().if_contains(std::to_string(id)) : nullptr;
      if (done && done->is_bool() && done->as_bool()) return Outcome::delivered;
    }
    failed("no indexer acknowledgement for ackId " + std::to_string(id) + " in time; sending the batch again");
    log::warn("siem", "no indexer acknowledgement in time; sending the batch again (the receiver drops duplicates by ledger_index)");
    {
      std::lock_guard lock(mutex);
      ++st.resends;
    }
    return Outcome::retry;
  }

  void run() {
    std::chrono::milliseconds backoff = o.backoff_initial;
    while (!stopped()) {
      Batch b;
      try {
        b = next_batch();
      } catch (const std::exception& e) {
        failed(e.what());
        if (!pause(o.backoff_max)) return;
        continue;
      }
      if (b.events == 0) {
        if (!pause(o.poll)) return;
        continue;
      }
      Outcome outcome = send(b, backoff);
      if (outcome == Outcome::stopped) return;
      if (outcome == Outcome::retry) {
        if (!pause(backoff)) return;
        backoff = std::min(backoff * 2, o.backoff_max);
        continue;
      }
      backoff = o.backoff_initial;
      if (!save_position(b.last_seq, b.last_checkpoint)) {
        failed("cannot write " + position_file.string());
        log::error("siem", "cannot write the forwarding position " + position_file.string() +
                               "; entries will be sent again after a restart");
      }
      std::lock_guard lock(mutex);
      st.delivered = b.last_seq;
      st.checkpoint = b.last_checkpoint;
    }
  }
};

SiemForwarder::SiemForwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<SiemForwarder> SiemForwarder::start(const fs::path& ledger_file, const fs::path& position_file,
                                                    HecOptions options, std::shared_ptr<net::HttpClient> http) {
  auto impl = std::make_unique<Impl>();
  impl->ledger = ledger_file;
  impl->position_file = position_file;
  impl->o = std::move(options);
  impl->http = std::move(http);
  if (impl->o.batch_max == 0) impl->o.batch_max = 1;
  if (sqlite3_open_v2(ledger_file.c_str(), &impl->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("the SIEM forwarder cannot read the ledger " + ledger_file.string());
  sqlite3_busy_timeout(impl->db, 5000);
  impl->load_position();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<SiemForwarder>(new SiemForwarder(std::move(impl)));
}

SiemForwarder::~SiemForwarder() { stop(); }

void SiemForwarder::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

ForwarderStatus SiemForwarder::status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->st;
}

}  // namespace branchline::audit
