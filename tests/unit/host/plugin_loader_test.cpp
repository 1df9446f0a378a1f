// The loader refuses every broken plugin with its own failure class and one clear line, without
// crashing and without keeping a half-initialised plugin; good plugins (C and C++) load and answer.
#include "common/sha256.hpp"
#include "host/load_error.hpp"
#include "host_fixture.hpp"

#include <fstream>

namespace branchline::test {
namespace {

using host::LoadError;
using host::LoadFailure;
using host::PluginLibrary;

// Runs `load` and returns the LoadError it throws (failing the test if it throws nothing else).
template <class F>
LoadError expect_load_error(F&& load) {
  try {
    load();
  } catch (const LoadError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    EXPECT_NE(message.find("plugin '"), std::string::npos) << message;
    EXPECT_NE(message.find(std::string(host::to_string(e.failure()))), std::string::npos) << message;
    return e;
  }
  ADD_FAILURE() << "no LoadError";
  return LoadError(LoadFailure::FileMissing, "", "", "");
}

class PluginLoader : public HostFixture {};

TEST_F(PluginLoader, FileMissing) {
  auto e = expect_load_error([] { PluginLibrary::load("/nonexistent/dir/crm-x.so", BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::FileMissing);
  EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/crm-x.so"), std::string::npos);
}

TEST_F(PluginLoader, ManifestMissing) {
  std::filesystem::copy_file(plugin_path("c-crm"), data_dir_ / "c-crm.so");
  auto e = expect_load_error([&] { PluginLibrary::load(data_dir_ / "c-crm.so", BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::ManifestMissing);
}

TEST_F(PluginLoader, NotALoadableLibrary) {
  // A file that is not ELF, with an honest manifest: dlopen itself must refuse it.
  const std::string bytes = "this is not a shared library\n";
  std::ofstream(data_dir_ / "junk.so") << bytes;
  std::ofstream(data_dir_ / "junk.manifest.json")
      << R"({"manifest_version":1,"id":"junk","kind":"crm","vendor":"x","version":"1.0.0",)"
      << R"("abi":{"major":1,"minor":0},"library":"junk.so","sha256":")"
      << sha256_hex(bytes) << R"(","settings_schema":{"type":"object"}})";
  auto e = expect_load_error([&] { PluginLibrary::load(data_dir_ / "junk.so", BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::NotLoadable);
}

TEST_F(PluginLoader, EntrySymbolMissing) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("broken-no-entry"), BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::EntryMissing);
}

TEST_F(PluginLoader, AbiMajorMismatchFromManifestRunsNoCode) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("broken-abi-major"), BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::AbiMajorMismatch);
  EXPECT_NE(std::string(e.what()).find("ABI 2.0"), std::string::npos) << e.what();
}

TEST_F(PluginLoader, AbiMajorMismatchFromDescriptor) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("broken-abi-major-liar"), BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::AbiMajorMismatch);
}

TEST_F(PluginLoader, NewerMinorThanHost) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("broken-abi-minor"), BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::AbiMinorTooNew);
}

TEST_F(PluginLoader, KindDifferentFromConfig) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("c-crm"), BL_KIND_IDENTITY); });
  EXPECT_EQ(e.failure(), LoadFailure::KindMismatch);
  EXPECT_NE(std::string(e.what()).find("crm plugin"), std::string::npos) << e.what();
}

TEST_F(PluginLoader, DescriptorLargerThanHostKnows) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("broken-descriptor-size"), BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::DescriptorInvalid);
  EXPECT_NE(std::string(e.what()).find("struct_size"), std::string::npos) << e.what();
}

TEST_F(PluginLoader, NullRequiredFunction) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("broken-null-required"), BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::DescriptorInvalid);
  EXPECT_NE(std::string(e.what()).find("bl_crm_api.lookup_customer is NULL"), std::string::npos) << e.what();
}

TEST_F(PluginLoader, DescriptorDisagreesWithManifest) {
  auto e = expect_load_error([] { PluginLibrary::load(plugin_path("broken-manifest-mismatch"), BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::ManifestMismatch);
  EXPECT_NE(std::string(e.what()).find("vendor"), std::string::npos) << e.what();
}

TEST_F(PluginLoader, AlteredBinaryFailsItsHash) {
  std::filesystem::copy_file(plugin_path("c-crm"), data_dir_ / "c-crm.so");
  std::filesystem::copy_file(std::filesystem::path(TEST_PLUGIN_DIR) / "c-crm.manifest.json",
                             data_dir_ / "c-crm.manifest.json");
  std::ofstream(data_dir_ / "c-crm.so", std::ios::app) << "tampered";
  auto e = expect_load_error([&] { PluginLibrary::load(data_dir_ / "c-crm.so", BL_KIND_CRM); });
  EXPECT_EQ(e.failure(), LoadFailure::HashMismatch);
}

TEST_F(PluginLoader, InvalidSettingsSchema) {
  auto e = expect_load_error([&] { instantiate("broken-bad-schema"); });
  EXPECT_EQ(e.failure(), LoadFailure::SchemaInvalid);
}

TEST_F(PluginLoader, SettingsFailTheirSchema) {
  auto e = expect_load_error([&] { instantiate("cpp-crm", R"({"mode": "sideways"})"); });
  EXPECT_EQ(e.failure(), LoadFailure::SettingsRejected);
  EXPECT_NE(std::string(e.what()).find("settings/mode"), std::string::npos) << e.what();
  auto unknown = expect_load_error([&] { instantiate("cpp-crm", R"({"colour": "red"})"); });
  EXPECT_EQ(unknown.failure(), LoadFailure::SettingsRejected);
}

TEST_F(PluginLoader, InitReturnsAnError) {
  auto e = expect_load_error([&] { instantiate("broken-init-fails"); });
  EXPECT_EQ(e.failure(), LoadFailure::InitFailed);
  EXPECT_NE(std::string(e.what()).find("cannot reach the vendor second line"), std::string::npos) << e.what();
  // The message names the instance (it once named a moved-from, empty id).
  EXPECT_EQ(std::string(e.what()).rfind("plugin 'broken-init-fails-1' (", 0), 0u) << e.what();
  auto cpp = expect_load_error([&] { instantiate("cpp-crm", R"({"fail_on_create": true})"); });
  EXPECT_EQ(cpp.failure(), LoadFailure::InitFailed);
  EXPECT_NE(std::string(cpp.what()).find("status 10"), std::string::npos) << cpp.what();
}

TEST_F(PluginLoader, InitThrowsInCxxHelper) {
  auto e = expect_load_error([&] { instantiate("cpp-crm", R"({"throw_on_create": true})"); });
  EXPECT_EQ(e.failure(), LoadFailure::InitThrew);
  EXPECT_NE(std::string(e.what()).find("constructor exploded on purpose"), std::string::npos) << e.what();
  // The host is still fine: the same library loads and serves a healthy instance afterwards.
  auto ok = instantiate("cpp-crm");
  EXPECT_EQ(lookup(*ok, "c-1").status, BL_OK);
}

TEST_F(PluginLoader, PlainCPluginLoadsAndAnswers) {
  auto instance = instantiate("c-crm");
  EXPECT_EQ(instance->library().manifest().vendor, "Branchline tests");
  auto found = lookup(*instance, "c-100");
  ASSERT_EQ(found.status, BL_OK) << found.message;
  auto doc = boost::json::parse(found.result);
  EXPECT_EQ(doc.at("fields").at("name").as_string(), "Ada Lovelace");
  EXPECT_EQ(lookup(*instance, "c-999").status, BL_NOT_FOUND);
}

TEST_F(PluginLoader, LibraryStaysLoadedWhileAnInstanceLives) {
  std::unique_ptr<host::PluginInstance> instance;
  {
    auto library = PluginLibrary::load(plugin_path("cpp-crm"), BL_KIND_CRM);
    host::InstanceConfig config;
    config.id = "keeps-library";
    instance = host::PluginInstance::create(library, std::move(config), env_);
  }  // our reference to the library is gone; the instance's keeps it mapped
  EXPECT_EQ(lookup(*instance, "c-2").status, BL_OK);
  EXPECT_EQ(instance->health(), R"({"status":"ok","detail":"cancels=0"})");
}

}  // namespace
}  // namespace branchline::test

namespace branchline::host {
namespace {

// Libraries are dlopened by the name /proc/self/fd/N. Were N closed after loading, the next plugin
// would get the same N, and dlopen would return the first plugin's handle for the second one.
TEST(PluginLoaderNames, TwoPluginsLoadedOneAfterTheOtherStayDistinct) {
  auto first = PluginLibrary::load(test::plugin_path("c-crm"), BL_KIND_CRM);
  auto second = PluginLibrary::load(test::plugin_path("cpp-crm"), BL_KIND_CRM);
  auto third = PluginLibrary::load(test::plugin_path("broken-ok"), BL_KIND_CRM);
  EXPECT_STREQ(first->descriptor().id, "c-crm");
  EXPECT_STREQ(second->descriptor().id, "cpp-crm");
  EXPECT_STREQ(third->descriptor().id, "broken-ok");
  // Unloading one and loading another reuses nothing stale either.
  second.reset();
  auto fourth = PluginLibrary::load(test::plugin_path("cpp-crm"), BL_KIND_CRM);
  EXPECT_STREQ(fourth->descriptor().id, "cpp-crm");
}

}  // namespace
}  // namespace branchline::host
