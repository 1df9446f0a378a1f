// reload_policies: the new set applies only once its entry is recorded; a file that does not
// load, or a ledger that cannot take the entry, leaves the set in force.
#include "policy/policy_reload.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <unistd.h>

namespace branchline::policy {
namespace {

namespace json = boost::json;

class PolicyReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("branchline-policy-reload-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    file_ = dir_ / "policy.yaml";
    write(std::string(PolicySet::embedded_default_text()));
    current_ = std::make_shared<CurrentPolicies>(std::make_shared<const PolicySet>(PolicySet::load(file_)));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& text) { std::ofstream(file_) << text; }
  // The default policy with one more rule: another hash.
  static std::string frozen() {
    std::string text(PolicySet::embedded_default_text());
    text.insert(text.find("\n# Money movement"), "  - id: profiles-frozen\n    effect: forbid\n    actions: [crm.customer.read]\n");
    return text;
  }
  RecordReload recorder(bool durable) {
    return [this, durable](json::object resource, std::string outcome, json::object fields) {
      fields["outcome"] = outcome;
      fields["resource"] = std::move(resource);
      recorded_.push_back(std::move(fields));
      return durable;
    };
  }

  std::filesystem::path dir_, file_;
  std::shared_ptr<CurrentPolicies> current_;
  std::vector<json::object> recorded_;
};

TEST_F(PolicyReload, ANewFileAppliesOnceItsEntryIsRecordedWithBothHashes) {
  auto before = current_->get();
  write(frozen());
  EXPECT_TRUE(reload_policies(*current_, file_, recorder(true)));
  ASSERT_EQ(recorded_.size(), 1u);
  EXPECT_EQ(recorded_[0].at("outcome"), "success");
  EXPECT_EQ(recorded_[0].at("previous_hash"), before->hash().c_str());
  EXPECT_EQ(recorded_[0].at("hash"), current_->get()->hash().c_str());
  EXPECT_NE(current_->get()->hash(), before->hash());
  EXPECT_EQ(recorded_[0].at("resource"), (json::object{{"type", "policy_set"}, {"id", file_.string()}}));
}

TEST_F(PolicyReload, WhenTheLedgerCannotTakeTheEntryThePolicyInForceStays) {
  auto before = current_->get();
  write(frozen());
  EXPECT_FALSE(reload_policies(*current_, file_, recorder(false)));
  ASSERT_EQ(recorded_.size(), 1u);  // it was asked, and said no
  EXPECT_EQ(current_->get(), before);
}

TEST_F(PolicyReload, AFileThatDoesNotLoadIsRecordedAsAFailureAndThePolicyInForceStays) {
  auto before = current_->get();
  write("branchline_policy: 1\npolicies:\n  - {id: p, effect: permit, when: \"principal.x ==\"}\n");
  testing::internal::CaptureStderr();
  EXPECT_FALSE(reload_policies(*current_, file_, recorder(true)));
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find(file_.string() + ":3:50:"), std::string::npos) << log;
  ASSERT_EQ(recorded_.size(), 1u);
  EXPECT_EQ(recorded_[0].at("outcome"), "failure");
  EXPECT_EQ(recorded_[0].at("previous_hash"), before->hash().c_str());
  EXPECT_FALSE(recorded_[0].contains("hash"));
  EXPECT_EQ(current_->get(), before);
}

TEST_F(PolicyReload, AFileRemovedSinceTheStartIsAFailureAndThePolicyInForceStays) {
  auto before = current_->get();
  std::filesystem::remove(file_);
  testing::internal::CaptureStderr();
  EXPECT_FALSE(reload_policies(*current_, file_, recorder(true)));
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find(file_.string()), std::string::npos) << log;
  ASSERT_EQ(recorded_.size(), 1u);
  EXPECT_EQ(recorded_[0].at("outcome"), "failure");
  EXPECT_EQ(current_->get(), before);
}

TEST_F(PolicyReload, WithoutAFileTheBuiltInPolicyIsLoadedAgain) {
  CurrentPolicies built_in(std::make_shared<const PolicySet>(PolicySet::embedded_default()));
  auto before = built_in.get();
  EXPECT_TRUE(reload_policies(built_in, {}, recorder(true)));
  EXPECT_EQ(recorded_.at(0).at("resource").at("id"), "built-in");
  EXPECT_EQ(recorded_.at(0).at("hash"), recorded_.at(0).at("previous_hash"));
  EXPECT_EQ(built_in.get()->hash(), before->hash());
}

}  // namespace
}  // namespace branchline::policy
