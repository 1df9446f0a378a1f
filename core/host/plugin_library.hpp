// plugin_library: one plugin shared library, loaded and checked against its manifest and the ABI.
//
// Contract:
//  - Nothing of the library runs before its manifest has been read and checked (ABI version, kind)
//    and the bytes about to be loaded hash to the manifest's SHA-256. The file is opened once; the
//    same descriptor is hashed and then dlopened (as /proc/self/fd/N), so no one can swap the file
//    between check and load.
//  - Loading uses RTLD_NOW | RTLD_LOCAL: a missing symbol fails here, not in the middle of a call,
//    and the plugin's symbols never resolve another plugin's.
//  - The descriptor and the kind table are copied into zero-filled host structs of the host's size
//    (members the plugin did not have read as NULL). A struct_size smaller than ABI 1.0's or larger
//    than the host knows, or a NULL where a function is required, is refused.
//  - A PluginLibrary is shared: every instance created from it holds a shared_ptr, so the library
//    stays mapped while any of them lives (Boost.DLL tutorial 8's rule).
//  - Every failure is a LoadError (load_error.hpp).
#pragma once

#include <branchline/branchline.h>

#include "host/manifest.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace boost::dll {
class shared_library;
}

namespace branchline::host {

// The host's ABI version.
inline constexpr std::uint16_t kHostAbiMajor = BL_ABI_MAJOR;
inline constexpr std::uint16_t kHostAbiMinor = BL_ABI_MINOR;

// Checks a manifest alone, before any code runs: ABI major and minor against the host, and the
// kind when the caller expects one (expected_kind 0: any). Throws LoadError.
void check_manifest_against_host(const Manifest& manifest, const std::filesystem::path& library,
                                 bl_plugin_kind expected_kind);

class PluginLibrary {
 public:
  // Loads and checks the library at `path`. `expected_kind` is what the configuration asks for
  // (0 when there is no configuration, as in `plugins inspect`). Throws LoadError.
  static std::shared_ptr<const PluginLibrary> load(const std::filesystem::path& path, bl_plugin_kind expected_kind);

  // Everything load() checks before it runs any of the plugin's code (file, manifest, ABI
  // version and kind from the manifest, SHA-256), for `config check`. Returns the manifest;
  // throws LoadError.
  static Manifest verify(const std::filesystem::path& path, bl_plugin_kind expected_kind);

  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const Manifest& manifest() const { return manifest_; }
  // The descriptor, zero-extended to the host's sizeof.
  const bl_plugin_descriptor& descriptor() const { return descriptor_; }
  // The kind's function table, zero-extended to the host's sizeof. T must match descriptor().kind.
  template <class T>
  const T& table() const {
    return *reinterpret_cast<const T*>(table_storage_);
  }

 private:
  PluginLibrary() = default;

  std::filesystem::path path_;
  Manifest manifest_;
  std::unique_ptr<boost::dll::shared_library> library_;
  int fd_ = -1;  // the verified file, open while the library is loaded (see load())
  bl_plugin_descriptor descriptor_{};
  // Large enough for every kind's table; checked by static_assert in the implementation.
  alignas(std::max_align_t) std::byte table_storage_[128]{};
};

}  // namespace branchline::host
