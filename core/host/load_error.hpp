// load_error: why a plugin could not be loaded, as one line an operator can act on.
//
// Contract: every failure of the loader is a LoadError with a class (LoadFailure) that tests and
// health reports match on, and a message of the form
//   plugin '<id>' (<path>): <class>: <cause>[; <fix>]
// on one line (no newline, whatever the plugin put in its reason).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace branchline::host {

enum class LoadFailure {
  FileMissing,         // the library file does not exist or cannot be opened
  ManifestMissing,     // no <id>.manifest.json beside it
  ManifestInvalid,     // the manifest is not a valid manifest document
  HashMismatch,        // the library's SHA-256 differs from the manifest's
  NotLoadable,         // dlopen refused it (not an ELF library, missing dependency, wrong arch)
  EntryMissing,        // no branchline_plugin_entry symbol
  EntryRefused,        // the entry returned NULL for this host
  AbiMajorMismatch,    // built against another major ABI version
  AbiMinorTooNew,      // built against a newer minor than the host's
  DescriptorInvalid,   // a struct_size the host does not know, a NULL required function, ...
  ManifestMismatch,    // the descriptor disagrees with the manifest (id, vendor, version, schema)
  KindMismatch,        // the plugin's kind differs from what the config asks for
  SchemaInvalid,       // the plugin's settings schema is not a valid JSON Schema
  SettingsRejected,    // the instance's settings fail the plugin's schema
  InitFailed,          // create() returned an error
  InitThrew,           // create() threw (reported by the C++ SDK as BL_UNCAUGHT_EXCEPTION)
};

// The stable, kebab-case name of a failure class, as printed in messages ("abi-major-mismatch").
std::string_view to_string(LoadFailure failure);

// What an operator can do about a failure of this class (one short sentence).
std::string_view suggested_fix(LoadFailure failure);

class LoadError : public std::runtime_error {
 public:
  LoadError(LoadFailure failure, std::string_view plugin_id, std::string_view path, std::string_view cause);
  LoadFailure failure() const noexcept { return failure_; }

 private:
  LoadFailure failure_;
};

// Makes text safe for a one-line message: control characters become spaces, length is bounded.
std::string one_line(std::string_view text, std::size_t max_length = 400);

}  // namespace branchline::host
