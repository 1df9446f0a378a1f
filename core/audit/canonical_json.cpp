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
  std::size_t run = 0;  // start of the bytes not yet copied: copied in runs, not byte by byte
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (u) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        out += buf;
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

template <class Integer>
void write_integer(Integer i, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, end);
}

// JCS orders members by their names' UTF-16 code units. UTF-8 byte order is the same order except
// between a character above U+FFFF (lead byte F0-F4, a surrogate pair in UTF-16) and one in
// U+E000-U+FFFF (lead byte EE-EF); names with no byte at or above 0xEE compare as bytes.
struct MemberName {
  std::string_view name;
  bool bytewise;
  explicit MemberName(std::string_view n)
      : name(n), bytewise(std::none_of(n.begin(), n.end(), [](char c) { return static_cast<unsigned char>(c) >= 0xEE; })) {}
  bool operator<(const MemberName& other) const {
    if (bytewise && other.bytewise) return name < other.name;
    return utf16(name) < utf16(other.name);
  }
};

void write(const boost::json::value& v, std::string& out, int depth, const char* slot = nullptr, std::size_t* slot_at = nullptr);

void write_object(const boost::json::object& object, std::string& out, int depth, const char* slot, std::size_t* slot_at) {
  std::vector<std::pair<MemberName, const boost::json::value*>> members;
  members.reserve(object.size() + 1);
  for (const auto& m : object) members.emplace_back(MemberName(m.key()), &m.value());
  if (slot) members.emplace_back(MemberName(slot), nullptr);  // the member whose value is spliced in later
  std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < members.size(); ++i)
    if (!(members[i - 1].first < members[i].first)) throw std::invalid_argument("canonical JSON: a member name twice");
  out += '{';
  bool first = true;
  for (const auto& [name, value] : members) {
    if (!first) out += ',';
    first = false;
    write_string(name.name, out);
    out += ':';
    if (value) {
      write(*value, out, depth + 1);
    } else {
      *slot_at = out.size();
    }
  }
  out += '}';
}

void write(const boost::json::value& v, std::string& out, int depth, const char* slot, std::size_t* slot_at) {
  if (depth > 128) throw std::invalid_argument("canonical JSON: nested deeper than 128");
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: {
      std::int64_t i = v.get_int64();
      if (i > kMaxExact || i < -kMaxExact) throw std::invalid_argument("canonical JSON: integer beyond 2^53");
      write_integer(i, out);
      return;
    }
    case boost::json::kind::uint64: {
      std::uint64_t u = v.get_uint64();
      if (u > static_cast<std::uint64_t>(kMaxExact)) throw std::invalid_argument("canonical JSON: integer beyond 2^53");
      write_integer(u, out);
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
    case boost::json::kind::object: write_object(v.get_object(), out, depth, slot, slot_at); return;
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
  out.reserve(512);
  write(value, out, 0);
  return out;
}

CanonicalWithSlot canonical_json_with_slot(const boost::json::object& object, const char* slot) {
  if (object.contains(slot)) throw std::invalid_argument(std::string("canonical JSON: the object already has ") + slot);
  std::string out;
  out.reserve(512);
  std::size_t at = 0;
  write_object(object, out, 0, slot, &at);
  return {out.substr(0, at), out.substr(at)};
}

}  // namespace branchline::audit
