// siem_forwarder: see siem_forwarder.hpp. Splunk's HEC protocol as documented: events are JSON
// objects one after another in a POST body; with indexer acknowledgement on, the response carries
// an ackId, and POST /services/collector/ack {"acks":[id...]} answers {"acks":{"id":true|false}}.
#include "audit/siem_forwarder.hpp"

#include "audit/ocsf.hpp"
#include "audit/sqlite_rows.hpp"
#include "common/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <csignal>
#include <sys/socket.h>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <algorithm>
#include <optional>
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
  std::optional<SyslogOptions> syslog;
  std::string origin;
  std::size_t batch_max = 200;
  std::chrono::milliseconds poll{200}, backoff_initial{200}, backoff_max{30000};
  std::pair<std::uint64_t, std::uint64_t> written_before{0, 0};  // syslog: the batch written before the last
  std::pair<std::uint64_t, std::uint64_t> saved{0, 0};           // what the position file says
  SSL_CTX* tls = nullptr;
  SSL* session = nullptr;
  int fd = -1;
  sqlite3* db = nullptr;
  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  ForwarderStatus st;
  std::thread thread;

  ~Impl() {
    disconnect();
    if (tls) SSL_CTX_free(tls);
    sqlite3_close(db);
  }


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

  // What one batch carries, transport-neutral: OCSF events of entries, then checkpoints.
  struct Event {
    std::uint64_t index;  // the ledger index, or the checkpoint's tree size
    bool checkpoint;
    json::object body;
    std::int64_t time_ms;
    std::string time;  // RFC 3339, for syslog's TIMESTAMP
  };
  enum class Outcome { delivered, retry, stopped };
  struct Batch {
    std::vector<Event> events;
    std::uint64_t last_seq = 0, last_checkpoint = 0;
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
      sqlite3_bind_int64(rows.s, 2, static_cast<sqlite3_int64>(batch_max));
      while (sqlite3_step(rows.s) == SQLITE_ROW) {
        std::uint64_t seq = static_cast<std::uint64_t>(sqlite3_column_int64(rows.s, 0));
        json::object event = to_ocsf(text(rows.s, 1), seq, origin);
        std::int64_t time = event.contains("time") && event.at("time").is_int64() ? event.at("time").as_int64() : 0;
        std::string original;
        if (auto* m = event.if_contains("metadata"); m && m->as_object().contains("original_time"))
          original = m->at("original_time").as_string();
        b.events.push_back({seq, false, std::move(event), time, original.empty() ? log::utc_now_rfc3339() : original});
        b.last_seq = seq;
      }
      Statement checkpoints(db, "SELECT size, note FROM checkpoints WHERE size > ?1 AND size <= ?2 ORDER BY size");
      sqlite3_bind_int64(checkpoints.s, 1, static_cast<sqlite3_int64>(st.checkpoint));
      sqlite3_bind_int64(checkpoints.s, 2, static_cast<sqlite3_int64>(b.last_seq));
      auto now = std::chrono::system_clock::now();
      auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
      while (sqlite3_step(checkpoints.s) == SQLITE_ROW) {
        std::uint64_t size = static_cast<std::uint64_t>(sqlite3_column_int64(checkpoints.s, 0));
        json::object event{{"checkpoint", text(checkpoints.s, 1)}, {"tree_size", size}, {"origin", origin}};
        b.events.push_back({size, true, std::move(event), now_ms, log::rfc3339(now)});
        b.last_checkpoint = size;
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

  // Sends the batch and waits for the indexers to acknowledge it.
  Outcome send(const Batch& b, std::chrono::milliseconds& backoff) {
    if (syslog) return send_syslog(b);
    std::string body;
    for (const Event& e : b.events) {
      body += json::serialize(hec_event(e.body, e.time_ms, e.checkpoint ? o.sourcetype + ":checkpoint" : o.sourcetype,
                                        e.checkpoint ? "ledger_checkpoint" : "ledger_index", e.index));
      body += '\n';
    }
    auto response = exchange("/services/collector/event", body);
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

  // ---- RFC 5425: syslog over TLS ----

  // Closes the connection. true only when the receiver answered our close_notify with its own:
  // then it has read everything written before (a dead peer's kernel may have taken writes that
  // never reached it).
  bool disconnect() {
    bool confirmed = false;
    if (session) {
      int r = SSL_shutdown(session);
      if (r == 0) {
        char buffer[512];
        while (SSL_read(session, buffer, sizeof buffer) > 0) {
        }
        r = (SSL_get_shutdown(session) & SSL_RECEIVED_SHUTDOWN) ? 1 : 0;
      }
      confirmed = r == 1;
      SSL_free(session);
      session = nullptr;
      ERR_clear_error();
    }
    if (fd >= 0) ::close(fd);
    fd = -1;
    return confirmed;
  }

  std::string tls_error() {
    unsigned long code = ERR_get_error();
    char buffer[256] = "unknown";
    if (code) ERR_error_string_n(code, buffer, sizeof buffer);
    ERR_clear_error();
    return buffer;
  }

  // Connects with a deadline, then blocking I/O with timeouts; mutual TLS 1.2+.
  std::optional<std::string> connect() {
    const SyslogOptions& so = *syslog;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(so.host.c_str(), std::to_string(so.port).c_str(), &hints, &found) != 0 || !found)
      return "cannot resolve " + so.host;
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, ::freeaddrinfo);
    fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return "socket: " + std::string(std::strerror(errno));
    if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS)
      return "connect to " + so.host + ": " + std::strerror(errno);
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    if (::poll(&p, 1, static_cast<int>(so.io_timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
      return "connect to " + so.host + ":" + std::to_string(so.port) + ": " + (error ? std::strerror(error) : "timed out");
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{static_cast<time_t>(so.io_timeout.count() / 1000), static_cast<suseconds_t>(so.io_timeout.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    session = SSL_new(tls);
    SSL_set_fd(session, fd);
    // The collector's name (or address) must be in its certificate.
    X509_VERIFY_PARAM* param = SSL_get0_param(session);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, so.host.c_str()) != 1) {
      SSL_set1_host(session, so.host.c_str());
      SSL_set_tlsext_host_name(session, so.host.c_str());
    }
    if (SSL_connect(session) != 1) return "TLS handshake with " + so.host + ": " + tls_error();
    return std::nullopt;
  }

  // RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG, framed "LEN SP MSG".
  std::string frame(const Event& e) const {
    const SyslogOptions& so = *syslog;
    // facility 13 (log audit); severity 4 (warning) for a denial or failure, else 6 (informational)
    bool bad = !e.checkpoint && e.body.contains("status_id") && e.body.at("status_id") == 2;
    int pri = 13 * 8 + (bad ? 4 : 6);
    std::string sd = e.checkpoint ? "[checkpoint@32473 size=\"" + std::to_string(e.index) + "\"]"
                                  : "[ledger@32473 index=\"" + std::to_string(e.index) + "\"]";
    std::string message = "<" + std::to_string(pri) + ">1 " + e.time + " " + so.hostname + " " + so.app_name + " - " +
                          (e.checkpoint ? "checkpoint" : "audit") + " " + sd + " " + json::serialize(e.body);
    return std::to_string(message.size()) + " " + message;
  }

  Outcome send_syslog(const Batch& b) {
    if (!session) {
      if (auto why = connect()) {
        failed(*why);
        log::warn("siem", "syslog: " + *why + "; retrying");
        disconnect();
        return Outcome::retry;
      }
    }
    std::string frames;
    for (const Event& e : b.events) frames += frame(e);
    std::size_t written = 0;
    if (SSL_write_ex(session, frames.data(), frames.size(), &written) != 1 || written != frames.size()) {
      std::string why = "syslog: writing to " + syslog->host + " failed: " + tls_error();
      failed(why);
      log::warn("siem", why + "; reconnecting and sending again from the last confirmed position");
      disconnect();
      // What went out on the broken connection since the durable position is unconfirmed (a
      // receiver that refused us after the handshake dropped it): rewind and send it again.
      std::lock_guard lock(mutex);
      st.delivered = saved.first;
      st.checkpoint = saved.second;
      written_before = saved;
      return Outcome::retry;
    }
    std::lock_guard lock(mutex);
    ++st.batches_sent;
    return Outcome::delivered;
  }

  void run() {
    // A write to a connection the peer has closed raises SIGPIPE; on this thread it is blocked,
    // so the write fails with EPIPE instead of ending the process.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::chrono::milliseconds backoff = backoff_initial;
    while (!stopped()) {
      Batch b;
      try {
        b = next_batch();
      } catch (const std::exception& e) {
        failed(e.what());
        if (!pause(backoff_max)) break;
        continue;
      }
      if (b.events.empty()) {
        if (!pause(poll)) break;
        continue;
      }
      Outcome outcome = send(b, backoff);
      if (outcome == Outcome::stopped) break;
      if (outcome == Outcome::retry) {
        if (!pause(backoff)) break;
        backoff = std::min(backoff * 2, backoff_max);
        continue;
      }
      backoff = backoff_initial;
      // HEC: the indexers acknowledged this batch. Syslog: nothing is acknowledged, so the
      // durable position is the batch before (after a crash the last one is sent again).
      std::pair<std::uint64_t, std::uint64_t> durable{b.last_seq, b.last_checkpoint};
      if (syslog) std::swap(durable, written_before);
      saved = durable;
      if (!save_position(durable.first, durable.second)) {
        failed("cannot write " + position_file.string());
        log::error("siem", "cannot write the forwarding position " + position_file.string() +
                               "; entries will be sent again after a restart");
      }
      std::lock_guard lock(mutex);
      st.delivered = b.last_seq;
      st.checkpoint = b.last_checkpoint;
    }
    // Syslog: an orderly close (close_notify) means the collector has all that was written.
    if (syslog && session) {
      bool confirmed = disconnect();
      std::lock_guard lock(mutex);
      if (confirmed && st.delivered > saved.first && !save_position(st.delivered, st.checkpoint))
        log::error("siem", "cannot write the forwarding position " + position_file.string());
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
  impl->origin = impl->o.origin;
  impl->batch_max = std::max<std::size_t>(1, impl->o.batch_max);
  impl->poll = impl->o.poll;
  impl->backoff_initial = impl->o.backoff_initial;
  impl->backoff_max = impl->o.backoff_max;
  if (sqlite3_open_v2(ledger_file.c_str(), &impl->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("the SIEM forwarder cannot read the ledger " + ledger_file.string());
  sqlite3_busy_timeout(impl->db, 5000);
  impl->load_position();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<SiemForwarder>(new SiemForwarder(std::move(impl)));
}

std::unique_ptr<SiemForwarder> SiemForwarder::start_syslog(const fs::path& ledger_file, const fs::path& position_file,
                                                           SyslogOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->ledger = ledger_file;
  impl->position_file = position_file;
  impl->origin = options.origin;
  impl->batch_max = std::max<std::size_t>(1, options.batch_max);
  impl->poll = options.poll;
  impl->backoff_initial = options.backoff_initial;
  impl->backoff_max = options.backoff_max;
  impl->tls = SSL_CTX_new(TLS_client_method());
  if (!impl->tls || SSL_CTX_set_min_proto_version(impl->tls, TLS1_2_VERSION) != 1)
    throw std::runtime_error("syslog: cannot make a TLS context");
  SSL_CTX_set_verify(impl->tls, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(impl->tls, options.ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error("syslog: cannot read the CA file " + options.ca_file);
  if (SSL_CTX_use_certificate_chain_file(impl->tls, options.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(impl->tls, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(impl->tls) != 1)
    throw std::runtime_error("syslog: cannot use the client certificate " + options.cert_file + " and its key");
  impl->syslog = std::move(options);
  if (sqlite3_open_v2(ledger_file.c_str(), &impl->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("the SIEM forwarder cannot read the ledger " + ledger_file.string());
  sqlite3_busy_timeout(impl->db, 5000);
  impl->load_position();
  impl->written_before = impl->saved = {impl->st.delivered, impl->st.checkpoint};
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
