// yaml_document: see yaml_document.hpp. Built on yaml-cpp's event parser rather than its node
// tree: events carry each node's tag (so the core schema can be applied), its position, and its
// anchor or alias before anything is expanded.
#include "config/yaml_document.hpp"

#include "common/utf8.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <optional>
#include <cstdint>
#include <sstream>
#include <unordered_set>
#include <vector>

namespace branchline::config {
namespace {

namespace json = boost::json;

SourceMark to_mark(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

// A refusal found while the event parser runs; turned into a Diagnostic by parse_yaml.
struct Refusal {
  SourceMark mark;
  std::string message;
  std::string fix;
};
// Thrown through yaml-cpp to stop parsing at the first refusal.
struct StopParsing {};

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The YAML 1.2 core schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool is_core_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t fraction = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++fraction;
    if (digits == 0 && fraction == 0) return false;
  } else if (digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!all_of(s.substr(i), is_digit)) return false;
    return true;
  }
  return i == s.size();
}

// Types a plain scalar by the core schema. Sets `refusal` for numbers JSON cannot hold.
json::value resolve_plain(std::string_view s, const SourceMark& mark, std::optional<Refusal>& refusal) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) return nullptr;

  auto out_of_range = [&] {
    refusal = Refusal{mark, "the number " + std::string(s.substr(0, 40)) + " does not fit in 64 bits",
                      "use a smaller number, or quote it if it is meant as text"};
    return json::value(nullptr);
  };
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (all_of(body, is_digit)) {  // decimal, leading zeros and all: "017" is 17
    std::int64_t v = 0;
    std::string_view digits = s[0] == '+' ? s.substr(1) : s;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 10);
    if (ec != std::errc() || p != digits.data() + digits.size()) return out_of_range();
    return v;
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    std::string_view digits = s.substr(2);
    int base = s[1] == 'o' ? 8 : 16;
    if (all_of(digits, base == 8 ? is_octal : is_hex)) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
      if (ec != std::errc() || p != digits.data() + digits.size()) return out_of_range();
      return v;
    }
  }
  (void)negative;
  if (is_core_float(s)) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return out_of_range();
    return v;
  }
  std::string_view inf = body;
  if (inf == ".inf" || inf == ".Inf" || inf == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN") {
    refusal = Refusal{mark, "infinity and NaN are not allowed in configuration", "write a finite number"};
    return nullptr;
  }
  return json::string(s);
}

class DocumentBuilder : public YAML::EventHandler {
 public:
  explicit DocumentBuilder(YamlDocument& doc) : doc_(doc) {}

  std::optional<Refusal> refusal;  // the first refusal; events after it are ignored
  std::size_t documents = 0;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents > 1)
      refuse(to_mark(mark), "the file holds more than one YAML document", "keep a single document (no second '---')");
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (!admit(mark, anchor)) return;
    if (expecting_key()) {
      refuse(to_mark(mark), "a key is empty or null", "write the key as text");
      return;
    }
    NodePosition pos = start_node(mark);
    pos.plain_scalar = true;
    finish_node(nullptr, std::move(pos));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    refuse(to_mark(mark), "aliases (*name) are not allowed in configuration",
           "write the value out in full where it is used");
  }

  void OnAnchor(const YAML::Mark& mark, const std::string&) override {
    refuse(to_mark(mark), "anchors (&name) are not allowed in configuration",
           "remove the anchor and write each value out in full");
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (!admit(mark, anchor)) return;
    // "?" is the non-specific tag of a plain scalar, "!" that of a quoted or block scalar.
    bool plain = tag == "?";
    if (!plain && tag != "!" && tag != "tag:yaml.org,2002:str") {
      refuse(to_mark(mark), "the explicit tag '" + tag.substr(0, 60) + "' is not supported",
             "remove the tag; quote the value if it must stay text");
      return;
    }
    if (expecting_key()) {
      Frame& map = stack_.back();
      if (!map.keys.insert(value).second) {
        refuse(to_mark(mark), "duplicate key '" + value.substr(0, 80) + "'",
               "keep one of them; YAML does not allow the same key twice in a mapping");
        return;
      }
      map.key = value;
      map.key_mark = to_mark(mark);
      map.have_key = true;
      return;
    }
    NodePosition pos = start_node(mark);
    json::value v;
    if (plain) {
      pos.plain_scalar = true;
      pos.text = value.substr(0, 80);
      v = resolve_plain(value, pos.value, refusal);
      if (refusal) throw StopParsing{};
    } else {
      v = json::string(value);
    }
    finish_node(std::move(v), std::move(pos));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, false, "tag:yaml.org,2002:seq");
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, true, "tag:yaml.org,2002:map");
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    bool is_map = false;
    json::value value;
    std::string pointer;
    NodePosition position;
    bool have_key = false;
    std::string key;
    SourceMark key_mark;
    std::unordered_set<std::string> keys;
  };

  [[noreturn]] void refuse(SourceMark mark, std::string message, std::string fix) {
    if (!refusal) refusal = Refusal{mark, std::move(message), std::move(fix)};
    throw StopParsing{};
  }

  bool admit(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (refusal) return false;
    if (anchor != YAML::NullAnchor) {
      OnAnchor(mark, "");
      return false;
    }
    if (++nodes_ > kMaxNodes) {
      refuse(to_mark(mark), "the file has more than " + std::to_string(kMaxNodes) + " values",
             "split the configuration or remove unused entries");
      return false;
    }
    return true;
  }

  bool expecting_key() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().have_key; }

  // The pointer and position of the node that starts at `mark`, as a child of the open frame.
  NodePosition start_node(const YAML::Mark& mark) {
    NodePosition pos;
    pos.value = to_mark(mark);
    if (!stack_.empty() && stack_.back().is_map) pos.key = stack_.back().key_mark;
    return pos;
  }

  std::string child_pointer() const {
    if (stack_.empty()) return "";
    const Frame& parent = stack_.back();
    if (parent.is_map) return pointer_append(parent.pointer, parent.key);
    return pointer_append(parent.pointer, std::to_string(parent.value.as_array().size()));
  }

  void finish_node(json::value v, NodePosition pos) {
    std::string pointer = child_pointer();
    doc_.positions[pointer] = std::move(pos);
    if (stack_.empty()) {
      doc_.root = std::move(v);
      return;
    }
    Frame& parent = stack_.back();
    if (parent.is_map) {
      parent.value.as_object()[parent.key] = std::move(v);
      parent.have_key = false;
    } else {
      parent.value.as_array().push_back(std::move(v));
    }
  }

  void open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool is_map,
            const char* standard_tag) {
    if (!admit(mark, anchor)) return;
    if (tag != "?" && tag != "!" && tag != standard_tag) {
      refuse(to_mark(mark), "the explicit tag '" + tag.substr(0, 60) + "' is not supported", "remove the tag");
      return;
    }
    if (expecting_key()) {
      refuse(to_mark(mark), "a key is a mapping or a list", "write the key as text");
      return;
    }
    if (stack_.size() >= kMaxDepth) {
      refuse(to_mark(mark), "nesting is deeper than " + std::to_string(kMaxDepth) + " levels",
             "flatten the configuration");
      return;
    }
    Frame frame;
    frame.is_map = is_map;
    frame.value = is_map ? json::value(json::object()) : json::value(json::array());
    frame.position = start_node(mark);
    frame.pointer = child_pointer();
    stack_.push_back(std::move(frame));
  }

  void close() {
    if (refusal || stack_.empty()) return;
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    finish_node(std::move(frame.value), std::move(frame.position));
  }

  YamlDocument& doc_;
  std::vector<Frame> stack_;
  std::size_t nodes_ = 0;
};

}  // namespace

std::string pointer_append(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out.push_back('/');
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

const NodePosition& YamlDocument::at(std::string_view pointer) const {
  static const NodePosition unknown;
  std::string p(pointer);
  for (;;) {
    auto it = positions.find(p);
    if (it != positions.end()) return it->second;
    if (p.empty()) return unknown;
    p.erase(p.rfind('/'));
  }
}

YamlDocument parse_yaml(std::string_view text, const std::string& file) {
  auto fail = [&](SourceMark mark, std::string message, std::string fix) -> YamlDocument {
    throw ConfigError({Diagnostic{file, mark, std::move(message), std::move(fix)}});
  };
  if (text.size() > kMaxBytes)
    return fail({}, "the file is larger than " + std::to_string(kMaxBytes / 1024) + " KiB",
                "check that this is the configuration file");
  // YAML text is Unicode; we take it as UTF-8 only (an optional BOM is fine) and without control
  // characters other than tab, line feed and carriage return, as YAML's c-printable says. This also
  // keeps yaml-cpp from guessing UTF-16 or UTF-32, and every later consumer sees valid UTF-8.
  std::size_t bad = utf8::first_invalid(text);
  for (std::size_t i = 0; i < bad; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      bad = i;
      break;
    }
  }
  if (bad != text.size()) {
    SourceMark mark{1, 1};
    for (std::size_t i = 0; i < bad; ++i) {
      if (text[i] == '\n') mark.line++, mark.column = 1;
      else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) mark.column++;
    }
    return fail(mark, "the file is not UTF-8 text (byte " + std::to_string(bad) + ")",
                "save the file as UTF-8 without control characters");
  }
  YamlDocument doc;
  DocumentBuilder builder(doc);
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    bool any = parser.HandleNextDocument(builder);
    // A second document is refused by OnDocumentStart.
    while (any && !builder.refusal && parser.HandleNextDocument(builder)) {
    }
    if (!any) return fail({1, 1}, "the file is empty", "start from config/branchline.yaml");
  } catch (const StopParsing&) {
    // builder.refusal says why.
  } catch (const YAML::Exception& e) {
    if (builder.refusal) return fail(builder.refusal->mark, builder.refusal->message, builder.refusal->fix);
    std::string message = "not valid YAML: " + e.msg;
    return fail(to_mark(e.mark), message, "check indentation, a missing ':' or an unclosed quote or bracket");
  }
  if (builder.refusal) return fail(builder.refusal->mark, builder.refusal->message, builder.refusal->fix);
  return doc;
}

}  // namespace branchline::config
