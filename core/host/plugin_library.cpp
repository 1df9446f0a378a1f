// plugin_library: see plugin_library.hpp.
#include "host/plugin_library.hpp"

#include "common/sha256.hpp"
#include "host/load_error.hpp"

#include <boost/dll/shared_library.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace branchline::host {
namespace {

// One kind's table as ABI 1.0 defined it: the smallest struct_size accepted and the functions that
// must not be NULL. v1_size never changes once 1.0 is tagged (it is also in sdk/abi/golden_layout.h).
struct TableSpec {
  bl_plugin_kind kind;
  const char* name;
  std::size_t v1_size;
  std::size_t host_size;
  std::vector<std::pair<const char*, std::size_t>> required;
};

#define BL_REQUIRED(type, member) std::pair<const char*, std::size_t>{#type "." #member, offsetof(type, member)}

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs{
      {BL_KIND_IDENTITY, "bl_identity_api", 32, sizeof(bl_identity_api),
       {BL_REQUIRED(bl_identity_api, validate_token)}},
      {BL_KIND_CRM, "bl_crm_api", 40, sizeof(bl_crm_api),
       {BL_REQUIRED(bl_crm_api, lookup_customer), BL_REQUIRED(bl_crm_api, add_note)}},
      {BL_KIND_CORE_BANKING, "bl_core_banking_api", 32, sizeof(bl_core_banking_api),
       {BL_REQUIRED(bl_core_banking_api, list_accounts), BL_REQUIRED(bl_core_banking_api, submit_operation),
        BL_REQUIRED(bl_core_banking_api, get_operation)}},
      {BL_KIND_RECORDING, "bl_recording_api", 40, sizeof(bl_recording_api),
       {BL_REQUIRED(bl_recording_api, open), BL_REQUIRED(bl_recording_api, write),
        BL_REQUIRED(bl_recording_api, close)}},
      {BL_KIND_TRANSCRIPTION, "bl_transcription_api", 32, sizeof(bl_transcription_api),
       {BL_REQUIRED(bl_transcription_api, open), BL_REQUIRED(bl_transcription_api, write),
        BL_REQUIRED(bl_transcription_api, close)}},
      {BL_KIND_QUEUE, "bl_queue_api", 56, sizeof(bl_queue_api),
       {BL_REQUIRED(bl_queue_api, enqueue), BL_REQUIRED(bl_queue_api, cancel_ticket),
        BL_REQUIRED(bl_queue_api, set_worker_availability), BL_REQUIRED(bl_queue_api, accept_offer),
        BL_REQUIRED(bl_queue_api, decline_offer)}},
      {BL_KIND_EVENT_SINK, "bl_event_sink_api", 16, sizeof(bl_event_sink_api),
       {BL_REQUIRED(bl_event_sink_api, deliver)}},
  };
  return specs;
}

constexpr std::size_t kDescriptorV1Size = 88;  // sizeof(bl_plugin_descriptor) in ABI 1.0

const TableSpec* spec_for(bl_plugin_kind kind) {
  for (const auto& s : table_specs()) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

// A file descriptor that closes itself.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

bool same_json_text(const char* text, const boost::json::value& expected) {
  if (text == nullptr) return false;
  boost::json::error_code ec;
  boost::json::value parsed = boost::json::parse(text, ec);
  return !ec && parsed == expected;
}

// Reads a NUL-terminated string the plugin handed over, refusing NULL and absurd lengths.
std::string plugin_string(const char* text, std::size_t max_length) {
  if (text == nullptr) return {};
  std::size_t n = ::strnlen(text, max_length + 1);
  return std::string(text, std::min(n, max_length + 1));
}

}  // namespace

void check_manifest_against_host(const Manifest& manifest, const std::filesystem::path& library,
                                 bl_plugin_kind expected_kind) {
  const std::string where = library.string();
  if (manifest.abi_major != kHostAbiMajor) {
    throw LoadError(LoadFailure::AbiMajorMismatch, manifest.id, where,
                    "built against ABI " + std::to_string(manifest.abi_major) + "." +
                        std::to_string(manifest.abi_minor) + ", this host speaks ABI " +
                        std::to_string(kHostAbiMajor) + ".x; use a plugin release built for ABI " +
                        std::to_string(kHostAbiMajor));
  }
  if (manifest.abi_minor > kHostAbiMinor) {
    throw LoadError(LoadFailure::AbiMinorTooNew, manifest.id, where,
                    "built against ABI " + std::to_string(manifest.abi_major) + "." +
                        std::to_string(manifest.abi_minor) + ", newer than this host's " +
                        std::to_string(kHostAbiMajor) + "." + std::to_string(kHostAbiMinor) +
                        "; upgrade branchlined or use a plugin built for an older minor");
  }
  if (expected_kind != 0 && manifest.kind != expected_kind) {
    throw LoadError(LoadFailure::KindMismatch, manifest.id, where,
                    "the plugin is a " + std::string(kind_name(manifest.kind)) + " plugin but the config says kind " +
                        std::string(kind_name(expected_kind)));
  }
}

PluginLibrary::~PluginLibrary() {
  library_.reset();
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// Steps 1 to 3 of loading: everything that can be checked without running the plugin's code.
// Leaves `fd` open on the verified file, so that what is loaded is what was hashed.
Manifest open_and_verify(const std::filesystem::path& path_in, bl_plugin_kind expected_kind, std::unique_ptr<Fd>& fd_out,
                         std::filesystem::path& path_out) {
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(path_in, ec);
  const std::string where = path.string();
  // Until the manifest is read, messages name the file's stem as the plugin.
  std::string id = path.stem().string();

  // 1. The file.
  path_out = path;
  fd_out = std::make_unique<Fd>(::open(where.c_str(), O_RDONLY | O_CLOEXEC));
  Fd& fd = *fd_out;
  if (fd.get() < 0) {
    throw LoadError(LoadFailure::FileMissing, id, where,
                    std::string(std::strerror(errno)) + "; check the `library` path in the config");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw LoadError(LoadFailure::FileMissing, id, where, "not a regular file");
  }

  // 2. The manifest, before any code runs.
  std::optional<Manifest> manifest;
  try {
    manifest = read_manifest_for(path);
  } catch (const std::invalid_argument& e) {
    throw LoadError(LoadFailure::ManifestInvalid, id, where, e.what());
  }
  if (!manifest) {
    throw LoadError(LoadFailure::ManifestMissing, id, where,
                    "no " + manifest_path_for(path).filename().string() +
                        " beside the library; a plugin ships its manifest with its binary");
  }
  id = manifest->id;
  if (manifest->library != path.filename().string()) {
    throw LoadError(LoadFailure::ManifestInvalid, id, where,
                    "the manifest describes \"" + manifest->library + "\", not this file");
  }
  check_manifest_against_host(*manifest, path, expected_kind);

  // 3. The bytes we are about to load are the bytes the manifest vouches for.
  std::string actual;
  try {
    actual = sha256_hex_of_fd(fd.get());
  } catch (const std::exception& e) {
    throw LoadError(LoadFailure::FileMissing, id, where, e.what());
  }
  if (actual != manifest->sha256) {
    throw LoadError(LoadFailure::HashMismatch, id, where,
                    "SHA-256 is " + actual + ", the manifest says " + manifest->sha256 +
                        "; the binary was altered or the manifest belongs to another build");
  }

  return *manifest;
}

}  // namespace

Manifest PluginLibrary::verify(const std::filesystem::path& path, bl_plugin_kind expected_kind) {
  std::unique_ptr<Fd> fd;
  std::filesystem::path absolute;
  return open_and_verify(path, expected_kind, fd, absolute);
}

std::shared_ptr<const PluginLibrary> PluginLibrary::load(const std::filesystem::path& path_in,
                                                         bl_plugin_kind expected_kind) {
  std::unique_ptr<Fd> fd_holder;
  std::filesystem::path path;
  Manifest verified = open_and_verify(path_in, expected_kind, fd_holder, path);
  const std::string where = path.string();
  std::string id = verified.id;

  // 4. Load it.
  auto self = std::shared_ptr<PluginLibrary>(new PluginLibrary());
  self->path_ = path;
  self->manifest_ = std::move(verified);
  const Manifest* manifest = &self->manifest_;
  // The loader knows an object by the name it was opened with. Keeping the descriptor open for as
  // long as the library is loaded keeps that name (/proc/self/fd/N) unique: were N closed and
  // reused for the next plugin, dlopen would hand back the first plugin's handle.
  self->fd_ = fd_holder->release();
  const std::string proc_path = "/proc/self/fd/" + std::to_string(self->fd_);
  try {
    self->library_ = std::make_unique<boost::dll::shared_library>(
        boost::dll::fs::path(proc_path), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw LoadError(LoadFailure::NotLoadable, id, where, e.what());
  }
  if (!self->library_->has(BL_PLUGIN_ENTRY_SYMBOL)) {
    throw LoadError(LoadFailure::EntryMissing, id, where,
                    "the library exports no `" BL_PLUGIN_ENTRY_SYMBOL "`; define it with BL_PLUGIN_ENTRY or "
                    "BRANCHLINE_PLUGIN");
  }
  auto entry = self->library_->get<const bl_plugin_descriptor*(std::uint16_t, std::uint16_t)>(BL_PLUGIN_ENTRY_SYMBOL);
  const bl_plugin_descriptor* raw = entry(kHostAbiMajor, kHostAbiMinor);
  if (raw == nullptr) {
    throw LoadError(LoadFailure::EntryRefused, id, where,
                    "the plugin's entry point declined this host (ABI " + std::to_string(kHostAbiMajor) + "." +
                        std::to_string(kHostAbiMinor) + ")");
  }

  // 5. The descriptor: size first, then version, then agreement with the manifest.
  if (raw->struct_size < kDescriptorV1Size || raw->struct_size > sizeof(bl_plugin_descriptor)) {
    throw LoadError(LoadFailure::DescriptorInvalid, id, where,
                    "descriptor struct_size " + std::to_string(raw->struct_size) + " is not between " +
                        std::to_string(kDescriptorV1Size) + " and " + std::to_string(sizeof(bl_plugin_descriptor)) +
                        " (what this host knows)");
  }
  std::memcpy(&self->descriptor_, raw, raw->struct_size);
  const bl_plugin_descriptor& d = self->descriptor_;
  if (d.abi_major != kHostAbiMajor || d.abi_minor > kHostAbiMinor) {
    throw LoadError(d.abi_major != kHostAbiMajor ? LoadFailure::AbiMajorMismatch : LoadFailure::AbiMinorTooNew, id,
                    where,
                    "the descriptor says ABI " + std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor) +
                        ", this host speaks " + std::to_string(kHostAbiMajor) + "." + std::to_string(kHostAbiMinor));
  }
  auto mismatch = [&](const std::string& what) {
    throw LoadError(LoadFailure::ManifestMismatch, id, where,
                    "the descriptor's " + what + " differs from the manifest's; rebuild the plugin so both agree");
  };
  if (plugin_string(d.id, 64) != manifest->id) mismatch("id (\"" + plugin_string(d.id, 64) + "\")");
  if (d.kind != manifest->kind) mismatch("kind");
  if (plugin_string(d.vendor, 128) != manifest->vendor) mismatch("vendor");
  if (plugin_string(d.version, 64) != manifest->version) mismatch("version");
  if (d.abi_major != manifest->abi_major || d.abi_minor != manifest->abi_minor) mismatch("ABI version");
  if (!same_json_text(d.settings_schema, manifest->settings_schema)) mismatch("settings schema");
  if (d.create == nullptr) {
    throw LoadError(LoadFailure::DescriptorInvalid, id, where, "required function bl_plugin_descriptor.create is NULL");
  }
  if (d.destroy == nullptr) {
    throw LoadError(LoadFailure::DescriptorInvalid, id, where, "required function bl_plugin_descriptor.destroy is NULL");
  }

  // 6. The kind's table.
  const TableSpec* spec = spec_for(d.kind);
  if (spec == nullptr) {
    throw LoadError(LoadFailure::DescriptorInvalid, id, where, "unknown kind " + std::to_string(d.kind));
  }
  static_assert(sizeof(table_storage_) >= sizeof(bl_queue_api), "table storage too small");
  if (d.kind_api == nullptr) {
    throw LoadError(LoadFailure::DescriptorInvalid, id, where, "required kind_api table is NULL");
  }
  std::uint32_t table_size = 0;
  std::memcpy(&table_size, d.kind_api, sizeof(table_size));
  if (table_size < spec->v1_size || table_size > spec->host_size) {
    throw LoadError(LoadFailure::DescriptorInvalid, id, where,
                    std::string(spec->name) + " struct_size " + std::to_string(table_size) + " is not between " +
                        std::to_string(spec->v1_size) + " and " + std::to_string(spec->host_size) +
                        " (what this host knows)");
  }
  std::memcpy(self->table_storage_, d.kind_api, table_size);
  for (const auto& [name, offset] : spec->required) {
    void* fn = nullptr;
    std::memcpy(&fn, self->table_storage_ + offset, sizeof(fn));
    if (fn == nullptr) {
      throw LoadError(LoadFailure::DescriptorInvalid, id, where, std::string("required function ") + name + " is NULL");
    }
  }
  return self;
}

}  // namespace branchline::host
