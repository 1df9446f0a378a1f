// branchline/plugin.hpp: the header-only C++ helper for writing Branchline plugins.
//
// Write one class per plugin, derived from the kind's base class (CrmPlugin, IdentityPlugin, ...),
// and one macro:
//
//   class MyCrm : public branchline::sdk::CrmPlugin {
//    public:
//     explicit MyCrm(const branchline::sdk::CreateContext& ctx) : CrmPlugin(ctx) { /* read settings */ }
//     void lookup_customer(branchline::sdk::Call call) override { call.ok(R"({"customer_id":"1","fields":{}})"); }
//     void add_note(branchline::sdk::Call call) override { ... }
//   };
//   BRANCHLINE_PLUGIN(MyCrm)
//
// The id, vendor, version and settings schema come from branchline_plugin_info.h, which
// branchline_add_plugin() generates from the same values it writes into the manifest.
//
// Guarantees of this helper:
//  - No exception crosses the C boundary: one thrown by the constructor becomes
//    BL_UNCAUGHT_EXCEPTION from create() with e.what() as the reason; one thrown by an operation
//    completes that call with BL_UNCAUGHT_EXCEPTION (or the status of a branchline::sdk::Error).
//  - A Call completes exactly once: the first ok()/fail() wins, later ones are ignored, and a Call
//    dropped without either (every copy destroyed) completes with BL_INTERNAL, so the host's caller
//    is never left waiting for the deadline because of a forgotten path.
//  - Call is copyable and thread-safe to complete from any thread (e.g. a worker pool).
#pragma once

#include <branchline/branchline.h>

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace branchline::sdk {

// Throw from an operation to fail its call with a status other than BL_UNCAUGHT_EXCEPTION.
class Error : public std::runtime_error {
 public:
  // `error_document`: {"error": "<code>"} when the operation defines a code saying more than the
  // status (see complete() in abi.h), else empty.
  Error(bl_status status, const std::string& message, const std::string& error_document = {})
      : std::runtime_error(message),
        status_(status),
        error_document_(error_document.empty() ? nullptr : std::make_shared<const std::string>(error_document)) {}
  bl_status status() const noexcept { return status_; }
  std::string_view error_document() const noexcept {
    return error_document_ ? std::string_view(*error_document_) : std::string_view();
  }

 private:
  bl_status status_;
  std::shared_ptr<const std::string> error_document_;  // shared: copying an exception must not throw
};

// The host services lent to this instance (a thin wrapper over bl_host_api).
class Host {
 public:
  Host(const bl_host_api* api, bl_host_ctx* ctx) : api_(api), ctx_(ctx) {}

  void log(bl_log_level level, std::string_view message) const {
    api_->log(ctx_, level, message.data(), message.size());
  }
  // Appends an audit entry (a JSON object); done(user, status) is optional.
  bl_status audit(std::string_view entry, bl_audit_done_fn done = nullptr, void* user = nullptr) const {
    return api_->audit_append(ctx_, entry.data(), entry.size(), done, user);
  }
  void metric(bl_metric_type type, std::string_view name, double value, std::string_view labels = {}) const {
    api_->metric(ctx_, type, name.data(), name.size(), labels.empty() ? nullptr : labels.data(), labels.size(), value);
  }
  bl_status emit(std::string_view type, std::string_view payload) const {
    return api_->emit(ctx_, type.data(), type.size(), payload.data(), payload.size());
  }
  // The secret's value, or an Error(BL_NOT_FOUND).
  std::string secret(std::string_view name) const {
    std::string value;
    bl_status status = api_->secret_get(ctx_, name.data(), name.size(), &Host::receive, &value);
    if (status != BL_OK) throw Error(status, "secret '" + std::string(name) + "' is not available");
    return value;
  }
  // Outbound HTTP through the host (its TLS policy, allow-list, limits). Returns BL_OK and later
  // calls on_done exactly once on a host thread (it must not block); or returns the refusal and
  // never calls it. An exception thrown by on_done is logged and swallowed.
  struct HttpResult {
    bl_status status = BL_OK;  // BL_OK when a response arrived, whatever its HTTP status
    int http_status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string message;  // the transport error when status != BL_OK
  };
  bl_status http(std::string_view method, std::string_view url,
                 const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
                 std::function<void(HttpResult)> on_done, uint32_t timeout_ms = 0) const {
    std::vector<bl_http_header> raw;
    raw.reserve(headers.size());
    for (const auto& h : headers) raw.push_back({h.first.data(), h.first.size(), h.second.data(), h.second.size()});
    bl_http_request request{};
    request.struct_size = sizeof(request);
    request.timeout_ms = timeout_ms;
    request.method = method.data();
    request.method_length = method.size();
    request.url = url.data();
    request.url_length = url.size();
    request.headers = raw.data();
    request.header_count = raw.size();
    request.body = reinterpret_cast<const uint8_t*>(body.data());
    request.body_length = body.size();
    struct Pending {
      Host host;
      std::function<void(HttpResult)> on_done;
    };
    auto* pending = new Pending{*this, std::move(on_done)};
    bl_status status = api_->http_request(
        ctx_, &request,
        [](void* user, const bl_http_response* response) {
          std::unique_ptr<Pending> p(static_cast<Pending*>(user));
          HttpResult result;
          result.status = response->status;
          result.http_status = response->http_status;
          for (size_t i = 0; i < response->header_count; ++i) {
            result.headers.emplace_back(std::string(response->headers[i].name, response->headers[i].name_length),
                                        std::string(response->headers[i].value, response->headers[i].value_length));
          }
          if (response->body_length > 0) result.body.assign(reinterpret_cast<const char*>(response->body), response->body_length);
          if (response->message_length > 0) result.message.assign(response->message, response->message_length);
          try {
            p->on_done(std::move(result));
          } catch (const std::exception& e) {
            p->host.log(BL_LOG_ERROR, std::string("HTTP completion threw: ") + e.what());
          } catch (...) {
            p->host.log(BL_LOG_ERROR, "HTTP completion threw");
          }
        },
        pending);
    if (status != BL_OK) delete pending;
    return status;
  }

  // The instance's durable key-value store. kv_get: the value, or nullopt when the key is absent.
  // All three throw Error for anything else (a key over 1 KiB, a value over 1 MiB, the quota).
  std::optional<std::string> kv_get(std::string_view key) const {
    std::string value;
    bl_status status = api_->kv_get(ctx_, key.data(), key.size(), &Host::receive, &value);
    if (status == BL_NOT_FOUND) return std::nullopt;
    if (status != BL_OK) throw Error(status, "kv_get failed");
    return value;
  }
  void kv_put(std::string_view key, std::string_view value) const {
    bl_status status = api_->kv_put(ctx_, key.data(), key.size(), value.data(), value.size());
    if (status != BL_OK) throw Error(status, "kv_put failed");
  }
  void kv_erase(std::string_view key) const {
    bl_status status = api_->kv_delete(ctx_, key.data(), key.size());
    if (status != BL_OK) throw Error(status, "kv_delete failed");
  }

  void complete(bl_call_id call, bl_status status, std::string_view result, std::string_view message) const {
    api_->complete(ctx_, call, status, result.empty() ? nullptr : result.data(), result.size(),
                   message.empty() ? nullptr : message.data(), message.size());
  }
  const bl_host_api* api() const { return api_; }
  bl_host_ctx* ctx() const { return ctx_; }

 private:
  static void receive(void* user, const char* data, size_t length) {
    static_cast<std::string*>(user)->assign(data, length);
  }
  const bl_host_api* api_;
  bl_host_ctx* ctx_;
};

// One asynchronous call. The request's body and context stay valid until the call completes.
class Call {
 public:
  Call(Host host, const bl_request* request) : state_(std::make_shared<State>(host, request)) {}

  std::string_view body() const { return {state_->request->body, state_->request->body_length}; }
  std::string_view context() const { return {state_->request->context, state_->request->context_length}; }
  uint32_t deadline_ms() const { return state_->request->deadline_ms; }
  bl_call_id id() const { return state_->request->call; }

  // Completes with a JSON result. Returns false when the call had already completed.
  bool ok(std::string_view result_json) const { return state_->finish(BL_OK, result_json, {}); }
  // Completes with an error status and a reason (no secrets, no personal data), and the
  // operation's error document when it defines one for this case (abi.h, complete()).
  bool fail(bl_status status, std::string_view message, std::string_view error_document = {}) const {
    return state_->finish(status, error_document, message);
  }
  bool done() const { return state_->done.load(); }
  // Runs f once, right after the call is completed (the SDK's media helpers free a recording or a
  // stream this way, since its handle is valid until then).
  void on_completed(std::function<void()> f) const { state_->after = std::move(f); }

 private:
  struct State {
    State(Host h, const bl_request* r) : host(h), request(r) {}
    ~State() { finish(BL_INTERNAL, {}, "the plugin dropped the call without completing it"); }
    bool finish(bl_status status, std::string_view result, std::string_view message) {
      if (done.exchange(true)) return false;
      host.complete(request->call, status, result, message);
      if (after) {
        std::function<void()> f = std::move(after);
        f();
      }
      return true;
    }
    Host host;
    const bl_request* request;
    std::atomic<bool> done{false};
    std::function<void()> after;
  };
  std::shared_ptr<State> state_;
};

// What a plugin's constructor receives.
struct CreateContext {
  Host host;
  std::string_view instance_id;
  std::string_view settings;     // JSON, valid against the plugin's schema
  std::string_view environment;  // development | staging | production
  std::string_view data_dir;
};

// The base of every plugin class.
class PluginBase {
 public:
  explicit PluginBase(const CreateContext& ctx) : host_(ctx.host), instance_id_(ctx.instance_id) {}
  virtual ~PluginBase() = default;
  PluginBase(const PluginBase&) = delete;
  PluginBase& operator=(const PluginBase&) = delete;

  // The host gave up on a call; override to stop work early. The call must still complete.
  virtual void cancel_call(bl_call_id) {}
  // {"status": "ok"|"degraded"|"failing", "detail"?: "..."}
  virtual std::string health() { return R"({"status":"ok"})"; }

  const Host& host() const { return host_; }
  const std::string& instance_id() const { return instance_id_; }

 private:
  Host host_;
  std::string instance_id_;
};

namespace detail {

// Runs body; an exception it throws completes `call` with its status (an Error's, else
// BL_UNCAUGHT_EXCEPTION) instead of crossing the C boundary.
template <class Body>
void guarded(const Call& call, Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    call.fail(e.status(), e.what(), e.error_document());
  } catch (const std::exception& e) {
    call.fail(BL_UNCAUGHT_EXCEPTION, e.what());
  } catch (...) {
    call.fail(BL_UNCAUGHT_EXCEPTION, "unknown exception");
  }
}

inline void run_call(const Host& host, const bl_request* request, void (*body)(void*, Call), void* self) {
  Call call(host, request);
  guarded(call, [&] { body(self, call); });
}

// Wraps a member operation `void T::op(Call)` of the plugin class as a C table entry.
#define BL_SDK_OPERATION(Base, op)                                                                   \
  [](bl_plugin_instance* instance, const bl_request* request) {                                     \
    auto* self = static_cast<Base*>(reinterpret_cast<::branchline::sdk::PluginBase*>(instance));   \
    ::branchline::sdk::detail::run_call(                                                             \
        self->host(), request, [](void* p, ::branchline::sdk::Call c) { static_cast<Base*>(p)->op(std::move(c)); }, \
        self);                                                                                       \
  }

}  // namespace detail

inline void unimplemented(const Call& call) { call.fail(BL_UNIMPLEMENTED, "not offered by this plugin"); }

// ==== The kinds' base classes ====================================================================

class IdentityPlugin : public PluginBase {
 public:
  using PluginBase::PluginBase;
  static constexpr bl_plugin_kind kKind = BL_KIND_IDENTITY;
  virtual void validate_token(Call call) = 0;
  virtual void validate_logout(Call call) { unimplemented(call); }
  virtual void authenticate(Call call) { unimplemented(call); }
  static const void* table() {
    static const bl_identity_api api = {sizeof(bl_identity_api), 0,
                                        BL_SDK_OPERATION(IdentityPlugin, validate_token),
                                        BL_SDK_OPERATION(IdentityPlugin, validate_logout),
                                        BL_SDK_OPERATION(IdentityPlugin, authenticate)};
    return &api;
  }
};

class CrmPlugin : public PluginBase {
 public:
  using PluginBase::PluginBase;
  static constexpr bl_plugin_kind kKind = BL_KIND_CRM;
  virtual void lookup_customer(Call call) = 0;
  virtual void search_customers(Call call) { unimplemented(call); }
  virtual void add_note(Call call) = 0;
  virtual void list_notes(Call call) { unimplemented(call); }
  static const void* table() {
    static const bl_crm_api api = {sizeof(bl_crm_api), 0, BL_SDK_OPERATION(CrmPlugin, lookup_customer),
                                   BL_SDK_OPERATION(CrmPlugin, search_customers),
                                   BL_SDK_OPERATION(CrmPlugin, add_note), BL_SDK_OPERATION(CrmPlugin, list_notes)};
    return &api;
  }
};

class CoreBankingPlugin : public PluginBase {
 public:
  using PluginBase::PluginBase;
  static constexpr bl_plugin_kind kKind = BL_KIND_CORE_BANKING;
  virtual void list_accounts(Call call) = 0;
  virtual void submit_operation(Call call) = 0;
  virtual void get_operation(Call call) = 0;
  static const void* table() {
    static const bl_core_banking_api api = {sizeof(bl_core_banking_api), 0,
                                            BL_SDK_OPERATION(CoreBankingPlugin, list_accounts),
                                            BL_SDK_OPERATION(CoreBankingPlugin, submit_operation),
                                            BL_SDK_OPERATION(CoreBankingPlugin, get_operation)};
    return &api;
  }
};

class QueuePlugin : public PluginBase {
 public:
  using PluginBase::PluginBase;
  static constexpr bl_plugin_kind kKind = BL_KIND_QUEUE;
  virtual void enqueue(Call call) = 0;
  virtual void cancel_ticket(Call call) = 0;
  virtual void set_worker_availability(Call call) = 0;
  virtual void accept_offer(Call call) = 0;
  virtual void decline_offer(Call call) = 0;
  virtual void snapshot(Call call) { unimplemented(call); }
  static const void* table() {
    static const bl_queue_api api = {sizeof(bl_queue_api), 0,
                                     BL_SDK_OPERATION(QueuePlugin, enqueue),
                                     BL_SDK_OPERATION(QueuePlugin, cancel_ticket),
                                     BL_SDK_OPERATION(QueuePlugin, set_worker_availability),
                                     BL_SDK_OPERATION(QueuePlugin, accept_offer),
                                     BL_SDK_OPERATION(QueuePlugin, decline_offer),
                                     BL_SDK_OPERATION(QueuePlugin, snapshot)};
    return &api;
  }
};

class EventSinkPlugin : public PluginBase {
 public:
  using PluginBase::PluginBase;
  static constexpr bl_plugin_kind kKind = BL_KIND_EVENT_SINK;
  virtual void deliver(Call call) = 0;
  static const void* table() {
    static const bl_event_sink_api api = {sizeof(bl_event_sink_api), 0, BL_SDK_OPERATION(EventSinkPlugin, deliver)};
    return &api;
  }
};

// ==== Media kinds =================================================================================
// A recording or a transcription stream is an object of the plugin's own class, made by open()
// and owned by the helper: it is freed once its close call has completed (or after abort()).
// write() runs on one media thread per object and must not block; the helper turns an exception
// there into BL_INTERNAL. The object's destructor runs on the thread that completes the close
// call (or the host's thread, when close() completes it inline): complete from the plugin's own
// worker, not from a thread the object owns and joins in its destructor.

namespace detail {
// Frees a media object once both its close() has returned and its close call has completed,
// whichever is last (a plugin may complete inside close() or later from another thread).
template <class T>
struct MediaHolder {
  std::unique_ptr<T> object;
  std::atomic<int> pending{2};
  void release() {
    if (--pending == 0) delete this;
  }
};

template <class T>
void close_media(const Host& host, const bl_request* request, MediaHolder<T>* holder) {
  Call call(host, request);
  call.on_completed([holder] { holder->release(); });
  guarded(call, [&] { holder->object->close(call); });
  holder->release();
}

// The table entries write() and close() of a media kind, for its object type T.
template <class T, class Handle, class Packet>
bl_status write_media(bl_plugin_instance*, Handle* handle, const Packet* packet) {
  try {
    return reinterpret_cast<MediaHolder<T>*>(handle)->object->write(*packet);
  } catch (...) {
    return BL_INTERNAL;
  }
}
template <class T, class Handle>
void close_entry(bl_plugin_instance* instance, Handle* handle, const bl_request* request) {
  close_media(reinterpret_cast<PluginBase*>(instance)->host(), request, reinterpret_cast<MediaHolder<T>*>(handle));
}

inline void set_message(bl_message* error, std::string_view text) {
  if (error == nullptr || error->struct_size < sizeof(bl_message)) return;
  size_t n = text.size() < BL_MESSAGE_CAPACITY - 1 ? text.size() : BL_MESSAGE_CAPACITY - 1;
  for (size_t i = 0; i < n; ++i) error->text[i] = text[i];
  error->text[n] = '\0';
  error->length = n;
}

template <class Open>
bl_status open_media(bl_message* error, Open&& open) {
  try {
    return open();
  } catch (const Error& e) {
    set_message(error, e.what());
    return e.status();
  } catch (const std::exception& e) {
    set_message(error, e.what());
    return BL_UNCAUGHT_EXCEPTION;
  } catch (...) {
    set_message(error, "unknown exception");
    return BL_UNCAUGHT_EXCEPTION;
  }
}
}  // namespace detail

// One recording. close() completes with {"uri","bytes","sha256","duration_ms"}.
class Recording {
 public:
  virtual ~Recording() = default;
  virtual bl_status write(const bl_media_packet& packet) = 0;
  virtual void close(Call call) = 0;
  virtual void abort() {}
};

class RecordingPlugin : public PluginBase {
 public:
  using PluginBase::PluginBase;
  static constexpr bl_plugin_kind kKind = BL_KIND_RECORDING;
  // metadata: {"consultation_id","region","retention_class","tracks":[...]}. Throw Error to refuse.
  virtual std::unique_ptr<Recording> open(std::string_view recording_id, std::string_view metadata) = 0;

  static const void* table() {
    using Holder = detail::MediaHolder<Recording>;
    static const bl_recording_api api = {
        sizeof(bl_recording_api), 0,
        [](bl_plugin_instance* instance, const bl_recording_open_args* args, bl_recording** out, bl_message* error) {
          auto* self = static_cast<RecordingPlugin*>(reinterpret_cast<PluginBase*>(instance));
          return detail::open_media(error, [&] {
            std::unique_ptr<Recording> r = self->open(std::string_view(args->recording_id, args->recording_id_length),
                                                      std::string_view(args->metadata, args->metadata_length));
            if (!r) throw Error(BL_INTERNAL, "open() returned no recording");
            auto* holder = new Holder{std::move(r)};
            *out = reinterpret_cast<bl_recording*>(holder);
            return BL_OK;
          });
        },
        &detail::write_media<Recording, bl_recording, bl_media_packet>,
        &detail::close_entry<Recording, bl_recording>,
        [](bl_plugin_instance*, bl_recording* recording) {
          auto* holder = reinterpret_cast<Holder*>(recording);
          try {
            holder->object->abort();
          } catch (...) {
          }
          delete holder;
        }};
    return &api;
  }
};

// Where a transcription stream delivers its segments (the host's sink, valid until close completes).
class TranscriptSink {
 public:
  explicit TranscriptSink(const bl_transcript_sink& sink) : sink_(sink) {}
  // Any plugin thread, one at a time per stream; must not block.
  void segment(uint32_t track_id, std::string_view text, int64_t start_us, int64_t end_us, float confidence = -1.0f,
               std::string_view language = {}, uint32_t flags = 0) const {
    bl_transcript_segment s{};
    s.struct_size = sizeof(s);
    s.track_id = track_id;
    s.flags = flags;
    s.confidence = confidence;
    s.start_us = start_us;
    s.end_us = end_us;
    s.text = text.data();
    s.text_length = text.size();
    s.language = language.data();
    s.language_length = language.size();
    sink_.on_segment(sink_.host_data, &s);
  }

 private:
  bl_transcript_sink sink_;
};

// One transcription stream. close() delivers the remaining segments, then completes with {"segments"}.
class Transcription {
 public:
  virtual ~Transcription() = default;
  virtual bl_status write(const bl_pcm_frame& frame) = 0;
  virtual void close(Call call) = 0;
};

class TranscriptionPlugin : public PluginBase {
 public:
  using PluginBase::PluginBase;
  static constexpr bl_plugin_kind kKind = BL_KIND_TRANSCRIPTION;
  virtual std::unique_ptr<Transcription> open(const bl_transcription_open_args& args, TranscriptSink sink) = 0;

  static const void* table() {
    using Holder = detail::MediaHolder<Transcription>;
    static const bl_transcription_api api = {
        sizeof(bl_transcription_api), 0,
        [](bl_plugin_instance* instance, const bl_transcription_open_args* args, const bl_transcript_sink* sink,
           bl_transcription** out, bl_message* error) {
          auto* self = static_cast<TranscriptionPlugin*>(reinterpret_cast<PluginBase*>(instance));
          return detail::open_media(error, [&] {
            std::unique_ptr<Transcription> t = self->open(*args, TranscriptSink(*sink));
            if (!t) throw Error(BL_INTERNAL, "open() returned no stream");
            *out = reinterpret_cast<bl_transcription*>(new Holder{std::move(t)});
            return BL_OK;
          });
        },
        &detail::write_media<Transcription, bl_transcription, bl_pcm_frame>,
        &detail::close_entry<Transcription, bl_transcription>};
    return &api;
  }
};

// ==== Entry-point glue ===========================================================================

namespace detail {

template <class T>
struct Glue {
  static bl_status create(const bl_host_api* host, bl_host_ctx* ctx, const bl_create_args* args,
                          bl_plugin_instance** instance, bl_message* error) {
    try {
      CreateContext c{Host(host, ctx),
                      {args->instance_id, args->instance_id_length},
                      {args->settings, args->settings_length},
                      {args->environment, args->environment_length},
                      {args->data_dir, args->data_dir_length}};
      PluginBase* base = new T(c);
      *instance = reinterpret_cast<bl_plugin_instance*>(base);
      return BL_OK;
    } catch (const Error& e) {
      bl_message_set(error, e.what());
      return e.status() == BL_OK ? BL_INTERNAL : e.status();
    } catch (const std::exception& e) {
      bl_message_set(error, e.what());
      return BL_UNCAUGHT_EXCEPTION;
    } catch (...) {
      bl_message_set(error, "unknown exception");
      return BL_UNCAUGHT_EXCEPTION;
    }
  }
  static void destroy(bl_plugin_instance* instance) {
    try {
      delete reinterpret_cast<PluginBase*>(instance);
    } catch (...) {
      // A destructor that throws has nowhere to go; the instance is gone either way.
    }
  }
  static void cancel_call(bl_plugin_instance* instance, bl_call_id call) {
    try {
      reinterpret_cast<PluginBase*>(instance)->cancel_call(call);
    } catch (...) {
    }
  }
  static bl_status health(bl_plugin_instance* instance, bl_receive_fn receive, void* user) {
    try {
      std::string report = reinterpret_cast<PluginBase*>(instance)->health();
      receive(user, report.data(), report.size());
      return BL_OK;
    } catch (...) {
      return BL_UNCAUGHT_EXCEPTION;
    }
  }
};

}  // namespace detail
}  // namespace branchline::sdk

// Defines the plugin's descriptor and its entry point for plugin class `Class`. Needs the
// generated branchline_plugin_info.h (branchline_add_plugin() provides it).
#define BRANCHLINE_PLUGIN(Class)                                                                    \
  BL_PLUGIN_ENTRY(host_major, host_minor) {                                                         \
    static const bl_plugin_descriptor descriptor = {                                                \
        sizeof(bl_plugin_descriptor), BL_ABI_MAJOR, BL_ABI_MINOR, Class::kKind, 0, BL_PLUGIN_ID,    \
        BL_PLUGIN_VENDOR, BL_PLUGIN_VERSION, BL_PLUGIN_SETTINGS_SCHEMA,                             \
        &::branchline::sdk::detail::Glue<Class>::create, &::branchline::sdk::detail::Glue<Class>::destroy, \
        &::branchline::sdk::detail::Glue<Class>::cancel_call, &::branchline::sdk::detail::Glue<Class>::health, \
        Class::table()};                                                                            \
    (void)host_minor;                                                                               \
    return host_major == BL_ABI_MAJOR ? &descriptor : nullptr;                                      \
  }
