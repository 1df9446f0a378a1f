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
