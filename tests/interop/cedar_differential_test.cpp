// Differential test of core/policy against AWS Cedar itself (@cedar-policy/cedar-wasm, run by
// Node.js): random policy files, entities and requests go through both, and every decision, every
// set of deciding policies and every set of policies that failed to evaluate must agree.
//
// The generator writes policy files in Branchline's YAML (so the loader and the Cedar export are
// tested too) with conditions drawn from the whole supported language: well-typed expressions
// mostly, and on purpose some ill-typed ones, missing attributes, unknown entities and integer
// overflows, which Cedar reports as errors that make a policy not apply.
//
// Environment: CEDAR_DIFF_CASES (policy sets; default 1500, 12 requests each), CEDAR_DIFF_SEED.
#include "policy/policy_set.hpp"
#include "../support/test_node.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace json = boost::json;
namespace fs = std::filesystem;

namespace branchline::policy {
namespace {

// Cedar's grammar levels, loosest to tightest, so that the generator adds only the parentheses a
// person would: an operand looser than its place requires is wrapped.
enum Level { kIf = 0, kOr, kAnd, kRelation, kAdd, kMult, kUnary, kMember };

struct Text {
  std::string s;
  Level level;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }
  template <class T>
  const T& one_of(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(pick(static_cast<int>(items.size())))];
  }

  static std::string at(const Text& t, Level needed) { return t.level < needed ? "(" + t.s + ")" : t.s; }

  // ---- typed expression generators; `d` is the depth budget ----

  Text boolean(int d) {
    if (d <= 0 || chance(10)) {
      switch (pick(4)) {
        case 0: return {chance(50) ? "true" : "false", kMember};
        case 1: return {"context.flag", kMember};
        case 2: return {"resource.vip", kMember};
        default: return {"principal.active", kMember};
      }
    }
    if (chance(4)) return any(d - 1);  // ill-typed on purpose: a non-bool where a bool must be
    switch (pick(17)) {
      case 0: return binary(integer(d - 1), one_of<std::string>({"<", "<=", ">", ">=", "==", "!="}), integer(d - 1));
      case 1: return binary(text(d - 1), one_of<std::string>({"==", "!="}), text(d - 1));
      case 2: return {at(text(d - 1), kAdd) + " like " + pattern(), kRelation};
      case 3: return binary(entity(d - 1), "in", entity(d - 1));
      case 4: return binary(entity(d - 1), "in", entity_set(d - 1));
      case 5: {
        std::string s = at(entity(d - 1), kAdd) + " is " + one_of<std::string>({"User", "Customer", "Role", "FieldGroup"});
        if (chance(40)) s += " in " + at(entity(d - 1), kAdd);
        return {s, kRelation};
      }
      case 6: {
        std::string attr = one_of<std::string>({"region", "level", "customer", "tier", "vip", "hour", "acr", "nested",
                                                "missing", "roles", "active"});
        std::string target = at(one_of<Text>({{"principal", kMember}, {"resource", kMember}, {"context", kMember},
                                              {"User::\"u9\"", kMember}, {"context.nested", kMember}}),
                                kAdd);
        return {target + " has " + (chance(30) ? "\"" + attr + "\"" : attr), kRelation};
      }
      case 7: return {at(set(d - 1), kMember) + ".contains(" + any(d - 1).s + ")", kMember};
      case 8:
        return {at(set(d - 1), kMember) + (chance(50) ? ".containsAll(" : ".containsAny(") + set(d - 1).s + ")", kMember};
      case 9: return {at(set(d - 1), kMember) + ".isEmpty()", kMember};
      case 10: return binary(boolean(d - 1), "&&", boolean(d - 1));
      case 11: return binary(boolean(d - 1), "||", boolean(d - 1));
      case 12: return {"!" + at(boolean(d - 1), kMember), kUnary};
      case 13: return {"if " + boolean(d - 1).s + " then " + boolean(d - 1).s + " else " + boolean(d - 1).s, kIf};
      case 14: return binary(any(d - 1), one_of<std::string>({"==", "!="}), any(d - 1));
      case 15: return {"context.nested.flag", kMember};
      default: return binary(entity(d - 1), "==", entity(d - 1));
    }
  }

  Text integer(int d) {
    if (d <= 0 || chance(25)) {
      switch (pick(8)) {
        case 0: return {std::to_string(pick(12)), kMember};
        case 1: return {"-" + std::to_string(1 + pick(5)), kUnary};
        case 2: return {"9223372036854775807", kMember};
        case 3: return {"-9223372036854775808", kUnary};
        case 4: return {"principal.level", kMember};
        case 5: return {"context.hour", kMember};
        case 6: return {"resource.tier", kMember};
        default: return {"context[\"nested\"].x", kMember};
      }
    }
    if (chance(4)) return any(d - 1);
    switch (pick(6)) {
      case 0: return {at(integer(d - 1), kAdd) + " + " + at(integer(d - 1), kMult), kAdd};
      case 1: return {at(integer(d - 1), kAdd) + " - " + at(integer(d - 1), kMult), kAdd};
      case 2: return {at(integer(d - 1), kMult) + " * " + at(integer(d - 1), kUnary), kMult};
      case 3: return {"-" + at(integer(d - 1), kMember), kUnary};
      case 4: return {"if " + boolean(d - 1).s + " then " + integer(d - 1).s + " else " + integer(d - 1).s, kIf};
      default: return {"{x: " + integer(d - 1).s + ", y: 1}.x", kMember};
    }
  }

  Text text(int d) {
    if (d <= 0 || chance(60)) {
      switch (pick(7)) {
        case 0: return {one_of<std::string>({"\"east\"", "\"west\"", "\"\"", "\"ea*st\"", "\"a\\\"b\"", "\"\\u{e9}t\\u{e9}\"",
                                             "\"t\\tab\""}),
                        kMember};
        case 1: return {"principal.region", kMember};
        case 2: return {"resource.region", kMember};
        case 3: return {"context.acr", kMember};
        case 4: return {"context[\"acr\"]", kMember};
        case 5: return {"principal[\"region\"]", kMember};
        default: return {"\"urn:loa:2\"", kMember};
      }
    }
    if (chance(6)) return any(d - 1);
    return {"if " + boolean(d - 1).s + " then " + text(d - 1).s + " else " + text(d - 1).s, kIf};
  }

  std::string pattern() {
    return one_of<std::string>({"\"*\"", "\"ea*\"", "\"*st\"", "\"e*s*t\"", "\"urn:*:2\"", "\"\"", "\"ea\\*st\"",
                                "\"**\"", "\"west\"", "\"*\\u{e9}*\""});
  }

  Text entity(int d) {
    if (d <= 0 || chance(70)) {
      return {one_of<std::string>({"principal", "resource", "action", "Customer::\"c0\"", "Customer::\"c9\"",
                                   "User::\"u1\"", "Role::\"advisor\"", "Role::\"staff\"", "context.customer",
                                   "principal.customer", "Action::\"crm.customer.read\"", "FieldGroup::\"contact\""}),
              kMember};
    }
    if (chance(6)) return any(d - 1);
    return {"if " + boolean(d - 1).s + " then " + entity(d - 1).s + " else " + entity(d - 1).s, kIf};
  }

  Text entity_set(int d) {
    std::string s = "[";
    int n = pick(4);
    for (int i = 0; i < n; ++i) s += (i ? ", " : "") + entity(d - 1).s;
    if (chance(5)) s += std::string(n ? ", " : "") + "1";  // a non-entity: a type error for `in`
    return {s + "]", kMember};
  }

  Text set(int d) {
    if (d <= 0 || chance(50)) {
      switch (pick(5)) {
        case 0: return {"principal.roles", kMember};
        case 1: return {"context.amr", kMember};
        case 2: return {"[\"pwd\", \"otp\"]", kMember};
        case 3: return {"[]", kMember};
        default: return {"[1, 2, 3]", kMember};
      }
    }
    if (chance(6)) return any(d - 1);
    std::string s = "[";
    int n = pick(4);
    for (int i = 0; i < n; ++i) s += (i ? ", " : "") + any(d - 1).s;
    return {s + "]", kMember};
  }

  Text any(int d) {
    switch (pick(6)) {
      case 0: return boolean(d);
      case 1: return integer(d);
      case 2: return text(d);
      case 3: return entity(d);
      case 4: return set(d);
      default: return {one_of<std::string>({"context.nested", "{x: 1, y: 1}", "{}", "context"}), kMember};
    }
  }

  Text binary(const Text& a, const std::string& op, const Text& b) {
    Level level = op == "||" ? kOr : op == "&&" ? kAnd : kRelation;
    Level operand = op == "||" ? kAnd : op == "&&" ? kRelation : kAdd;
    return {at(a, operand) + " " + op + " " + at(b, operand), level};
  }

  // ---- a policy file, entities and requests ----

  std::string policy_file() {
    std::string y = "branchline_policy: 1\npolicies:\n";
    int n = 1 + pick(6);
    for (int i = 0; i < n; ++i) {
      y += "  - id: p" + std::to_string(i) + "\n";
      y += std::string("    effect: ") + (chance(35) ? "forbid" : "permit") + "\n";
      if (chance(60)) {
        y += "    principal: {";
        bool typed = chance(40);
        if (typed) y += "type: " + one_of<std::string>({"User", "Customer"});
        if (!typed || chance(50)) {
          y += std::string(typed ? ", " : "") + "roles: [";
          int roles = 1 + pick(2);
          std::vector<std::string> names = {"advisor", "auditor", "staff"};
          std::shuffle(names.begin(), names.end(), rng_);
          for (int r = 0; r < roles; ++r) y += (r ? ", " : "") + names[static_cast<std::size_t>(r)];
          y += "]";
        }
        y += "}\n";
      }
      if (chance(70)) {
        std::vector<std::string> actions = kActions;
        std::shuffle(actions.begin(), actions.end(), rng_);
        int count = 1 + pick(3);
        y += "    actions: [";
        for (int a = 0; a < count; ++a) y += (a ? ", " : "") + actions[static_cast<std::size_t>(a)];
        y += "]\n";
      }
      if (chance(50)) {
        if (chance(50)) {
          y += "    resource: {type: " + one_of<std::string>({"Customer", "FieldGroup"}) + "}\n";
        } else if (chance(50)) {
          y += "    resource: {type: Customer, ids: [" + one_of<std::string>({"c0", "c1", "c0, c2", "c1, c9"}) + "]}\n";
        } else {
          y += "    resource: {type: FieldGroup, ids: [" + one_of<std::string>({"contact", "contact, identity"}) + "]}\n";
        }
      }
      // YAML holds one `when` and one `unless` at most; a block scalar keeps Cedar's quotes and
      // backslashes as they are.
      int conditions = pick(3);
      bool first_when = chance(70);
      for (int c = 0; c < conditions; ++c) {
        bool when = c == 0 ? first_when : !first_when;
        y += std::string("    ") + (when ? "when" : "unless") + ": |-\n      " + boolean(1 + pick(4)).s + "\n";
      }
    }
    return y;
  }

  json::array entities() {
    json::array out;
    std::vector<std::string> regions = {"east", "west", "\u00e9t\u00e9"};
    for (int u = 0; u < 4; ++u) {
      json::object attrs;
      if (chance(85)) attrs["region"] = one_of(regions);
      if (chance(85)) attrs["level"] = pick(8) - 2;
      if (chance(80)) attrs["active"] = chance(70);
      if (chance(60)) attrs["customer"] = entity_json("Customer", "c" + std::to_string(pick(3)));
      json::array roles;
      json::array parents;
      for (const char* role : {"advisor", "auditor", "staff"})
        if (chance(40)) {
          roles.push_back(json::string(role));
          parents.push_back(json::object{{"type", "Role"}, {"id", role}});
        }
      if (chance(80)) attrs["roles"] = roles;
      out.push_back(json::object{{"uid", json::object{{"type", "User"}, {"id", "u" + std::to_string(u)}}},
                                 {"attrs", attrs},
                                 {"parents", parents}});
    }
    json::array advisor_parents;
    if (chance(50)) advisor_parents.push_back(json::object{{"type", "Role"}, {"id", "staff"}});
    out.push_back(json::object{{"uid", json::object{{"type", "Role"}, {"id", "advisor"}}},
                               {"attrs", json::object{}},
                               {"parents", advisor_parents}});
    for (int c = 0; c < 3; ++c) {
      json::object attrs;
      if (chance(85)) attrs["region"] = one_of(regions);
      if (chance(85)) attrs["tier"] = pick(5);
      if (chance(80)) attrs["vip"] = chance(30);
      out.push_back(json::object{{"uid", json::object{{"type", "Customer"}, {"id", "c" + std::to_string(c)}}},
                                 {"attrs", attrs},
                                 {"parents", json::array{}}});
    }
    // Action groups: sometimes an action is `in` another, which scopes and `in` must follow.
    if (chance(50))
      out.push_back(json::object{{"uid", json::object{{"type", "Action"}, {"id", "crm.note.create"}}},
                                 {"attrs", json::object{}},
                                 {"parents", json::array{json::object{{"type", "Action"}, {"id", "crm.customer.read"}}}}});
    for (const char* group : {"contact", "identity"})
      out.push_back(json::object{{"uid", json::object{{"type", "FieldGroup"}, {"id", group}}},
                                 {"attrs", json::object{{"name", group}}},
                                 {"parents", json::array{}}});
    return out;
  }

  json::object request() {
    json::object context;
    if (chance(85)) context["hour"] = pick(24);
    if (chance(85)) context["acr"] = one_of<std::string>({"urn:loa:1", "urn:loa:2", ""});
    if (chance(80)) {
      json::array amr;
      for (const char* m : {"pwd", "otp", "hwk"})
        if (chance(50)) amr.push_back(json::string(m));
      context["amr"] = amr;
    }
    if (chance(80)) context["flag"] = chance(50);
    if (chance(70)) context["customer"] = entity_json("Customer", "c" + std::to_string(pick(4)));
    if (chance(70)) context["nested"] = json::object{{"x", pick(10)}, {"flag", chance(50)}};
    std::string principal = "u" + std::to_string(pick(5));  // u4 is not in the store
    json::object resource = chance(70) ? json::object{{"type", "Customer"}, {"id", "c" + std::to_string(pick(4))}}
                                       : json::object{{"type", "FieldGroup"}, {"id", one_of<std::string>({"contact", "identity"})}};
    return json::object{{"principal", json::object{{"type", "User"}, {"id", principal}}},
                        {"action", json::object{{"type", "Action"}, {"id", one_of(kActions)}}},
                        {"resource", resource},
                        {"context", context}};
  }

 private:
  static json::object entity_json(const std::string& type, const std::string& id) {
    return json::object{{"__entity", json::object{{"type", type}, {"id", id}}}};
  }

  const std::vector<std::string> kActions = {"crm.customer.read", "crm.note.create", "core.operation.transfer",
                                             "crm.field_group.read"};
  std::mt19937_64 rng_;
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::set<std::string> as_set(const json::value& v) {
  std::set<std::string> out;
  for (const json::value& item : v.as_array()) out.emplace(item.as_string());
  return out;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return "[" + out + "]";
}

TEST(CedarDifferential, EveryDecisionAgreesWithCedarOnGeneratedPoliciesAndRequests) {
  const fs::path peers = BRANCHLINE_TEST_PEERS_DIR;
  ASSERT_TRUE(fs::exists(peers / "node_modules/@cedar-policy/cedar-wasm"))
      << "Cedar is not installed: run ./tests/run.sh (it runs npm ci in tests/peers)";
  const int cases = std::stoi(env_or("CEDAR_DIFF_CASES", "1500"));
  const std::uint64_t seed = std::stoull(env_or("CEDAR_DIFF_SEED", "20261124"));
  constexpr int kRequests = 12;

  Generator gen(seed);
  struct Case {
    std::string yaml;
    std::vector<Decision> ours;
  };
  std::vector<Case> all;
  fs::path dir = fs::temp_directory_path() / ("cedar-diff-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream in(dir / "cases.jsonl");
    for (int i = 0; i < cases; ++i) {
      Case c;
      c.yaml = gen.policy_file();
      PolicySet set = PolicySet::load_text(c.yaml, "generated.yaml");  // must load: the generator writes valid files
      json::array entities_json = gen.entities();
      Entities entities = Entities::from_json(entities_json);
      json::object policies;
      for (const Policy& p : set.policies()) policies[p.id] = p.to_cedar();
      json::array requests;
      for (int r = 0; r < kRequests; ++r) {
        json::object q = gen.request();
        Request request{entity_uid_from_json(q["principal"]), entity_uid_from_json(q["action"]),
                        entity_uid_from_json(q["resource"]), value_from_json(q["context"]).as_record()};
        c.ours.push_back(set.decide(request, entities));
        requests.push_back(std::move(q));
      }
      in << json::serialize(json::object{{"policies", policies}, {"entities", entities_json}, {"requests", requests}})
         << "\n";
      all.push_back(std::move(c));
    }
  }
  std::string command = test::test_node() + " " + (peers / "cedar-decide.cjs").string() + " < " +
                        (dir / "cases.jsonl").string() + " > " + (dir / "answers.jsonl").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  std::ifstream answers(dir / "answers.jsonl");
  std::string line;
  int index = 0, decisions = 0, allows = 0, forbids = 0, with_errors = 0, disagreements = 0;
  while (std::getline(answers, line) && index < cases) {
    const Case& c = all[static_cast<std::size_t>(index)];
    json::array theirs = json::parse(line).as_array();
    ASSERT_EQ(theirs.size(), c.ours.size());
    for (std::size_t r = 0; r < theirs.size(); ++r) {
      const json::object& t = theirs[r].as_object();
      ASSERT_FALSE(t.contains("failure")) << "Cedar refused case " << index << ": " << json::serialize(t) << "\n"
                                          << c.yaml;
      const Decision& ours = c.ours[r];
      bool allow = t.at("decision").as_string() == "allow";
      std::set<std::string> reasons = as_set(t.at("reasons"));
      std::set<std::string> errors = as_set(t.at("errors"));
      std::set<std::string> our_reasons(ours.reasons.begin(), ours.reasons.end());
      std::set<std::string> our_errors;
      for (const PolicyError& e : ours.errors) our_errors.insert(e.policy_id);
      ++decisions;
      allows += allow;
      forbids += !allow && !reasons.empty();
      with_errors += !errors.empty();
      if (allow != ours.allow || reasons != our_reasons || errors != our_errors) {
        if (++disagreements <= 5)
          ADD_FAILURE() << "case " << index << " request " << r << ": Cedar " << (allow ? "allow" : "deny")
                        << " reasons " << join(reasons) << " errors " << join(errors) << "; ours "
                        << (ours.allow ? "allow" : "deny") << " reasons " << join(our_reasons) << " errors "
                        << join(our_errors) << "\n"
                        << c.yaml;
      }
    }
    ++index;
  }
  EXPECT_EQ(index, cases) << "Cedar answered " << index << " of " << cases << " cases";
  EXPECT_EQ(disagreements, 0);
  // The generator must reach every outcome, or agreeing would prove little.
  std::printf("%d decisions: %d allow, %d denied by a forbid, %d with evaluation errors; %d disagreements\n", decisions,
              allows, forbids, with_errors, disagreements);
  EXPECT_GT(allows, decisions / 20);
  EXPECT_GT(forbids, decisions / 50);
  EXPECT_GT(with_errors, decisions / 50);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace branchline::policy
