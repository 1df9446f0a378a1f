// load_error: see load_error.hpp.
#include "host/load_error.hpp"

namespace branchline::host {

std::string_view to_string(LoadFailure failure) {
  switch (failure) {
    case LoadFailure::FileMissing: return "file-missing";
    case LoadFailure::ManifestMissing: return "manifest-missing";
    case LoadFailure::ManifestInvalid: return "manifest-invalid";
    case LoadFailure::HashMismatch: return "hash-mismatch";
    case LoadFailure::NotLoadable: return "not-loadable";
    case LoadFailure::EntryMissing: return "entry-missing";
    case LoadFailure::EntryRefused: return "entry-refused";
    case LoadFailure::AbiMajorMismatch: return "abi-major-mismatch";
    case LoadFailure::AbiMinorTooNew: return "abi-minor-too-new";
    case LoadFailure::DescriptorInvalid: return "descriptor-invalid";
    case LoadFailure::ManifestMismatch: return "manifest-mismatch";
    case LoadFailure::KindMismatch: return "kind-mismatch";
    case LoadFailure::SchemaInvalid: return "schema-invalid";
    case LoadFailure::SettingsRejected: return "settings-rejected";
    case LoadFailure::InitFailed: return "init-failed";
    case LoadFailure::InitThrew: return "init-threw";
  }
  return "unknown";
}

std::string_view suggested_fix(LoadFailure failure) {
  switch (failure) {
    case LoadFailure::FileMissing:
      return "build or install the plugin, or point `library:` or host.plugin_dirs at it";
    case LoadFailure::ManifestMissing: return "install the plugin's <id>.manifest.json beside its library";
    case LoadFailure::ManifestInvalid:
    case LoadFailure::HashMismatch: return "reinstall the plugin from its vendor's release";
    case LoadFailure::NotLoadable: return "install the library's dependencies, or a build for this machine";
    case LoadFailure::EntryMissing:
    case LoadFailure::EntryRefused:
    case LoadFailure::DescriptorInvalid:
    case LoadFailure::ManifestMismatch:
    case LoadFailure::SchemaInvalid:
      return "ask the plugin's vendor for a build that follows docs/plugin-abi.md";
    case LoadFailure::AbiMajorMismatch: return "install a release of the plugin built for this host's ABI major";
    case LoadFailure::AbiMinorTooNew: return "upgrade branchlined, or install an older release of the plugin";
    case LoadFailure::KindMismatch: return "set `kind:` to the plugin's kind, or choose a plugin of this kind";
    case LoadFailure::SettingsRejected:
      return "change `settings:` as the plugin's schema asks (`branchline plugins inspect LIB` shows it)";
    case LoadFailure::InitFailed:
    case LoadFailure::InitThrew: return "read the plugin's reason; check its settings, secrets and the services it needs";
  }
  return "see docs/plugin-abi.md";
}

std::string one_line(std::string_view text, std::size_t max_length) {
  std::string out;
  out.reserve(std::min(text.size(), max_length));
  for (char c : text) {
    if (out.size() >= max_length) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

LoadError::LoadError(LoadFailure failure, std::string_view plugin_id, std::string_view path, std::string_view cause)
    : std::runtime_error("plugin '" + one_line(plugin_id, 100) + "' (" + one_line(path, 300) + "): " +
                         std::string(to_string(failure)) + ": " + one_line(cause)),
      failure_(failure) {}

}  // namespace branchline::host
