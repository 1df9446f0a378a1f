/*
 * branchline/abi.h: the stable C ABI between the Branchline host (branchlined) and its plugins.
 *
 * Read this comment first; it is the contract.
 *
 * THE LIFE OF A PLUGIN
 *   1. A plugin is a shared library that exports exactly one symbol, branchline_plugin_entry
 *      (see BL_PLUGIN_ENTRY below). Beside the library lies <name>.manifest.json, which the host
 *      reads before it runs any code of the library.
 *   2. The host opens the library with RTLD_NOW | RTLD_LOCAL and calls
 *      branchline_plugin_entry(host_major, host_minor). The plugin returns a pointer to its static
 *      bl_plugin_descriptor, or NULL to refuse the host. The descriptor stays valid while the
 *      library is loaded.
 *   3. For each configured instance the host calls descriptor->create() with the host services
 *      table (bl_host_api), the instance's host context and its settings (JSON, already checked
 *      against the manifest's JSON Schema). The plugin returns its opaque bl_plugin_instance.
 *   4. The host calls the kind's function table (descriptor->kind_api, e.g. bl_crm_api) with that
 *      instance. Control-plane calls are asynchronous (see ASYNCHRONOUS CALLS); media calls are
 *      synchronous and non-blocking.
 *   5. On shutdown the host stops calling, waits (with a deadline) for outstanding calls to
 *      complete, calls descriptor->destroy(instance) and only then unloads the library.
 *
 * VERSIONING
 *   The ABI has a major and a minor version. A host accepts a plugin built against the same major
 *   and the same or an OLDER minor; it refuses any other major and any newer minor (the plugin
 *   might call a host service the host lacks). Within a major, a minor version only ever APPENDS:
 *   members at the end of a struct, enumerators, functions at the end of a table. A released
 *   member never changes its type, meaning, ownership or threading rule.
 *
 *   Every struct that crosses the boundary starts with `uint32_t struct_size`, set by whoever fills
 *   the struct to sizeof() as that side was compiled. The reader treats a member as present only
 *   when it lies wholly inside struct_size (BL_HAS_MEMBER) and, for a function pointer, when it is
 *   not NULL. A host refuses a plugin struct larger than it knows when the extra bytes could carry
 *   meaning it cannot honour (descriptors and tables); a plugin built against 1.0 therefore runs in a
 *   1.3 host, and checks host->struct_size before it uses a host service added after 1.0.
 *
 * OWNERSHIP
 *   Strings cross as (pointer, length) pairs of UTF-8; they are NOT NUL-terminated unless the
 *   comment says so. Whoever allocates memory frees it, with its own allocator. Unless a comment says
 *   otherwise, a pointer passed into a function is BORROWED: valid only until that function returns,
 *   and the callee copies what it wants to keep. The exception is an asynchronous request
 *   (bl_request): it and everything it points to stay valid until the plugin completes the call.
 *
 * THREADING
 *   Every function states its thread. "Any thread" means the caller may be any thread, concurrently
 *   with other calls. Nothing the host calls may block for long (no network I/O, no sleeping): a
 *   plugin that talks to a vendor does it on its own threads or through host->http_request, and
 *   completes the call from there.
 *
 * ASYNCHRONOUS CALLS
 *   Each asynchronous call carries a bl_request with a call id and a deadline. The plugin MUST call
 *   host->complete(ctx, call, ...) exactly once for it, from any thread, possibly before the call
 *   returns. The host enforces the deadline: when it passes, or when the caller gives up, the host
 *   calls the plugin's cancel_call (if any) as a hint, answers its own caller with
 *   BL_DEADLINE_EXCEEDED or BL_CANCELLED, and still expects the plugin's single completion, which
 *   then releases the request's buffers and whose result is dropped. Completing an unknown or an
 *   already completed call id is ignored (and counted), never a crash.
 *
 * ERRORS
 *   Fallible functions return bl_status. Synchronous ones may also write a human-readable reason
 *   into a caller-owned bl_message. No exception, longjmp or C++ type ever crosses this boundary.
 *
 * This header is pure C (C99 and later, and C++). It includes only <stddef.h> and <stdint.h>.
 */
#ifndef BRANCHLINE_ABI_H
#define BRANCHLINE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Version ==================================================================================== */

#define BL_ABI_MAJOR 1
#define BL_ABI_MINOR 0

/* True when the struct at `ptr` (of type `type`) carries `member`: its bytes lie inside
 * ptr->struct_size. Use before reading any member added after 1.0 in a struct the other side filled. */
#define BL_HAS_MEMBER(ptr, type, member) \
  ((ptr) != NULL && (size_t)(ptr)->struct_size >= offsetof(type, member) + sizeof(((type*)0)->member))

/* ==== Export macro ============================================================================== */

#if defined(_WIN32)
#define BL_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define BL_EXPORT __attribute__((visibility("default")))
#else
#define BL_EXPORT
#endif

/* ==== Status codes ============================================================================== */

/* A status. Flows both ways, so it is an int32_t rather than a C enum (whose size a compiler
 * chooses). A host maps any value it does not know to BL_INTERNAL. Values are never reused. */
typedef int32_t bl_status;

#define BL_OK 0                   /* Success. */
#define BL_CANCELLED 1            /* The caller gave up (host) or the plugin honoured a cancel. */
#define BL_DEADLINE_EXCEEDED 2    /* The host's deadline passed before the plugin completed. */
#define BL_INVALID_ARGUMENT 3     /* The request is malformed; retrying it unchanged fails again. */
#define BL_NOT_FOUND 4            /* The customer, account, operation, ... does not exist. */
#define BL_ALREADY_EXISTS 5       /* Conflict, e.g. an idempotency key reused with another body. */
#define BL_PERMISSION_DENIED 6    /* The vendor refused the principal. */
#define BL_UNAUTHENTICATED 7      /* A token or credential is invalid or expired. */
#define BL_RESOURCE_EXHAUSTED 8   /* Back-pressure or quota: try later or drop media. */
#define BL_FAILED_PRECONDITION 9  /* The system is not in a state that allows this call. */
#define BL_UNAVAILABLE 10         /* Transient: the vendor cannot be reached; safe to retry. */
#define BL_UNIMPLEMENTED 11       /* The plugin does not offer this operation. */
#define BL_INTERNAL 12            /* A bug or an unexpected failure inside the plugin or host. */
#define BL_UNCAUGHT_EXCEPTION 13  /* The C++ SDK caught an exception at the boundary. */

/* ==== Plain data ================================================================================ */

/* A caller-owned buffer for a human-readable reason (UTF-8). The callee writes at most
 * BL_MESSAGE_CAPACITY - 1 bytes into text, NUL-terminates it and sets length. Use bl_message_set. */
#define BL_MESSAGE_CAPACITY 512
typedef struct bl_message {
  uint32_t struct_size;             /* sizeof(bl_message), set by the owner. */
  uint32_t length;                  /* bytes written, excluding the NUL; 0 when there is none. */
  char text[BL_MESSAGE_CAPACITY];
} bl_message;

/* Copies a NUL-terminated string into a message, truncating it to fit. Safe with NULL arguments. */
static inline void bl_message_set(bl_message* message, const char* text) {
  size_t n = 0;
  if (message == NULL) return;
  if (text != NULL) {
    while (text[n] != '\0' && n < BL_MESSAGE_CAPACITY - 1) {
      message->text[n] = text[n];
      ++n;
    }
  }
  message->text[n] = '\0';
  message->length = (uint32_t)n;
}

/* Identifies one asynchronous call; never reused by a host during its life. 0 is never valid. */
typedef uint64_t bl_call_id;
/* Identifies one host timer. 0 is never valid. */
typedef uint64_t bl_timer_id;

/* Opaque handles. The host owns bl_host_ctx; the plugin owns bl_plugin_instance. */
typedef struct bl_host_ctx bl_host_ctx;
typedef struct bl_plugin_instance bl_plugin_instance;

/* Receives a byte string the callee lends for the duration of the call only; copy what you keep.
 * Called at most once, on the calling thread, before the function that takes it returns. */
typedef void (*bl_receive_fn)(void* user, const char* data, size_t length);

/* Plugin kinds. A kind's function table is described in branchline/<kind>.h. */
typedef uint32_t bl_plugin_kind;
#define BL_KIND_IDENTITY 1
#define BL_KIND_CRM 2
#define BL_KIND_CORE_BANKING 3
#define BL_KIND_RECORDING 4
#define BL_KIND_TRANSCRIPTION 5
#define BL_KIND_QUEUE 6
#define BL_KIND_EVENT_SINK 7

/* Log levels for host->log. */
typedef int32_t bl_log_level;
#define BL_LOG_TRACE 0
#define BL_LOG_DEBUG 1
#define BL_LOG_INFO 2
#define BL_LOG_WARN 3
#define BL_LOG_ERROR 4

/* Metric types for host->metric. */
typedef uint32_t bl_metric_type;
#define BL_METRIC_COUNTER 1   /* value is added; must be >= 0 */
#define BL_METRIC_GAUGE 2     /* value replaces the current one */
#define BL_METRIC_HISTOGRAM 3 /* value is one observation (seconds for durations) */

/* ==== An asynchronous request ==================================================================== */

/* What the host passes to every asynchronous operation of a kind's table.
 * OWNERSHIP: host. The struct and every buffer it points to stay valid until the plugin has called
 * host->complete(ctx, call, ...) for it, even if the host gave up earlier. */
typedef struct bl_request {
  uint32_t struct_size;
  uint32_t deadline_ms;   /* How long the host waits, from the start of the call. Use it for vendor timeouts. */
  bl_call_id call;        /* Pass to host->complete exactly once. */
  const char* body;       /* UTF-8 JSON object; its schema is given per operation in the kind's header. */
  size_t body_length;
  const char* context;    /* UTF-8 JSON object: {"correlation_id", "consultation_id"?, "actor"?: {"id", "role"}}. */
  size_t context_length;
} bl_request;

/* ==== Outbound HTTP (a host service) ============================================================== */

typedef struct bl_http_header {
  const char* name;       /* borrowed */
  size_t name_length;
  const char* value;      /* borrowed */
  size_t value_length;
} bl_http_header;

typedef struct bl_http_request {
  uint32_t struct_size;
  uint32_t timeout_ms;             /* whole exchange; 0 means the host's default */
  const char* method;              /* "GET", "POST", ... */
  size_t method_length;
  const char* url;                 /* absolute https:// URL; http:// only where config allows it */
  size_t url_length;
  const bl_http_header* headers;   /* array of header_count */
  size_t header_count;
  const uint8_t* body;
  size_t body_length;
} bl_http_request;

typedef struct bl_http_response {
  uint32_t struct_size;
  bl_status status;                /* BL_OK when an HTTP response arrived (any HTTP status code) */
  int32_t http_status;             /* e.g. 200; 0 when status != BL_OK */
  uint32_t reserved;
  const bl_http_header* headers;
  size_t header_count;
  const uint8_t* body;
  size_t body_length;
  const char* message;             /* transport error text when status != BL_OK */
  size_t message_length;
} bl_http_response;

/* Receives the response of host->http_request. Called exactly once on a host thread; the response
 * and its buffers are valid only until it returns. Must not block. */
typedef void (*bl_http_done_fn)(void* user, const bl_http_response* response);

/* Called when an audit entry is durable (status BL_OK) or could not be stored. Host thread; must not block. */
typedef void (*bl_audit_done_fn)(void* user, bl_status status);

/* Called when a timer fires. Host thread; must not block. */
typedef void (*bl_timer_fn)(void* user);

/* ==== Host services ============================================================================== */

/* The services the host lends a plugin instance. The table and ctx stay valid from create() until
 * destroy() returns. Every function is callable from any thread unless its comment says otherwise.
 * A plugin built against an older minor ignores members past its own sizeof; a plugin checks
 * BL_HAS_MEMBER(host, bl_host_api, fn) before it uses a member added after the minor it needs. */
typedef struct bl_host_api {
  uint32_t struct_size;
  uint16_t abi_major;   /* the host's ABI version */
  uint16_t abi_minor;

  /* Completes asynchronous call `call` exactly once. result is a UTF-8 JSON document (the
   * operation's result schema); when status != BL_OK it is NULL, or an error document
   * {"error": "<code>"} (at most 4 KiB; the code lower-case letters, digits and '_', at most 64)
   * where the operation defines codes that say more than the status; with BL_RESOURCE_EXHAUSTED
   * or BL_UNAVAILABLE it may add "retry_after_s" (an integer, 1 to 86400): the soonest a retry
   * may pass, which the host passes on (HTTP Retry-After) where it answers for the plugin (a host that does not know
   * the code, or a document it cannot read, answers as for the status alone; a larger document is
   * dropped, with a warning in the host's log, and the status kept). message is a reason for logs
   * and operators (never secrets or personal data). Both are borrowed: the host copies them.
   * After this returns, the request of this call must not be touched. Any thread. */
  void (*complete)(bl_host_ctx* ctx, bl_call_id call, bl_status status, const char* result,
                   size_t result_length, const char* message, size_t message_length);

  /* Writes one log line attributed to this plugin instance. message is borrowed; any bytes are
   * accepted (the host escapes them). Any thread; cheap and non-blocking. */
  void (*log)(bl_host_ctx* ctx, bl_log_level level, const char* message, size_t message_length);

  /* Appends one entry to the host's tamper-evident audit ledger. entry is a UTF-8 JSON object
   * ({"action", "resource", "outcome", "fields"?, ...}, see docs/audit.md); the host adds the
   * time, the node and this plugin as the source. Returns BL_INVALID_ARGUMENT, without calling
   * done, when the entry is not such an object; otherwise BL_OK and later done(user, status) once,
   * on a host thread, when the entry is durable or failed. done may be NULL. Any thread. */
  bl_status (*audit_append)(bl_host_ctx* ctx, const char* entry, size_t entry_length,
                            bl_audit_done_fn done, void* user);

  /* Records a metric sample. name is [a-z0-9_]+ (prefixed by the host with the plugin id);
   * labels is a flat JSON object of string values, or NULL. Any thread; non-blocking. */
  void (*metric)(bl_host_ctx* ctx, bl_metric_type type, const char* name, size_t name_length,
                 const char* labels, size_t labels_length, double value);

  /* Starts a timer that calls fire(user) after delay_ms and then, when period_ms > 0, every
   * period_ms. Returns BL_OK and the id in *timer. Any thread. */
  bl_status (*timer_start)(bl_host_ctx* ctx, uint64_t delay_ms, uint64_t period_ms, bl_timer_fn fire,
                           void* user, bl_timer_id* timer);
  /* Stops a timer. When it returns, fire is not running and will not run again, unless it is
   * called from within that timer's own fire, where it returns at once. Unknown ids are ignored. */
  void (*timer_stop)(bl_host_ctx* ctx, bl_timer_id timer);

  /* Reads this instance's settings (the same JSON given to create) at a JSON Pointer ("" for the
   * whole document) and passes it to receive as JSON. BL_NOT_FOUND if absent. Any thread. */
  bl_status (*config_get)(bl_host_ctx* ctx, const char* pointer, size_t pointer_length,
                          bl_receive_fn receive, void* user);

  /* Reads a secret granted to this instance in its config (`secrets:`), by name. The value is
   * lent to receive and wiped afterwards; never log it. BL_NOT_FOUND or BL_PERMISSION_DENIED
   * otherwise. Any thread. */
  bl_status (*secret_get)(bl_host_ctx* ctx, const char* name, size_t name_length,
                          bl_receive_fn receive, void* user);

  /* Sends an HTTP request through the host's client (TLS policy, proxies, timeouts, metrics).
   * Returns BL_OK and later calls done exactly once; or returns an error and never calls done:
   * BL_PERMISSION_DENIED (scheme or host outside the instance's http policy), BL_INVALID_ARGUMENT
   * (malformed method, URL, header), BL_RESOURCE_EXHAUSTED (too many in flight), BL_UNAVAILABLE.
   * Redirects are not followed. At shutdown, requests still open are answered BL_CANCELLED before
   * destroy(). The request and its buffers are borrowed: the host copies them before returning.
   * Any thread. */
  bl_status (*http_request)(bl_host_ctx* ctx, const bl_http_request* request, bl_http_done_fn done,
                            void* user);

  /* A durable key-value store private to this plugin instance (keys 1 byte to 1 KiB, values <= 1 MiB,
   * all of them within the instance's quota, else BL_RESOURCE_EXHAUSTED). Synchronous and local: a
   * put or delete returns once it is on disk; any thread. kv_get passes the value to receive or
   * returns BL_NOT_FOUND. */
  bl_status (*kv_get)(bl_host_ctx* ctx, const char* key, size_t key_length, bl_receive_fn receive,
                      void* user);
  bl_status (*kv_put)(bl_host_ctx* ctx, const char* key, size_t key_length, const char* value,
                      size_t value_length);
  bl_status (*kv_delete)(bl_host_ctx* ctx, const char* key, size_t key_length);

  /* Tells the host of something the plugin learned on its own: an event type of its kind (e.g.
   * "identity.session_revoked", "queue.offer", see the kind's header) with a JSON payload. Both
   * borrowed. Returns BL_INVALID_ARGUMENT for a type the kind does not define. Any thread. */
  bl_status (*emit)(bl_host_ctx* ctx, const char* type, size_t type_length, const char* payload,
                    size_t payload_length);
} bl_host_api;

/* ==== The descriptor ============================================================================= */

/* What the host passes to create(). OWNERSHIP: host, borrowed for the duration of create(). */
typedef struct bl_create_args {
  uint32_t struct_size;
  uint32_t reserved;
  const char* instance_id;      /* the `id` of this instance in the config; NUL-terminated */
  size_t instance_id_length;
  const char* settings;         /* UTF-8 JSON object, valid against the manifest's settings schema */
  size_t settings_length;
  const char* environment;      /* "development", "staging" or "production"; NUL-terminated */
  size_t environment_length;
  const char* data_dir;         /* a directory this instance may write; NUL-terminated */
  size_t data_dir_length;
} bl_create_args;

/* The plugin's description of itself. OWNERSHIP: plugin; static, valid while the library is loaded. */
typedef struct bl_plugin_descriptor {
  uint32_t struct_size;
  uint16_t abi_major;           /* BL_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;           /* BL_ABI_MINOR the plugin was built against */
  bl_plugin_kind kind;          /* BL_KIND_*; must equal the manifest's kind */
  uint32_t reserved;
  const char* id;               /* e.g. "crm-sqlite"; NUL-terminated; must equal the manifest's id */
  const char* vendor;           /* NUL-terminated */
  const char* version;          /* the plugin's own version, semver; NUL-terminated */
  const char* settings_schema;  /* JSON Schema of the settings; NUL-terminated; equal to the manifest's */

  /* Creates one instance. host and ctx stay valid until destroy() returns. On success sets
   * *instance and returns BL_OK; otherwise returns an error, may write a reason into error, and the
   * host never calls destroy for it. Called on the host's main thread, one at a time. May block
   * briefly (open files, check settings) but should not wait on the network. Required. */
  bl_status (*create)(const bl_host_api* host, bl_host_ctx* ctx, const bl_create_args* args,
                      bl_plugin_instance** instance, bl_message* error);

  /* Destroys an instance. Every asynchronous call has been completed or given up on and no call
   * into the instance is running. After it returns, the plugin must not call any host service
   * with this ctx. Host's main thread. Required. */
  void (*destroy)(bl_plugin_instance* instance);

  /* A hint that the host gave up on `call` (deadline or the caller's cancellation). The plugin
   * should stop work and complete the call (any status) soon; it must still complete it exactly
   * once. May race with the plugin's own completion, so an already completed id must be ignored.
   * Any thread; must not block. Optional (NULL). */
  void (*cancel_call)(bl_plugin_instance* instance, bl_call_id call);

  /* Reports health as JSON {"status": "ok"|"degraded"|"failing", "detail"?: "..."} to receive.
   * Any thread; must not block. Optional (NULL means always ok). */
  bl_status (*health)(bl_plugin_instance* instance, bl_receive_fn receive, void* user);

  /* The kind's function table (bl_identity_api, bl_crm_api, ...), which starts with its own
   * struct_size. Static, valid while the library is loaded. Required. */
  const void* kind_api;
} bl_plugin_descriptor;

/* ==== The single export ========================================================================= */

/* The name of the only symbol a plugin exports. */
#define BL_PLUGIN_ENTRY_SYMBOL "branchline_plugin_entry"

/* The entry point's type. The host offers its ABI version; the plugin returns its descriptor, or
 * NULL when it cannot run in this host. Called on the host's main thread, possibly more than once;
 * must have no side effects beyond returning a static descriptor. */
typedef const bl_plugin_descriptor* (*bl_plugin_entry_fn)(uint16_t host_abi_major, uint16_t host_abi_minor);

/* Defines the entry point. Use once per library, at file scope:
 *   BL_PLUGIN_ENTRY(host_major, host_minor) { return &my_descriptor; } */
#ifdef __cplusplus
#define BL_PLUGIN_ENTRY(major_name, minor_name) \
  extern "C" BL_EXPORT const bl_plugin_descriptor* branchline_plugin_entry(uint16_t major_name, uint16_t minor_name)
#else
#define BL_PLUGIN_ENTRY(major_name, minor_name) \
  BL_EXPORT const bl_plugin_descriptor* branchline_plugin_entry(uint16_t major_name, uint16_t minor_name)
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BRANCHLINE_ABI_H */
