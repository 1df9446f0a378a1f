// manifest: the <id>.manifest.json that ships beside every plugin library.
//
// Contract: a manifest is read and checked without running any code of the plugin, so that
// `branchline config check` and `branchline plugins inspect` are safe on a vendor's binary. It is
// untrusted input: bounded in size (64 KiB), every field typed and checked, unknown fields refused.
//
//   {"manifest_version": 1, "id": "crm-sqlite", "kind": "crm", "vendor": "Branchline",
//    "version": "0.1.0", "abi": {"major": 1, "minor": 0}, "library": "crm-sqlite.so",
//    "sha256": "<64 hex>", "settings_schema": { JSON Schema }}
#pragma once

#include <branchline/abi.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace branchline::host {

struct Manifest {
  std::string id;
  bl_plugin_kind kind = 0;
  std::string vendor;
  std::string version;
  std::uint16_t abi_major = 0;
  std::uint16_t abi_minor = 0;
  std::string library;  // file name, relative to the manifest's folder
  std::string sha256;   // lowercase hex
  boost::json::value settings_schema;
};

inline constexpr std::size_t kMaxManifestBytes = 64 * 1024;

// Parses a manifest document. Throws std::invalid_argument naming the first offending field.
Manifest parse_manifest(std::string_view text);

// Reads the manifest that belongs beside `library`: <dir>/<stem>.manifest.json where <stem> is the
// library's file name without ".so". Returns nullopt when the file does not exist; throws
// std::invalid_argument when it is unreadable, too large or invalid.
std::optional<Manifest> read_manifest_for(const std::filesystem::path& library);

// The manifest path used by read_manifest_for.
std::filesystem::path manifest_path_for(const std::filesystem::path& library);

// "crm" <-> BL_KIND_CRM. kind_from_name returns 0 for an unknown name.
bl_plugin_kind kind_from_name(std::string_view name);
std::string_view kind_name(bl_plugin_kind kind);

}  // namespace branchline::host
