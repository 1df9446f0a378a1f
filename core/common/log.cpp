// log: see log.hpp. spdlog does the buffered, thread-safe writing; this file does the JSON.
#include "common/log.hpp"

#include "common/utf8.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <vector>

namespace branchline::log {
namespace {

struct State {
  std::mutex mutex;
  std::vector<std::string> secrets;
  std::atomic<int> min_level{static_cast<int>(Level::Info)};
  std::atomic<bool> json{true};
  std::shared_ptr<spdlog::logger> logger;
};

State& state() {
  static State s;
  return s;
}

std::shared_ptr<spdlog::logger> logger() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.logger) {
    s.logger = std::make_shared<spdlog::logger>("branchline", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s.logger->set_pattern("%v");
    s.logger->set_level(spdlog::level::trace);
    s.logger->flush_on(spdlog::level::trace);
  }
  return s.logger;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Trace: return "trace";
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}


std::string redact_secrets(std::string_view message) {
  State& s = state();
  std::string out(message);
  std::lock_guard lock(s.mutex);
  for (const std::string& secret : s.secrets) {
    for (std::size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at)) {
      out.replace(at, secret.size(), "[redacted]");
      at += 10;
    }
  }
  return out;
}


}  // namespace

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t n = utf8::sequence_length(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  return out;
}

void configure(Format format, Level min_level) {
  State& s = state();
  s.min_level = static_cast<int>(min_level);
  if (format == Format::Auto) s.json = ::isatty(STDERR_FILENO) == 0;
  else s.json = format == Format::Json;
}

void add_secret(std::string_view secret) {
  if (secret.size() < 4) return;  // too short to redact without mangling ordinary text
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.secrets.emplace_back(secret);
}

void write(Level level, std::string_view component, std::string_view message) {
  State& s = state();
  if (static_cast<int>(level) < s.min_level) return;
  auto out = logger();
  std::string clean = redact_secrets(message);
  if (s.json) {
    out->info("{{\"time\":\"{}\",\"level\":\"{}\",\"component\":\"{}\",\"message\":\"{}\"}}", log::utc_now_rfc3339(),
              level_name(level), json_escape(component), json_escape(clean));
  } else {
    // Human format: still one line per entry, with control characters escaped.
    out->info("{} {:5} [{}] {}", log::utc_now_rfc3339(), level_name(level), json_escape(component), json_escape(clean));
  }
}

std::string redact(std::string_view text) { return redact_secrets(text); }

std::string rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day date{day};
  long long us = duration_cast<microseconds>(t - day).count();
  // Written digit by digit: called for every log line and audit entry, where snprintf showed.
  char out[27] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', 'T', '0', '0', ':',
                  '0', '0', ':', '0', '0', '.', '0', '0', '0', '0', '0', '0', 'Z'};
  auto put = [&out](int at, int width, long long value) {
    for (int i = at + width - 1; i >= at; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, static_cast<int>(date.year()));
  put(5, 2, static_cast<unsigned>(date.month()));
  put(8, 2, static_cast<unsigned>(date.day()));
  put(11, 2, us / 3600000000LL);
  put(14, 2, us / 60000000LL % 60);
  put(17, 2, us / 1000000LL % 60);
  put(20, 6, us % 1000000LL);
  return std::string(out, sizeof out);
}

std::string utc_now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

}  // namespace branchline::log
