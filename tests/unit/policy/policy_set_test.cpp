// The policy set: loading with file:line:col diagnostics, Cedar's decision rules, field groups,
// step-up rules, the Cedar export and the hash; and the shipped default policy's personas.
#include "policy/policy_set.hpp"

#include <gtest/gtest.h>

namespace branchline::policy {
namespace {

std::string load_error(std::string_view yaml) {
  try {
    PolicySet::load_text(yaml, "p.yaml");
  } catch (const config::ConfigError& e) {
    std::string out;
    for (const config::Diagnostic& d : e.diagnostics()) out += d.to_string() + "\n";
    return out;
  }
  return "loaded";
}

EntityUid user(const std::string& id) { return {"User", id}; }

struct People {
  Entities entities;

  void person(const std::string& id, std::vector<std::string> roles, Record attrs = {}) {
    Entity e{user(id), std::move(attrs), {}};
    for (std::string& r : roles) e.parents.push_back({"Role", std::move(r)});
    entities.add(std::move(e));
  }
  void customer(const std::string& id, const std::string& region) {
    entities.add(Entity{{"Customer", id}, Record{{"region", Value(region)}}, {}});
  }
  Decision decide(const PolicySet& set, const std::string& who, const std::string& action, EntityUid resource,
                  Record context = {}) const {
    return set.decide(Request{user(who), {"Action", action}, std::move(resource), std::move(context)}, entities);
  }
};

using Reasons = std::vector<std::string>;

TEST(PolicySet, TheDefaultPolicyGivesEachPersonaWhatTheirJobNeeds) {
  PolicySet set = PolicySet::embedded_default();
  People p;
  p.person("ann", {"advisor"}, Record{{"region", Value("east")}});
  p.person("sam", {"supervisor", "advisor"}, Record{{"region", Value("east")}});
  p.person("aud", {"auditor"});
  p.person("ops", {"operator"});
  p.person("cus", {"customer"}, Record{{"customer", Value(EntityUid{"Customer", "c-1"})}});
  p.customer("c-1", "east");
  p.customer("c-2", "west");

  Decision d = p.decide(set, "ann", "crm.customer.read", {"Customer", "c-1"});
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.reasons, Reasons{"advisors-serve-customers-of-their-region"});
  d = p.decide(set, "ann", "crm.customer.read", {"Customer", "c-2"});
  EXPECT_FALSE(d.allow);
  EXPECT_TRUE(d.reasons.empty());  // denied by default: no rule allowed it

  EXPECT_TRUE(p.decide(set, "ann", kFieldGroupReadAction, {"FieldGroup", "contact"}).allow);
  EXPECT_FALSE(p.decide(set, "ann", kFieldGroupReadAction, {"FieldGroup", "references"}).allow);
  EXPECT_TRUE(p.decide(set, "sam", kFieldGroupReadAction, {"FieldGroup", "references"}).allow);

  EXPECT_TRUE(p.decide(set, "aud", "audit.ledger.query", {"AuditLedger", "ledger"}).allow);
  EXPECT_FALSE(p.decide(set, "ann", "audit.ledger.query", {"AuditLedger", "ledger"}).allow);
  d = p.decide(set, "aud", "core.operation.transfer", {"Customer", "c-1"});
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reasons, Reasons{"auditors-never-act-on-accounts"});
  EXPECT_TRUE(p.decide(set, "ops", "host.status.read", {"Host", "dev-node-1"}).allow);
  EXPECT_FALSE(p.decide(set, "ops", "crm.customer.read", {"Customer", "c-1"}).allow);

  EXPECT_TRUE(p.decide(set, "cus", "core.accounts.read", {"Customer", "c-1"}).allow);
  EXPECT_FALSE(p.decide(set, "cus", "core.accounts.read", {"Customer", "c-2"}).allow);
  Record own{{"customer", Value(EntityUid{"Customer", "c-1"})}};
  EXPECT_TRUE(p.decide(set, "cus", kFieldGroupReadAction, {"FieldGroup", "identity"}, own).allow);
  Record other{{"customer", Value(EntityUid{"Customer", "c-2"})}};
  EXPECT_FALSE(p.decide(set, "cus", kFieldGroupReadAction, {"FieldGroup", "identity"}, other).allow);
  EXPECT_TRUE(p.decide(set, "cus", "session.me.read", {"User", "cus"}).allow);
}

constexpr std::string_view kRules = R"(branchline_policy: 1
policies:
  - id: permit-staff
    effect: permit
    principal: {roles: [advisor, supervisor]}
    actions: [crm.customer.read]
  - id: forbid-night
    effect: forbid
    actions: [crm.customer.read]
    when: context.hour < 6
  - id: permit-by-error
    effect: permit
    actions: [crm.customer.read]
    when: context.missing == 1
)";

TEST(PolicySet, AnyMatchingForbidWinsAndEveryDeciderIsNamed) {
  PolicySet set = PolicySet::load_text(kRules, "rules.yaml");
  People p;
  p.person("a", {"advisor"});
  p.person("s", {"supervisor"});
  p.person("x", {"teller"});
  Decision d = p.decide(set, "a", "crm.customer.read", {"Customer", "c"}, Record{{"hour", Value(10)}});
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.reasons, Reasons{"permit-staff"});
  // The erroring policy is reported and counts as not satisfied.
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].policy_id, "permit-by-error");
  EXPECT_NE(d.errors[0].message.find("missing"), std::string::npos);

  EXPECT_TRUE(p.decide(set, "s", "crm.customer.read", {"Customer", "c"}, Record{{"hour", Value(10)}}).allow);
  EXPECT_FALSE(p.decide(set, "x", "crm.customer.read", {"Customer", "c"}, Record{{"hour", Value(10)}}).allow);
  d = p.decide(set, "a", "crm.customer.read", {"Customer", "c"}, Record{{"hour", Value(3)}});
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reasons, Reasons{"forbid-night"});
  // A forbid whose condition errors does not deny (Cedar); the error is in the decision.
  d = p.decide(set, "a", "crm.customer.read", {"Customer", "c"}, Record{{"hour", Value("three")}});
  EXPECT_TRUE(d.allow);
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_EQ(d.errors[0].policy_id, "forbid-night");
}

TEST(PolicySet, TheCedarExportSaysTheSameRulesInCedarSyntax) {
  PolicySet set = PolicySet::load_text(R"(branchline_policy: 1
policies:
  - id: staff-see-groups
    description: Staff see "working" groups
    effect: permit
    principal: {type: User, roles: [advisor, supervisor]}
    actions: [crm.field_group.read]
    resource: {type: FieldGroup, ids: [contact, identity]}
    unless: context.break_glass
  - id: one
    effect: forbid
    principal: {roles: [auditor]}
    actions: [a.b.c, d.e.f]
    resource: {type: Customer, ids: [c-1]}
)", "x.yaml");
  EXPECT_EQ(set.policies()[0].to_cedar(), R"(@id("staff-see-groups")
@description("Staff see \"working\" groups")
permit (
  principal is User,
  action in [Action::"crm.field_group.read"],
  resource is FieldGroup
)
when { principal in [Role::"advisor", Role::"supervisor"] }
when { [FieldGroup::"contact", FieldGroup::"identity"].contains(resource) }
unless {
  context.break_glass
};
)");
  EXPECT_EQ(set.policies()[1].to_cedar(), R"(@id("one")
forbid (
  principal in Role::"auditor",
  action in [Action::"a.b.c", Action::"d.e.f"],
  resource == Customer::"c-1"
);
)");
}

TEST(PolicySet, TheHashNamesTheRulesNotTheFile) {
  std::string text(kRules);
  std::string h1 = PolicySet::load_text(text, "a.yaml").hash();
  EXPECT_EQ(h1.size(), 64u);
  EXPECT_EQ(PolicySet::load_text("# a comment\n" + text, "b.yaml").hash(), h1);
  std::string changed = text;
  changed.replace(changed.find("hour < 6"), 8, "hour < 7");
  EXPECT_NE(PolicySet::load_text(changed, "a.yaml").hash(), h1);
}

TEST(PolicySet, StepUpDemandsTheConfiguredAcrAmrAndARecentSignIn) {
  PolicySet set = PolicySet::load_text(R"(branchline_policy: 1
policies: []
step_up:
  - id: money
    actions: [core.operation.transfer]
    acr: [urn:loa:2, urn:loa:3]
    max_age_s: 300
  - id: hardware
    actions: [core.operation.wire]
    amr: [hwk]
)", "s.yaml");
  const std::int64_t now = 1'800'000'000;
  Authentication strong{"urn:loa:2", {"pwd", "otp"}, now - 60};
  EXPECT_FALSE(set.step_up_needed("core.operation.transfer", strong, now));
  EXPECT_FALSE(set.step_up_needed("crm.customer.read", Authentication{}, now));

  auto c = set.step_up_needed("core.operation.transfer", Authentication{"urn:loa:1", {"pwd"}, now}, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->rule_id, "money");
  EXPECT_EQ(c->reason, "acr");
  EXPECT_EQ(c->acr_values, (std::vector<std::string>{"urn:loa:2", "urn:loa:3"}));
  EXPECT_EQ(c->max_age_s, 300);

  c = set.step_up_needed("core.operation.transfer", Authentication{"urn:loa:3", {}, now - 301}, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reason, "too old");
  c = set.step_up_needed("core.operation.transfer", Authentication{"urn:loa:3", {}, std::nullopt}, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reason, "auth_time missing");
  c = set.step_up_needed("core.operation.transfer", Authentication{"urn:loa:3", {}, now + 3600}, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reason, "auth_time in the future");
  c = set.step_up_needed("core.operation.transfer", Authentication{"urn:loa:3", {}, INT64_MIN}, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reason, "too old");
  EXPECT_FALSE(set.step_up_needed("core.operation.transfer", Authentication{"urn:loa:3", {}, now + 30}, now));

  c = set.step_up_needed("core.operation.wire", strong, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reason, "amr");
  EXPECT_FALSE(set.step_up_needed("core.operation.wire", Authentication{"", {"hwk"}, std::nullopt}, now));
}

TEST(PolicySet, FieldGroupsMapEachFieldToOneGroup) {
  PolicySet set = PolicySet::embedded_default();
  EXPECT_EQ(set.group_of_field("email"), "contact");
  EXPECT_EQ(set.group_of_field("external_ref"), "references");
  EXPECT_EQ(set.group_of_field("ssn"), "");
  EXPECT_EQ(load_error(R"(branchline_policy: 1
field_groups:
  contact: [email, phone]
  identity: [name, email]
policies: []
)"),
            "p.yaml:4:20: field 'email' is already in group 'contact'; fix: put each field in one group only\n");
}

TEST(PolicySet, ConditionErrorsPointAtTheirLineAndColumnWhateverTheQuoting) {
  EXPECT_EQ(load_error(R"(branchline_policy: 1
policies:
  - id: plain
    effect: permit
    when: principal.region = "east"
)"),
            "p.yaml:5:28: 'when' of policy 'plain': '=' is not an operator; write '=='; fix: write a Cedar expression; see "
            "docs/policy.md#conditions\n");
  EXPECT_EQ(load_error(R"(branchline_policy: 1
policies:
  - id: quoted
    effect: permit
    unless: "context.level >> 2"
)"),
            "p.yaml:5:29: 'unless' of policy 'quoted': unexpected '>'; fix: write a Cedar expression; see "
            "docs/policy.md#conditions\n");
  EXPECT_EQ(load_error(R"(branchline_policy: 1
policies:
  - id: block
    effect: permit
    when: |
      principal has region &&
      principal.region == east
)"),
            "p.yaml:7:27: 'when' of policy 'block': unknown variable 'east' (use principal, action, resource or "
            "context; an entity is Type::\"id\"); fix: write a Cedar expression; see docs/policy.md#conditions\n");
}

TEST(PolicySet, SchemaAndRuleProblemsAreReportedTogetherWithTheirFix) {
  std::string out = load_error(R"(branchline_policy: 1
policies:
  - id: Bad Id
    effect: allow
)");
  EXPECT_NE(out.find("p.yaml:3:9:"), std::string::npos) << out;
  EXPECT_NE(out.find("fix: write an id of lower-case letters"), std::string::npos) << out;
  EXPECT_NE(out.find("p.yaml:4:13:"), std::string::npos) << out;
  EXPECT_NE(out.find("fix: use one of: permit, forbid"), std::string::npos) << out;

  out = load_error(R"(branchline_policy: 1
policies:
  - id: twice
    effect: permit
    resource: {ids: [c-1]}
  - id: twice
    effect: permit
)");
  EXPECT_NE(out.find("p.yaml:5:15: resource ids need the resource's type"), std::string::npos) << out;
  EXPECT_NE(out.find("p.yaml:6:9: policy id 'twice' is used twice"), std::string::npos) << out;
  EXPECT_NE(load_error("branchline_policy: 2\npolicies: []\n").find("p.yaml:1:20:"), std::string::npos);
  EXPECT_NE(load_error("policies: []\n").find("branchline_policy"), std::string::npos);
}

}  // namespace
}  // namespace branchline::policy
