// A plugin built out of tree against the installed SDK (tests/sdk/out_of_tree.sh) loads into the
// host and answers calls.
#include "../unit/host/host_fixture.hpp"

#include <gtest/gtest.h>

namespace branchline::test {
namespace {

using SdkOutOfTree = HostFixture;

TEST_F(SdkOutOfTree, PluginBuiltAgainstTheInstalledSdkLoadsAndAnswers) {
  auto library = host::PluginLibrary::load(OUT_OF_TREE_PLUGIN, BL_KIND_CRM);
  EXPECT_EQ(library->manifest().vendor, "Example Vendor");
  EXPECT_EQ(library->manifest().abi_major, 1);
  host::InstanceConfig config;
  config.id = "hello";
  config.settings = boost::json::parse(R"({"greeting":"Bonjour"})");
  auto crm = host::PluginInstance::create(library, std::move(config), env_);
  host::CallResult found = lookup(*crm, "c-1");
  EXPECT_EQ(found.status, BL_OK);
  EXPECT_EQ(found.result, R"({"customer_id":"c-1","fields":{"name":"Bonjour, Ada"}})");
  EXPECT_EQ(lookup(*crm, "c-2").status, BL_NOT_FOUND);
}

}  // namespace
}  // namespace branchline::test
