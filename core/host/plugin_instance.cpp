// plugin_instance: see plugin_instance.hpp. The host services table (bl_host_api) lives here: each
// service first recovers the instance's State from its bl_host_ctx and treats every argument as
// untrusted (NULL pointers, absurd lengths, invalid JSON).
#include "host/plugin_instance.hpp"

#include "audit/audit_sink.hpp"
#include "common/json_schema.hpp"
#include "common/log.hpp"
#include "host/kv_store.hpp"
#include "host/load_error.hpp"
#include "telemetry/metrics.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/crypto.h>

#include <cstddef>
#include <cstring>
#include <optional>
#include <thread>

// The opaque handle plugins see. The magic number catches a plugin passing a stray pointer.
struct bl_host_ctx {
  static constexpr std::uint64_t kMagic = 0x626c2d6374782d31ull;  // "bl-ctx-1"
  std::uint64_t magic = kMagic;
};

namespace branchline::host {
namespace json = boost::json;

namespace {
constexpr std::size_t kMaxServicePayload = 1 << 20;   // 1 MiB: a plugin's JSON to the host
constexpr std::size_t kMaxLogMessage = 16 * 1024;
}  // namespace

struct PluginInstance::State : bl_host_ctx {
  struct Timer {
    explicit Timer(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    boost::asio::steady_timer timer;
    bl_timer_fn fire = nullptr;
    void* user = nullptr;
    std::chrono::milliseconds period{0};
    std::mutex running;          // held while fire runs
    std::atomic<std::thread::id> firing_thread{};  // read by timer_stop on other threads
    std::atomic<bool> stopped{false};
  };

  std::shared_ptr<const PluginLibrary> library;
  InstanceConfig config;
  HostEnvironment env;
  bl_host_api api{};
  bl_plugin_instance* handle = nullptr;
  std::unique_ptr<CallTable> calls;
  std::string settings_text;

  // Outbound HTTP requests not yet answered: id -> the plugin's done. Whoever takes an entry out
  // (the response, or shutdown answering BL_CANCELLED) calls done, so it runs exactly once.
  struct HttpPending {
    std::mutex mutex;
    bool closed = false;  // shutdown answered everything; later requests are refused
    std::map<net::HttpClient::Id, std::pair<bl_http_done_fn, void*>> calls;
    std::optional<std::pair<bl_http_done_fn, void*>> take(const std::shared_ptr<net::HttpClient::Id>& id) {
      std::lock_guard lock(mutex);
      auto it = calls.find(*id);
      if (it == calls.end()) return std::nullopt;
      auto entry = it->second;
      calls.erase(it);
      return entry;
    }
  };
  std::shared_ptr<HttpPending> http_pending = std::make_shared<HttpPending>();

  // The key-value store, opened on first use.
  std::mutex kv_mutex;
  std::unique_ptr<KvStore> kv;
  std::filesystem::path kv_file;
  KvStore* kv_store() {
    std::lock_guard lock(kv_mutex);
    if (!kv) {
      try {
        kv = KvStore::open(kv_file, config.kv_quota_bytes);
      } catch (const std::exception& e) {
        log::error("host", std::string("plugin instance '") + config.id + "': " + e.what());
        return nullptr;
      }
    }
    return kv.get();
  }

  // Answers every outstanding HTTP request of this instance with BL_CANCELLED (shutdown).
  void cancel_all_http() {
    std::map<net::HttpClient::Id, std::pair<bl_http_done_fn, void*>> all;
    {
      std::lock_guard lock(http_pending->mutex);
      http_pending->closed = true;
      all.swap(http_pending->calls);
    }
    for (auto& item : all) {  // not a structured binding: clang 14 cannot capture one in a lambda
      auto& entry = item.second;
      if (env.http) env.http->cancel(item.first);
      bl_http_response response{};
      response.struct_size = sizeof(response);
      response.status = BL_CANCELLED;
      static constexpr std::string_view text = "the plugin instance is shutting down";
      response.message = text.data();
      response.message_length = text.size();
      calls->gate()->run([&] { entry.first(entry.second, &response); });
    }
  }

  std::mutex timers_mutex;
  std::map<bl_timer_id, std::shared_ptr<Timer>> timers;
  std::atomic<bl_timer_id> next_timer{1};

  static State* from(bl_host_ctx* ctx) {
    if (ctx == nullptr || ctx->magic != kMagic) return nullptr;
    return static_cast<State*>(ctx);
  }

  void arm(const std::shared_ptr<Timer>& t, std::chrono::milliseconds delay) {
    t->timer.expires_after(delay);
    t->timer.async_wait([this, weak = std::weak_ptr<Timer>(t)](const boost::system::error_code& ec) {
      auto timer = weak.lock();
      if (ec || !timer || timer->stopped) return;
      {
        std::lock_guard running(timer->running);
        if (timer->stopped) return;
        timer->firing_thread = std::this_thread::get_id();
        timer->fire(timer->user);
        timer->firing_thread = std::thread::id();
      }
      if (timer->period.count() > 0 && !timer->stopped) {
        std::lock_guard lock(timers_mutex);
        if (!timer->stopped) arm(timer, timer->period);
      }
    });
  }

  void stop_all_timers() {
    std::map<bl_timer_id, std::shared_ptr<Timer>> all;
    {
      std::lock_guard lock(timers_mutex);
      all.swap(timers);
    }
    for (auto& [id, t] : all) {
      t->stopped = true;
      t->timer.cancel();
      std::lock_guard wait_for_fire(t->running);
    }
  }
};

namespace {

using State = PluginInstance::State;

std::string_view view(const char* data, std::size_t length) {
  if (data == nullptr) return {};
  return std::string_view(data, length);
}

void service_complete(bl_host_ctx* ctx, bl_call_id call, bl_status status, const char* result,
                      std::size_t result_length, const char* message, std::size_t message_length) {
  State* s = State::from(ctx);
  if (s == nullptr) return;
  std::string_view result_text = view(result, std::min(result_length, kMaxServicePayload));
  if (status == BL_OK && result_length > kMaxServicePayload) {
    status = BL_INTERNAL;
    message = "the plugin's result exceeds 1 MiB";
    message_length = std::strlen(message);
  }
  s->calls->complete(call, status, result_text, view(message, std::min<std::size_t>(message_length, 1024)));
}

void service_log(bl_host_ctx* ctx, bl_log_level level, const char* message, std::size_t message_length) {
  State* s = State::from(ctx);
  if (s == nullptr) return;
  log::write(static_cast<log::Level>(std::clamp(level, BL_LOG_TRACE, BL_LOG_ERROR)), "plugin." + s->config.id,
             view(message, std::min(message_length, kMaxLogMessage)));
}

bl_status service_audit_append(bl_host_ctx* ctx, const char* entry, std::size_t entry_length, bl_audit_done_fn done,
                               void* user) {
  State* s = State::from(ctx);
  if (s == nullptr || entry == nullptr || entry_length > kMaxServicePayload) return BL_INVALID_ARGUMENT;
  json::error_code ec;
  json::value doc = json::parse(view(entry, entry_length), ec);
  if (ec || !doc.is_object()) return BL_INVALID_ARGUMENT;
  json::object record = std::move(doc.get_object());
  // The host, not the plugin, says who is speaking, and where.
  record["source"] = json::object{{"plugin", s->library->manifest().id}, {"instance", s->config.id}};
  if (!s->env.node.empty()) record["node"] = s->env.node;
  if (!s->env.region.empty()) record["region"] = s->env.region;
  auto executor = s->env.executor;
  // `done` reaches the plugin through the instance's gate: never after destroy().
  s->env.audit->append(std::move(record), [executor, gate = s->calls->gate(), done, user](bl_status status) {
    if (done == nullptr) return;
    boost::asio::post(executor, [gate, done, user, status] { gate->run([&] { done(user, status); }); });
  });
  return BL_OK;
}

void service_metric(bl_host_ctx* ctx, bl_metric_type type, const char* name, std::size_t name_length,
                    const char* labels, std::size_t labels_length, double value) {
  State* s = State::from(ctx);
  if (s == nullptr || name == nullptr || name_length > 200) return;
  telemetry::MetricType t;
  switch (type) {
    case BL_METRIC_COUNTER: t = telemetry::MetricType::Counter; break;
    case BL_METRIC_GAUGE: t = telemetry::MetricType::Gauge; break;
    case BL_METRIC_HISTOGRAM: t = telemetry::MetricType::Histogram; break;
    default: return;
  }
  std::string label_text = "{}";
  if (labels != nullptr && labels_length > 0 && labels_length <= 4096) {
    json::error_code ec;
    json::value parsed = json::parse(view(labels, labels_length), ec);
    if (ec || !parsed.is_object()) return;
    for (const auto& kv : parsed.get_object()) {
      if (!kv.value().is_string()) return;
    }
    label_text = json::serialize(parsed);
  }
  std::string full_name = "plugin_" + std::string(view(name, name_length));
  s->env.metrics->record(t, full_name, label_text, value);
}

bl_status service_timer_start(bl_host_ctx* ctx, std::uint64_t delay_ms, std::uint64_t period_ms, bl_timer_fn fire,
                              void* user, bl_timer_id* timer) {
  State* s = State::from(ctx);
  if (s == nullptr || fire == nullptr || timer == nullptr) return BL_INVALID_ARGUMENT;
  constexpr std::uint64_t kMaxDelay = 366ull * 24 * 3600 * 1000;  // a year
  if (delay_ms > kMaxDelay || period_ms > kMaxDelay) return BL_INVALID_ARGUMENT;
  auto t = std::make_shared<State::Timer>(s->env.executor);
  t->fire = fire;
  t->user = user;
  t->period = std::chrono::milliseconds(period_ms);
  bl_timer_id id = s->next_timer.fetch_add(1);
  std::lock_guard lock(s->timers_mutex);
  s->timers.emplace(id, t);
  s->arm(t, std::chrono::milliseconds(delay_ms));
  *timer = id;
  return BL_OK;
}

void service_timer_stop(bl_host_ctx* ctx, bl_timer_id id) {
  State* s = State::from(ctx);
  if (s == nullptr) return;
  std::shared_ptr<State::Timer> t;
  {
    std::lock_guard lock(s->timers_mutex);
    auto it = s->timers.find(id);
    if (it == s->timers.end()) return;
    t = it->second;
    s->timers.erase(it);
    t->stopped = true;
    t->timer.cancel();
  }
  // Wait for a running fire to return, unless we are inside it.
  if (t->firing_thread != std::this_thread::get_id()) {
    std::lock_guard wait_for_fire(t->running);
  }
}

bl_status service_config_get(bl_host_ctx* ctx, const char* pointer, std::size_t pointer_length,
                             bl_receive_fn receive, void* user) {
  State* s = State::from(ctx);
  if (s == nullptr || receive == nullptr || pointer_length > 1024) return BL_INVALID_ARGUMENT;
  std::string_view p = view(pointer, pointer_length);
  if (p.empty()) {
    receive(user, s->settings_text.data(), s->settings_text.size());
    return BL_OK;
  }
  json::error_code ec;
  const json::value* found = s->config.settings.find_pointer(p, ec);
  if (found == nullptr) return ec == json::error::syntax ? BL_INVALID_ARGUMENT : BL_NOT_FOUND;
  std::string text = json::serialize(*found);
  receive(user, text.data(), text.size());
  return BL_OK;
}

bl_status service_secret_get(bl_host_ctx* ctx, const char* name, std::size_t name_length, bl_receive_fn receive,
                             void* user) {
  State* s = State::from(ctx);
  if (s == nullptr || receive == nullptr || name == nullptr || name_length > 256) return BL_INVALID_ARGUMENT;
  auto it = s->config.secrets.find(std::string(name, name_length));
  if (it == s->config.secrets.end()) return BL_NOT_FOUND;
  std::string copy = it->second;
  receive(user, copy.data(), copy.size());
  OPENSSL_cleanse(copy.data(), copy.size());
  return BL_OK;
}

bl_status service_http_request(bl_host_ctx* ctx, const bl_http_request* request, bl_http_done_fn done, void* user) {
  State* s = State::from(ctx);
  constexpr std::size_t kV1Size = offsetof(bl_http_request, body_length) + sizeof(std::size_t);
  if (s == nullptr || request == nullptr || done == nullptr || request->struct_size < kV1Size) return BL_INVALID_ARGUMENT;
  if (!s->env.http) return BL_UNAVAILABLE;
  bl_http_request r{};
  std::memcpy(&r, request, std::min<std::size_t>(request->struct_size, sizeof(r)));
  if (r.header_count > 100 || (r.header_count > 0 && r.headers == nullptr) || (r.body_length > 0 && r.body == nullptr) ||
      r.method_length > 64 || r.url_length > 8192) {
    return BL_INVALID_ARGUMENT;
  }
  net::HttpRequest copy;
  copy.method = std::string(view(r.method, r.method_length));
  copy.url = std::string(view(r.url, r.url_length));
  for (std::size_t i = 0; i < r.header_count; ++i) {
    copy.headers.emplace_back(std::string(view(r.headers[i].name, r.headers[i].name_length)),
                              std::string(view(r.headers[i].value, r.headers[i].value_length)));
  }
  if (r.body_length > 0) copy.body.assign(reinterpret_cast<const char*>(r.body), r.body_length);
  copy.timeout = std::chrono::milliseconds(r.timeout_ms);

  // The response reaches the plugin on the control-plane executor, through the instance's gate,
  // and only if shutdown has not already answered it. Its id is known only once start() returns:
  // it is written to id_box under the pending lock, which delivery also takes before reading it.
  auto id_box = std::make_shared<net::HttpClient::Id>(0);
  auto on_done = [executor = s->env.executor, gate = s->calls->gate(), pending = s->http_pending,
                  id_box](net::HttpResponse response) {
    boost::asio::post(executor, [gate, pending, id_box, response = std::move(response)] {
      gate->run([&] {
        auto entry = pending->take(id_box);
        if (!entry) return;
        std::vector<bl_http_header> headers;
        headers.reserve(response.headers.size());
        for (const auto& [name, value] : response.headers)
          headers.push_back({name.data(), name.size(), value.data(), value.size()});
        bl_http_response out{};
        out.struct_size = sizeof(out);
        out.status = response.status;
        out.http_status = response.http_status;
        out.headers = headers.data();
        out.header_count = headers.size();
        out.body = reinterpret_cast<const std::uint8_t*>(response.body.data());
        out.body_length = response.body.size();
        out.message = response.message.data();
        out.message_length = response.message.size();
        entry->first(entry->second, &out);
      });
    });
  };
  std::lock_guard lock(s->http_pending->mutex);
  if (s->http_pending->closed) return BL_UNAVAILABLE;  // the instance is shutting down
  if (s->http_pending->calls.size() >= s->config.max_http_in_flight) return BL_RESOURCE_EXHAUSTED;
  net::HttpClient::Id id = 0;
  std::string reason;
  bl_status status = s->env.http->start(std::move(copy), s->config.http, std::move(on_done), &id, &reason);
  if (status != BL_OK) {
    log::write(log::Level::Warn, "plugin." + s->config.id, "outbound HTTP request refused: " + reason);
    return status;
  }
  *id_box = id;
  s->http_pending->calls.emplace(id, std::make_pair(done, user));
  return BL_OK;
}

bl_status service_kv_get(bl_host_ctx* ctx, const char* key, std::size_t key_length, bl_receive_fn receive, void* user) {
  State* s = State::from(ctx);
  if (s == nullptr || key == nullptr || receive == nullptr) return BL_INVALID_ARGUMENT;
  KvStore* kv = s->kv_store();
  if (kv == nullptr) return BL_INTERNAL;
  std::string value;
  bl_status status = kv->get(view(key, key_length), value);
  if (status == BL_OK) receive(user, value.data(), value.size());
  return status;
}
bl_status service_kv_put(bl_host_ctx* ctx, const char* key, std::size_t key_length, const char* value,
                         std::size_t value_length) {
  State* s = State::from(ctx);
  if (s == nullptr || key == nullptr || (value == nullptr && value_length > 0)) return BL_INVALID_ARGUMENT;
  KvStore* kv = s->kv_store();
  if (kv == nullptr) return BL_INTERNAL;
  return kv->put(view(key, key_length), view(value, value_length));
}
bl_status service_kv_delete(bl_host_ctx* ctx, const char* key, std::size_t key_length) {
  State* s = State::from(ctx);
  if (s == nullptr || key == nullptr) return BL_INVALID_ARGUMENT;
  KvStore* kv = s->kv_store();
  if (kv == nullptr) return BL_INTERNAL;
  return kv->erase(view(key, key_length));
}

// The event types each kind may emit (see the kinds' headers).
bool event_allowed(bl_plugin_kind kind, std::string_view type) {
  switch (kind) {
    case BL_KIND_IDENTITY: return type == BL_EVENT_IDENTITY_SESSION_REVOKED;
    case BL_KIND_QUEUE: return type == BL_EVENT_QUEUE_OFFER || type == BL_EVENT_QUEUE_POSITION;
    default: return false;
  }
}

bl_status service_emit(bl_host_ctx* ctx, const char* type, std::size_t type_length, const char* payload,
                       std::size_t payload_length) {
  State* s = State::from(ctx);
  if (s == nullptr || type == nullptr || payload == nullptr || payload_length > kMaxServicePayload) {
    return BL_INVALID_ARGUMENT;
  }
  std::string_view t = view(type, type_length);
  if (!event_allowed(s->library->descriptor().kind, t)) return BL_INVALID_ARGUMENT;
  json::error_code ec;
  json::value doc = json::parse(view(payload, payload_length), ec);
  if (ec || !doc.is_object()) return BL_INVALID_ARGUMENT;
  if (s->env.on_emit) {
    // Copies, not the State: the instance may be gone when this runs.
    boost::asio::post(s->env.executor, [on_emit = s->env.on_emit, id = s->config.id, type_text = std::string(t),
                                        text = json::serialize(doc)] { on_emit(id, type_text, text); });
  }
  return BL_OK;
}

bl_host_api make_host_api() {
  bl_host_api api{};
  api.struct_size = sizeof(bl_host_api);
  api.abi_major = BL_ABI_MAJOR;
  api.abi_minor = BL_ABI_MINOR;
  api.complete = service_complete;
  api.log = service_log;
  api.audit_append = service_audit_append;
  api.metric = service_metric;
  api.timer_start = service_timer_start;
  api.timer_stop = service_timer_stop;
  api.config_get = service_config_get;
  api.secret_get = service_secret_get;
  api.http_request = service_http_request;
  api.kv_get = service_kv_get;
  api.kv_put = service_kv_put;
  api.kv_delete = service_kv_delete;
  api.emit = service_emit;
  return api;
}

}  // namespace

PluginInstance::PluginInstance(std::unique_ptr<State> state) : state_(std::move(state)) {}

std::unique_ptr<PluginInstance> PluginInstance::create(std::shared_ptr<const PluginLibrary> library,
                                                       InstanceConfig config, const HostEnvironment& env) {
  const Manifest& manifest = library->manifest();
  const std::string where = library->path().string();
  const std::string id = config.id;  // a copy: config is moved into the state below

  // The plugin's own schema, then the settings against it: before any of its code runs for this instance.
  JsonSchema schema;
  try {
    schema = JsonSchema::compile(manifest.settings_schema);
  } catch (const std::invalid_argument& e) {
    throw LoadError(LoadFailure::SchemaInvalid, id, where, std::string("the plugin's settings schema is ") + e.what());
  }
  auto violations = schema.validate(config.settings);
  if (!violations.empty()) {
    // The deepest pointer is the most specific reason.
    const SchemaViolation* best = &violations.front();
    for (const auto& v : violations) {
      if (v.pointer.size() > best->pointer.size()) best = &v;
    }
    throw LoadError(LoadFailure::SettingsRejected, id, where,
                    "settings" + best->pointer + ": " + best->message + "; see the plugin's settings schema");
  }

  auto state = std::make_unique<State>();
  state->library = std::move(library);
  state->config = std::move(config);
  state->env = env;
  state->api = make_host_api();
  state->calls = std::make_unique<CallTable>(env.executor, state->config.id);
  state->settings_text = json::serialize(state->config.settings);
  std::filesystem::path data_dir = env.data_dir / "plugins" / state->config.id;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  state->kv_file = data_dir / "kv.sqlite";
  const std::string data_dir_text = data_dir.string();

  bl_create_args args{};
  args.struct_size = sizeof(args);
  args.instance_id = state->config.id.c_str();
  args.instance_id_length = state->config.id.size();
  args.settings = state->settings_text.data();
  args.settings_length = state->settings_text.size();
  args.environment = state->env.environment.c_str();
  args.environment_length = state->env.environment.size();
  args.data_dir = data_dir_text.c_str();
  args.data_dir_length = data_dir_text.size();

  bl_message error{};
  error.struct_size = sizeof(error);
  bl_plugin_instance* handle = nullptr;
  const bl_plugin_descriptor& d = state->library->descriptor();
  bl_status status = d.create(&state->api, state.get(), &args, &handle, &error);
  std::string reason(error.text, std::min<std::size_t>(error.length, BL_MESSAGE_CAPACITY - 1));
  if (status == BL_UNCAUGHT_EXCEPTION) {
    state->stop_all_timers();
    throw LoadError(LoadFailure::InitThrew, id, where, "create() threw: " + reason);
  }
  if (status != BL_OK || handle == nullptr) {
    state->stop_all_timers();
    throw LoadError(LoadFailure::InitFailed, id, where,
                    "create() failed with status " + std::to_string(status) + (reason.empty() ? "" : ": " + reason));
  }
  state->handle = handle;
  return std::unique_ptr<PluginInstance>(new PluginInstance(std::move(state)));
}

PluginInstance::~PluginInstance() {
  if (!state_) return;
  std::size_t left = state_->calls->drain(state_->env.drain_timeout);
  if (left > 0) {
    log::write(log::Level::Warn, "host",
               "plugin instance '" + state_->config.id + "' still has " + std::to_string(left) +
                   " uncompleted calls at shutdown");
  }
  // Outbound requests still open are answered BL_CANCELLED (calls may have waited on them until now).
  state_->cancel_all_http();
  // Callers still waiting get BL_CANCELLED; no cancel hint, audit or HTTP `done` reaches the
  // plugin once close() returns; no timer fires once stop_all_timers() returns.
  state_->calls->close();
  state_->stop_all_timers();
  state_->library->descriptor().destroy(state_->handle);
  state_->handle = nullptr;
}

const std::string& PluginInstance::id() const { return state_->config.id; }
const PluginLibrary& PluginInstance::library() const { return *state_->library; }
bl_plugin_instance* PluginInstance::handle() const { return state_->handle; }
std::size_t PluginInstance::outstanding_calls() const { return state_->calls->outstanding(); }
std::uint64_t PluginInstance::stray_completions() const { return state_->calls->stray_completions(); }

bl_call_id PluginInstance::start_call(void (*fn)(bl_plugin_instance*, const bl_request*), std::string body,
                                      std::string context, std::chrono::milliseconds deadline,
                                      boost::asio::any_io_executor reply_to, CallHandler handler) {
  if (fn == nullptr) {
    boost::asio::post(reply_to, [h = std::move(handler)]() mutable {
      h(CallResult{BL_UNIMPLEMENTED, {}, "the plugin does not offer this operation"});
    });
    return 0;
  }
  State* s = state_.get();
  const auto cancel_fn = s->library->descriptor().cancel_call;
  std::function<void(bl_call_id)> hint;
  if (cancel_fn != nullptr) {
    hint = [cancel_fn, s](bl_call_id id) { cancel_fn(s->handle, id); };
  }
  return s->calls->start(
      std::move(body), std::move(context), deadline, std::move(reply_to), std::move(handler),
      [fn, s](const bl_request* request) { fn(s->handle, request); }, std::move(hint));
}

bl_call_id PluginInstance::call_with(std::function<void(bl_plugin_instance*, const bl_request*)> invoke,
                                     std::string body, std::chrono::milliseconds deadline,
                                     boost::asio::any_io_executor reply_to, CallHandler handler) {
  State* s = state_.get();
  const auto cancel_fn = s->library->descriptor().cancel_call;
  std::function<void(bl_call_id)> hint;
  if (cancel_fn != nullptr) hint = [cancel_fn, s](bl_call_id id) { cancel_fn(s->handle, id); };
  return s->calls->start(
      std::move(body), "{}", deadline, std::move(reply_to), std::move(handler),
      [invoke = std::move(invoke), s](const bl_request* request) { invoke(s->handle, request); }, std::move(hint));
}

void PluginInstance::cancel(bl_call_id id) { state_->calls->cancel(id); }

json::object PluginInstance::health_report() const {
  auto fn = state_->library->descriptor().health;
  if (fn == nullptr) return json::object{{"status", "ok"}};
  std::string report;
  bl_status status = fn(
      state_->handle,
      [](void* user, const char* data, std::size_t length) {
        if (data != nullptr && length <= 4096) static_cast<std::string*>(user)->assign(data, length);
      },
      &report);
  json::error_code ec;
  json::value doc = json::parse(report, ec);
  if (status != BL_OK || ec || !doc.is_object())
    return json::object{{"status", "failing"}, {"detail", "the plugin's health report is invalid"}};
  return std::move(doc.as_object());
}

std::string PluginInstance::health() const { return json::serialize(health_report()); }

}  // namespace branchline::host
