// log: the host's structured log. One JSON object per line (for SIEMs and log shippers), or a
// human format when standard error is a terminal.
//
// Contract: every line is valid JSON whatever the message holds (quotes, newlines, control bytes,
// invalid UTF-8 become escapes or U+FFFD); lines never contain a raw newline; writing is
// thread-safe. Registered secrets are replaced by "[redacted]" in every message before it is written.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace branchline::log {

enum class Level { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4 };

enum class Format { Json, Human, Auto };

// Sets the output format and the lowest level written. Call once at start; defaults: Auto, Info.
void configure(Format format, Level min_level);

// Writes one line: {"time": RFC 3339 UTC, "level", "component", "message"}.
void write(Level level, std::string_view component, std::string_view message);

// Registers a secret value (>= 4 bytes) to be redacted from every later line.
void add_secret(std::string_view secret);

// Returns text with every registered secret replaced by "[redacted]" (for output that does not
// go through write(), such as a command's error lines on standard error).
std::string redact(std::string_view text);

// Now, as RFC 3339 UTC with microseconds ("2026-11-24T10:00:00.123456Z"): log lines, audit entries.
std::string utc_now_rfc3339();
// A time as RFC 3339 UTC with microseconds: 2026-11-24T10:00:00.123456Z (years 0000-9999).
std::string rfc3339(std::chrono::system_clock::time_point t);

// Escapes text as the contents of a JSON string (without quotes), replacing invalid UTF-8 by U+FFFD.
std::string json_escape(std::string_view text);

inline void info(std::string_view component, std::string_view message) { write(Level::Info, component, message); }
inline void warn(std::string_view component, std::string_view message) { write(Level::Warn, component, message); }
inline void error(std::string_view component, std::string_view message) { write(Level::Error, component, message); }

}  // namespace branchline::log
