// manifest: see manifest.hpp.
#include "host/manifest.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace branchline::host {
namespace json = boost::json;

namespace {

constexpr std::array<std::pair<std::string_view, bl_plugin_kind>, 7> kKinds{{
    {"identity", BL_KIND_IDENTITY},
    {"crm", BL_KIND_CRM},
    {"core_banking", BL_KIND_CORE_BANKING},
    {"recording", BL_KIND_RECORDING},
    {"transcription", BL_KIND_TRANSCRIPTION},
    {"queue", BL_KIND_QUEUE},
    {"event_sink", BL_KIND_EVENT_SINK},
}};

std::string required_string(const json::object& doc, std::string_view key, std::size_t max_length) {
  const json::value* v = doc.if_contains(key);
  if (!v || !v->is_string()) throw std::invalid_argument("\"" + std::string(key) + "\" must be a string");
  const json::string& s = v->get_string();
  if (s.empty() || s.size() > max_length) {
    throw std::invalid_argument("\"" + std::string(key) + "\" must be 1 to " + std::to_string(max_length) +
                                " characters");
  }
  return std::string(s);
}

std::uint16_t small_uint(const json::object& doc, std::string_view key) {
  const json::value* v = doc.if_contains(key);
  if (!v || !(v->is_int64() || v->is_uint64())) {
    throw std::invalid_argument("\"abi." + std::string(key) + "\" must be an integer");
  }
  auto n = v->to_number<std::int64_t>();
  if (n < 0 || n > 65535) throw std::invalid_argument("\"abi." + std::string(key) + "\" must be 0 to 65535");
  return static_cast<std::uint16_t>(n);
}

bool is_plain_file_name(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
}

}  // namespace

bl_plugin_kind kind_from_name(std::string_view name) {
  for (const auto& [n, k] : kKinds) {
    if (n == name) return k;
  }
  return 0;
}

std::string_view kind_name(bl_plugin_kind kind) {
  for (const auto& [n, k] : kKinds) {
    if (k == kind) return n;
  }
  return "unknown";
}

Manifest parse_manifest(std::string_view text) {
  if (text.size() > kMaxManifestBytes) throw std::invalid_argument("larger than 64 KiB");
  json::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) throw std::invalid_argument("not JSON: " + ec.message());
  if (!root.is_object()) throw std::invalid_argument("must be a JSON object");
  const json::object& doc = root.get_object();

  static constexpr std::array<std::string_view, 9> kKnown{
      "manifest_version", "id", "kind", "vendor", "version", "abi", "library", "sha256", "settings_schema"};
  for (const auto& field : doc) {
    if (std::find(kKnown.begin(), kKnown.end(), std::string_view(field.key())) == kKnown.end()) {
      throw std::invalid_argument("unknown field \"" + std::string(field.key()) + "\"");
    }
  }
  const json::value* mv = doc.if_contains("manifest_version");
  if (!mv || !mv->is_int64() || mv->get_int64() != 1) {
    throw std::invalid_argument("\"manifest_version\" must be 1");
  }

  Manifest m;
  m.id = required_string(doc, "id", 64);
  for (char c : m.id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) throw std::invalid_argument("\"id\" must match [a-z0-9._-]+");
  }
  std::string kind = required_string(doc, "kind", 32);
  m.kind = kind_from_name(kind);
  if (m.kind == 0) {
    throw std::invalid_argument("\"kind\" \"" + kind +
                                "\" is not one of identity, crm, core_banking, recording, transcription, "
                                "queue, event_sink");
  }
  m.vendor = required_string(doc, "vendor", 128);
  m.version = required_string(doc, "version", 64);
  m.library = required_string(doc, "library", 255);
  if (!is_plain_file_name(m.library)) throw std::invalid_argument("\"library\" must be a file name, not a path");
  m.sha256 = required_string(doc, "sha256", 64);
  if (m.sha256.size() != 64 || m.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw std::invalid_argument("\"sha256\" must be 64 lowercase hex digits");
  }
  const json::value* abi = doc.if_contains("abi");
  if (!abi || !abi->is_object()) throw std::invalid_argument("\"abi\" must be an object {\"major\", \"minor\"}");
  m.abi_major = small_uint(abi->get_object(), "major");
  m.abi_minor = small_uint(abi->get_object(), "minor");
  const json::value* schema = doc.if_contains("settings_schema");
  if (!schema || !(schema->is_object() || schema->is_bool())) {
    throw std::invalid_argument("\"settings_schema\" must be a JSON Schema (an object)");
  }
  m.settings_schema = *schema;
  return m;
}

std::filesystem::path manifest_path_for(const std::filesystem::path& library) {
  std::string stem = library.filename().string();
  if (stem.size() > 3 && stem.ends_with(".so")) stem.resize(stem.size() - 3);
  return library.parent_path() / (stem + ".manifest.json");
}

std::optional<Manifest> read_manifest_for(const std::filesystem::path& library) {
  std::filesystem::path path = manifest_path_for(library);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw std::invalid_argument(path.string() + ": " + ec.message());
  if (size > kMaxManifestBytes) throw std::invalid_argument(path.string() + ": larger than 64 KiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_manifest(text.str());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path.string() + ": " + e.what());
  }
}

}  // namespace branchline::host
