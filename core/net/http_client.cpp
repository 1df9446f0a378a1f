// http_client: see http_client.hpp. One curl multi handle driven by one worker thread; requests
// and cancellations reach it through a queue and curl_multi_wakeup.
#include "net/http_client.hpp"

#include "telemetry/metrics.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace branchline::net {
namespace {

constexpr std::size_t kMaxUrlBytes = 8 * 1024;
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

bool is_token(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

bool safe_header_value(std::string_view s) {
  return s.size() <= 8192 && s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  std::string h = lower(host);
  for (const std::string& pattern_in : allowed) {
    std::string pattern = lower(pattern_in);
    if (pattern == h) return true;
    // "*.bank.example" allows any subdomain, not the bare domain.
    if (pattern.size() > 2 && pattern.compare(0, 2, "*.") == 0 && h.size() > pattern.size() - 1 &&
        h.compare(h.size() - (pattern.size() - 1), pattern.size() - 1, pattern, 1) == 0)
      return true;
  }
  return false;
}

struct Transfer {
  HttpClient::Id id = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string request_body;
  std::string url;
  HttpResponse response;
  std::size_t max_response_bytes = 0;
  std::size_t header_bytes = 0;
  bool too_large = false;
  HttpClient::Done done;
  char error[CURL_ERROR_SIZE] = {};
  std::chrono::steady_clock::time_point started;

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (header_list) curl_slist_free_all(header_list);
  }
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (t->response.body.size() + n > t->max_response_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->too_large = true;
    return 0;
  }
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    t->response.headers.clear();  // a new response (after 100 Continue, or a proxy's CONNECT)
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || t->response.headers.size() >= kMaxHeaders) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  t->response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

}  // namespace

struct HttpClient::Impl {
  CURLM* multi = nullptr;
  std::shared_ptr<telemetry::MetricsRegistry> metrics;
  std::thread worker;
  mutable std::mutex mutex;
  std::deque<std::unique_ptr<Transfer>> to_add;
  std::vector<Id> to_cancel;
  bool stopping = false;
  std::map<Id, std::unique_ptr<Transfer>> active;  // worker thread only
  std::atomic<Id> next_id{1};
  std::atomic<std::size_t> in_flight{0};

  void finish(std::unique_ptr<Transfer> t, bl_status status, std::string message) {
    t->response.status = status;
    if (status != BL_OK) {
      // Whatever arrived before the failure is not a response.
      t->response.http_status = 0;
      t->response.headers.clear();
      t->response.body.clear();
      t->response.message = std::move(message);
    }
    if (metrics) {
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t->started).count();
      std::string outcome = status == BL_OK ? std::to_string(t->response.http_status / 100) + "xx" : "error";
      metrics->record(telemetry::MetricType::Histogram, "host_http_request_seconds",
                      "{\"outcome\":\"" + outcome + "\"}", seconds);
    }
    Done done = std::move(t->done);
    HttpResponse response = std::move(t->response);
    t.reset();
    in_flight--;
    done(std::move(response));
  }

  void complete(Transfer* raw, CURLcode code) {
    auto it = active.find(raw->id);
    if (it == active.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    active.erase(it);
    curl_multi_remove_handle(multi, t->easy);
    if (code == CURLE_OK) {
      long http_status = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &http_status);
      t->response.http_status = static_cast<int>(http_status);
      finish(std::move(t), BL_OK, {});
    } else if (t->too_large) {
      finish(std::move(t), BL_INTERNAL,
             "the response is larger than " + std::to_string(t->max_response_bytes) + " bytes");
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      finish(std::move(t), BL_DEADLINE_EXCEEDED, "the request timed out");
    } else {
      std::string detail = t->error[0] ? t->error : curl_easy_strerror(code);
      finish(std::move(t), BL_UNAVAILABLE, detail);
    }
  }

  void run() {
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> adding;
      std::vector<Id> cancelling;
      bool stop;
      {
        std::lock_guard lock(mutex);
        adding.swap(to_add);
        cancelling.swap(to_cancel);
        stop = stopping;
      }
      for (auto& t : adding) {
        Id id = t->id;
        if (std::find(cancelling.begin(), cancelling.end(), id) != cancelling.end() || stop) {
          finish(std::move(t), BL_CANCELLED, "cancelled");
          continue;
        }
        if (curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
          finish(std::move(t), BL_INTERNAL, "the HTTP client could not start the transfer");
          continue;
        }
        active.emplace(id, std::move(t));
      }
      for (Id id : cancelling) {
        auto it = active.find(id);
        if (it == active.end()) continue;
        std::unique_ptr<Transfer> t = std::move(it->second);
        active.erase(it);
        curl_multi_remove_handle(multi, t->easy);
        finish(std::move(t), BL_CANCELLED, "cancelled");
      }
      if (stop) {
        while (!active.empty()) {
          std::unique_ptr<Transfer> t = std::move(active.begin()->second);
          active.erase(active.begin());
          curl_multi_remove_handle(multi, t->easy);
          finish(std::move(t), BL_CANCELLED, "the host is shutting down");
        }
        return;
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        if (t) complete(t, msg->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }
};

HttpClient::HttpClient(std::shared_ptr<telemetry::MetricsRegistry> metrics) : impl_(std::make_unique<Impl>()) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->metrics = std::move(metrics);
  impl_->multi = curl_multi_init();
  impl_->worker = std::thread([impl = impl_.get()] { impl->run(); });
}

HttpClient::~HttpClient() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->worker.join();
  curl_multi_cleanup(impl_->multi);
}

std::size_t HttpClient::in_flight() const { return impl_->in_flight; }

bl_status HttpClient::start(HttpRequest request, const HttpPolicy& policy, Done done, Id* id, std::string* reason) {
  auto refuse = [&](bl_status status, std::string why) {
    if (reason) *reason = std::move(why);
    return status;
  };
  if (!done || id == nullptr) return refuse(BL_INVALID_ARGUMENT, "no completion function");
  if (!is_token(request.method)) return refuse(BL_INVALID_ARGUMENT, "the method is not an HTTP token");
  if (request.url.empty() || request.url.size() > kMaxUrlBytes) return refuse(BL_INVALID_ARGUMENT, "the URL is empty or too long");
  if (request.body.size() > policy.max_request_bytes) return refuse(BL_INVALID_ARGUMENT, "the request body is too large");
  if (request.headers.size() > kMaxHeaders) return refuse(BL_INVALID_ARGUMENT, "too many headers");
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name) || !safe_header_value(value))
      return refuse(BL_INVALID_ARGUMENT, "a header name is not a token, or a value holds CR, LF or NUL");
  }

  // The URL, as curl itself will read it.
  CURLU* url = curl_url();
  std::string scheme, host;
  bool has_user = false;
  if (curl_url_set(url, CURLUPART_URL, request.url.c_str(), 0) == CURLUE_OK) {
    char* part = nullptr;
    if (curl_url_get(url, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) scheme = lower(part), curl_free(part);
    if (curl_url_get(url, CURLUPART_HOST, &part, 0) == CURLUE_OK) host = part, curl_free(part);
    if (curl_url_get(url, CURLUPART_USER, &part, 0) == CURLUE_OK) has_user = true, curl_free(part);
  }
  curl_url_cleanup(url);
  if (scheme.empty()) return refuse(BL_INVALID_ARGUMENT, "not an absolute URL");
  if (scheme != "https" && !(scheme == "http" && policy.allow_plain_http))
    return refuse(BL_PERMISSION_DENIED, "scheme '" + scheme + "' is not allowed; use https");
  if (host.empty()) return refuse(BL_INVALID_ARGUMENT, "the URL names no host");
  if (has_user) return refuse(BL_INVALID_ARGUMENT, "credentials in the URL are refused; send them in a header");
  if (!host_allowed(host, policy.allowed_hosts))
    return refuse(BL_PERMISSION_DENIED, "host '" + host + "' is not in this plugin's http.allowed_hosts");

  if (request.method == "GET" && !request.body.empty())
    return refuse(BL_INVALID_ARGUMENT, "a GET request carries no body");
  auto t = std::make_unique<Transfer>();
  t->id = impl_->next_id++;
  t->easy = curl_easy_init();
  if (t->easy == nullptr) return refuse(BL_INTERNAL, "the HTTP client is out of resources");
  t->url = std::move(request.url);
  t->request_body = std::move(request.body);
  t->max_response_bytes = policy.max_response_bytes;
  t->done = std::move(done);
  t->started = std::chrono::steady_clock::now();
  std::chrono::milliseconds timeout = request.timeout.count() > 0 ? request.timeout : policy.default_timeout;
  timeout = std::min(timeout, policy.max_timeout);

  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, policy.allow_plain_http ? "http,https" : "https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!policy.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, policy.ca_file.c_str());
  if (!policy.proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, policy.proxy.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long>(timeout.count(), 10000)));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "branchlined/0.1");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  if (request.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!t->request_body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request_body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request_body.size()));
  }
  // curl would add "Expect: 100-continue" to large bodies and wait for the server; most APIs
  // answer the request directly.
  t->header_list = curl_slist_append(t->header_list, "Expect:");
  for (const auto& [name, value] : request.headers)
    t->header_list = curl_slist_append(t->header_list, (name + ": " + value).c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);

  *id = t->id;
  impl_->in_flight++;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) {
      impl_->in_flight--;
      return refuse(BL_UNAVAILABLE, "the host is shutting down");
    }
    impl_->to_add.push_back(std::move(t));
  }
  curl_multi_wakeup(impl_->multi);
  return BL_OK;
}

void HttpClient::cancel(Id id) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->to_cancel.push_back(id);
  }
  curl_multi_wakeup(impl_->multi);
}

}  // namespace branchline::net
