// canonical_json: see canonical_json.hpp.
#include "audit/canonical_json.hpp"

#include "common/utf8.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

namespace branchline::audit {
namespace {

constexpr std::int64_t kMaxExact = 9007199254740992;  // 2^53

// UTF-8 text as UTF-16 code units, for JCS's member order.
std::u16string utf16(std::string_view text) {
  std::u16string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = utf8::sequence_length(text, i);
    if (n == 0) throw std::invalid_argument("canonical JSON: text is not valid UTF-8");
    auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(text[i + k])); };
    std::uint32_t cp = n == 1 ? byte(0)
                       : n == 2 ? ((byte(0) & 0x1f) << 6) | (byte(1) & 0x3f)
                       : n == 3 ? ((byte(0) & 0x0f) << 12) | ((byte(1) & 0x3f) << 6) | (byte(2) & 0x3f)
                                : ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3f) << 12) | ((byte(2) & 0x3f) << 6) |
                                      (byte(3) & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += n;
  }
  return out;
}

void write_string(std::string_view text, std::string& out) {
  if (!utf8::valid(text)) throw std::invalid_argument("canonical JSON: text is not valid UTF-8");
  out += '"';
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void write(const boost::json::value& v, std::string& out, int depth) {
  if (depth > 128) throw std::invalid_argument("canonical JSON: nested deeper than 128");
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: {
      std::int64_t i = v.get_int64();
      if (i > kMaxExact || i < -kMaxExact) throw std::invalid_argument("canonical JSON: integer beyond 2^53");
      out += std::to_string(i);
      return;
    }
    case boost::json::kind::uint64: {
      std::uint64_t u = v.get_uint64();
      if (u > static_cast<std::uint64_t>(kMaxExact)) throw std::invalid_argument("canonical JSON: integer beyond 2^53");
      out += std::to_string(u);
      return;
    }
    case boost::json::kind::double_: out += es_number(v.get_double()); return;
    case boost::json::kind::string: write_string(v.get_string(), out); return;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write(e, out, depth + 1);
      }
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> members;
      for (const auto& m : v.get_object()) members.emplace_back(utf16(m.key()), &m);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [key, m] : members) {
        if (!first) out += ',';
        first = false;
        write_string(m->key(), out);
        out += ':';
        write(m->value(), out, depth + 1);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string es_number(double value) {
  if (!std::isfinite(value)) throw std::invalid_argument("canonical JSON: NaN and infinities are not JSON");
  if (value == 0) return "0";  // and -0
  std::string out;
  if (value < 0) {
    out += '-';
    value = -value;
  }
  // The shortest digits that round-trip, as d.ddde+XX: s (the digits) and n (the decimal point).
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string text(buf, end);
  std::size_t e = text.find('e');
  std::string digits = text.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int n = std::stoi(text.substr(e + 1)) + 1;
  int k = static_cast<int>(digits.size());
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string canonical_json(const boost::json::value& value) {
  std::string out;
  write(value, out, 0);
  return out;
}

}  // namespace branchline::audit
