// AccessGate's ordering promises, with a ledger whose acknowledgements the test releases by hand
// (the real ledger acknowledges too fast to show an answer leaving early): a read's answer waits
// for its entry, a change waits to start, and a failed entry turns either into 503.
#include "api/access_gate.hpp"
#include "audit/audit_sink.hpp"
#include "policy/current_policies.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace branchline::api {
namespace {

namespace json = boost::json;

// Holds every append's acknowledgement until release().
struct HeldLedger final : audit::AuditSink {
  std::vector<std::function<void(bl_status)>> waiting;
  std::vector<json::object> entries;
  void append(json::object entry, std::function<void(bl_status)> done) override {
    entries.push_back(std::move(entry));
    waiting.push_back(std::move(done));
  }
  void release(bl_status status) {
    auto all = std::move(waiting);
    waiting.clear();
    for (auto& done : all) done(status);
  }
};

class AccessGateOrder : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = std::make_shared<HeldLedger>();
    auto policies = std::make_shared<const policy::PolicySet>(policy::PolicySet::embedded_default());
    gate_ = std::make_shared<AccessGate>(nullptr, policies, ledger_, AccessOptions{});
    advisor_.issuer = "https://idp.example";
    advisor_.subject = "advisor-1";
    advisor_.roles = {"advisor"};
    advisor_.claims = json::object{{"region", "north"}};
    request_.request_id = "req-1";
  }
  Question read() const {
    Question q;
    q.action = "crm.customer.read";
    q.resource = {"Customer", "c-1"};
    q.entities.add({q.resource, {{"region", policy::Value(std::string("north"))}}, {}});
    q.durable = true;
    q.read_only = true;
    q.field_groups = true;
    return q;
  }

  // A transfer by an advisor who has just met its step-up: a change.
  Question transfer() {
    advisor_.acr = "urn:branchline:loa:2";
    advisor_.auth_time = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count() - 10;
    Question q = read();
    q.action = "core.operation.transfer";
    q.read_only = false;
    q.field_groups = false;
    return q;
  }

  std::shared_ptr<HeldLedger> ledger_;
  std::shared_ptr<AccessGate> gate_;
  Principal advisor_;
  HttpRequest request_;
  std::vector<int> answers_;
  Respond respond_ = [this](HttpResponse r) { answers_.push_back(r.status); };
};

TEST_F(AccessGateOrder, AReadStartsAtOnceButItsAnswerWaitsForTheEntryWhicheverComesFirst) {
  // The read finishes before the ledger: held, then released.
  gate_->authorize(request_, advisor_, read(), respond_, [](Verdict v) {
    EXPECT_EQ(v.field_groups, (std::vector<std::string>{"contact", "identity", "relationship"}));
    v.answer(HttpResponse::json(200, json::object{}));
  });
  EXPECT_TRUE(answers_.empty());
  ASSERT_EQ(ledger_->entries.size(), 1u);
  EXPECT_EQ(ledger_->entries[0].at("decision").at("field_groups").as_array().size(), 4u);
  ledger_->release(BL_OK);
  EXPECT_EQ(answers_, std::vector<int>{200});

  // The ledger first, the read after: answered when the read is.
  answers_.clear();
  Respond later;
  gate_->authorize(request_, advisor_, read(), respond_, [&later](Verdict v) { later = v.answer; });
  ledger_->release(BL_OK);
  EXPECT_TRUE(answers_.empty());
  later(HttpResponse::json(200, json::object{}));
  EXPECT_EQ(answers_, std::vector<int>{200});
}

TEST_F(AccessGateOrder, AFailedEntryTurnsAReadInto503AndDropsItsAnswer) {
  gate_->authorize(request_, advisor_, read(), respond_,
                   [](Verdict v) { v.answer(HttpResponse::json(200, json::object{{"name", "Ada"}})); });
  ledger_->release(BL_UNAVAILABLE);
  EXPECT_EQ(answers_, std::vector<int>{503});
  Respond later;
  gate_->authorize(request_, advisor_, read(), respond_, [&later](Verdict v) { later = v.answer; });
  ledger_->release(BL_UNAVAILABLE);
  later(HttpResponse::json(200, json::object{{"name", "Ada"}}));  // too late: dropped
  EXPECT_EQ(answers_, (std::vector<int>{503, 503}));
}

TEST_F(AccessGateOrder, AChangeStartsOnlyOnceItsEntryIsDurable) {
  Question q = transfer();
  bool started = false;
  gate_->authorize(request_, advisor_, q, respond_, [&started](Verdict) { started = true; });
  EXPECT_FALSE(started);
  ledger_->release(BL_OK);
  EXPECT_TRUE(started);
  started = false;
  gate_->authorize(request_, advisor_, q, respond_, [&started](Verdict) { started = true; });
  ledger_->release(BL_UNAVAILABLE);
  EXPECT_FALSE(started);
  EXPECT_EQ(answers_, std::vector<int>{503});
}

TEST_F(AccessGateOrder, AChangeWhoseRequestTimedOutWhileItsEntryWasWrittenDoesNotStart) {
  Question q = transfer();
  auto answered = std::make_shared<std::atomic<bool>>(false);
  request_.answered = answered;
  bool started = false;
  gate_->authorize(request_, advisor_, q, respond_, [&started](Verdict) { started = true; });
  *answered = true;  // the server's 503 at request_timeout, while the ledger still writes
  ledger_->release(BL_OK);
  EXPECT_FALSE(started);
  EXPECT_TRUE(answers_.empty());  // and nothing more is sent: the client has its 503
}

TEST_F(AccessGateOrder, AStepUpRuleOnFieldGroupsDeniesEveryGroupUntilItIsMet) {
  auto policies = std::make_shared<const policy::PolicySet>(policy::PolicySet::load_text(
      std::string(policy::PolicySet::embedded_default_text()) +
          "  - id: profiles-need-mfa\n    actions: [crm.field_group.read]\n    acr: [urn:branchline:loa:2]\n",
      "mfa-profiles.yaml"));
  gate_ = std::make_shared<AccessGate>(nullptr, policies, ledger_, AccessOptions{});
  std::vector<std::string> groups{"unset"};
  gate_->authorize(request_, advisor_, read(), respond_, [&groups](Verdict v) { groups = v.field_groups; });
  ledger_->release(BL_OK);
  EXPECT_TRUE(groups.empty());  // the customer is readable, no group is
  const json::object& identity = ledger_->entries.back().at("decision").at("field_groups").at(1).as_object();
  EXPECT_EQ(identity.at("result"), "deny");
  EXPECT_EQ(identity.at("rules"), json::array{"profiles-need-mfa"});
  advisor_.acr = "urn:branchline:loa:2";
  gate_->authorize(request_, advisor_, read(), respond_, [&groups](Verdict v) { groups = v.field_groups; });
  ledger_->release(BL_OK);
  EXPECT_EQ(groups.size(), 3u);
}

TEST_F(AccessGateOrder, AReloadedPolicySetDecidesTheNextQuestionAndItsHashIsRecorded) {
  auto before = std::make_shared<const policy::PolicySet>(policy::PolicySet::embedded_default());
  auto current = std::make_shared<policy::CurrentPolicies>(before);
  gate_ = std::make_shared<AccessGate>(nullptr, current, ledger_, AccessOptions{});
  bool allowed = false;
  gate_->authorize(request_, advisor_, read(), respond_, [&allowed](Verdict v) { allowed = v.decision.allow; });
  ledger_->release(BL_OK);
  EXPECT_TRUE(allowed);
  EXPECT_EQ(ledger_->entries.back().at("decision").at("policy_hash"), before->hash().c_str());

  // The bank freezes profile reads: the next question is decided by the new set.
  std::string text(policy::PolicySet::embedded_default_text());
  const std::string step_up = "\n# Money movement";
  ASSERT_NE(text.find(step_up), std::string::npos);
  text.insert(text.find(step_up), "  - id: profiles-frozen\n    effect: forbid\n    actions: [crm.customer.read]\n");
  auto after = std::make_shared<const policy::PolicySet>(policy::PolicySet::load_text(text, "frozen.yaml"));
  ASSERT_NE(after->hash(), before->hash());
  EXPECT_EQ(current->replace(after), before);
  EXPECT_EQ(gate_->policies(), after);
  gate_->authorize(request_, advisor_, read(), respond_, [](Verdict) { ADD_FAILURE() << "a denied read went ahead"; });
  ledger_->release(BL_OK);
  EXPECT_EQ(answers_, std::vector<int>{403});
  const json::object& decision = ledger_->entries.back().at("decision").as_object();
  EXPECT_EQ(decision.at("policy_hash"), after->hash().c_str());
  EXPECT_EQ(decision.at("rules"), json::array{"profiles-frozen"});
}

}  // namespace
}  // namespace branchline::api
