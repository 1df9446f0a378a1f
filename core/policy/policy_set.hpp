// policy_set: who may do what to which customer data, as a bank writes it in YAML, decided with
// the semantics of AWS Cedar.
//
// Contract:
//  - A policy file (docs/policy.md; schema config/schema/policy.schema.json) holds:
//      policies:     permit and forbid rules. Each has an id, a scope (principal roles or type,
//                    actions, resource type or ids) and conditions (`when`, `unless`) in Cedar's
//                    expression language (expression.hpp).
//      field_groups: the CRM profile's fields, group by group. A profile read is decided once
//                    per group (action crm.field_group.read on FieldGroup::"<group>"); a field in
//                    no group is never returned.
//      step_up:      the actions that need a stronger or more recent sign-in (RFC 9470).
//  - decide() is Cedar's authorizer: deny by default; allow when some permit is satisfied and
//    no forbid is; any satisfied forbid denies. The decision names the policies that decided
//    (the satisfied forbids on a deny, the satisfied permits on an allow, none on a default
//    deny) and each policy whose condition failed to evaluate; such a policy counts as not
//    satisfied, as in Cedar.
//  - cedar_text() is the same policy set in Cedar's own syntax; Cedar's authorizer reaches the
//    same decisions on it (tests/interop/cedar_differential).
//  - hash() identifies the policy set (SHA-256 over its Cedar text, field groups and step-up
//    rules) in every decision's audit entry, so an examiner can tell which rules were in force.
//  - Loading checks the schema, then what a schema cannot say (ids unique, each expression
//    parses, a field in one group only); every problem is one `file:line:col: message; fix: ...`
//    line of a config::ConfigError. A PolicySet is immutable and safe to share across threads.
#pragma once

#include "config/diagnostic.hpp"
#include "policy/expression.hpp"
#include "policy/value.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace branchline::policy {

enum class Effect { Permit, Forbid };

// A principal or resource scope: any entity, or `is <type>`, further limited to being `in` one
// of `in_any` (principal roles: Role::"advisor") or equal to one of `one_of` (resource ids).
struct EntityScope {
  std::string type;                // empty: any type
  std::vector<EntityUid> in_any;   // empty: no limit
  std::vector<EntityUid> one_of;   // empty: no limit
};

struct Condition {
  bool when = true;  // false: `unless`
  Expression expression;
};

struct Policy {
  std::string id;
  std::string description;
  Effect effect = Effect::Permit;
  EntityScope principal;
  std::vector<EntityUid> actions;  // empty: any action
  EntityScope resource;
  std::vector<Condition> conditions;  // in order; evaluated left to right, short-circuit

  // This policy alone in Cedar's syntax, e.g. `@id("p") permit (principal in Role::"advisor", ...)`.
  std::string to_cedar() const;
};

struct PolicyError {
  std::string policy_id;
  std::string message;
};

struct Decision {
  bool allow = false;
  std::vector<std::string> reasons;  // ids of the policies that decided
  std::vector<PolicyError> errors;   // policies whose conditions could not be evaluated
};

// An action that needs a stronger or more recent authentication (RFC 9470).
struct StepUpRule {
  std::string id;
  std::vector<std::string> actions;
  std::vector<std::string> acr;    // the token's acr must be one of these (empty: any)
  std::vector<std::string> amr;    // the token's amr must include all of these (empty: none)
  std::optional<std::int64_t> max_age_s;  // auth_time must be at most this old
};

// What the caller's sign-in proved: from the verified token's acr, amr and auth_time claims.
struct Authentication {
  std::string acr;
  std::vector<std::string> amr;
  std::optional<std::int64_t> auth_time;  // seconds since the epoch
};

// Why a step-up is needed, and what to ask the identity provider for (WWW-Authenticate).
struct StepUpChallenge {
  std::string rule_id;
  std::vector<std::string> acr_values;
  std::optional<std::int64_t> max_age_s;
  std::string reason;  // "acr", "amr", "auth_time missing", "auth_time in the future" or "too old"
};

class PolicySet {
 public:
  // Throws config::ConfigError; `file` names the source in diagnostics.
  static PolicySet load_text(std::string_view yaml, const std::string& file);
  static PolicySet load_file(const std::filesystem::path& file);
  // `file`, or the built-in policy when it is empty (api.policy_file unset).
  static PolicySet load(const std::filesystem::path& file);
  // config/policy.yaml, built into the binary: the default for the embedded configuration.
  static PolicySet embedded_default();
  static std::string_view embedded_default_text();

  Decision decide(const Request& request, const Entities& entities) const;

  // The first step-up rule for `action` that `auth` does not meet, at time `now` (epoch seconds).
  std::optional<StepUpChallenge> step_up_needed(std::string_view action, const Authentication& auth,
                                                std::int64_t now) const;

  // Field groups, by name, each with its fields; and the group a field belongs to ("" if none).
  const std::map<std::string, std::vector<std::string>>& field_groups() const { return field_groups_; }
  std::string group_of_field(std::string_view field) const;

  const std::vector<Policy>& policies() const { return policies_; }
  const std::vector<StepUpRule>& step_up_rules() const { return step_up_; }
  std::string cedar_text() const;
  const std::string& hash() const { return hash_; }
  const std::string& source() const { return source_; }

 private:
  std::vector<Policy> policies_;
  std::map<std::string, std::vector<std::string>> field_groups_;
  std::map<std::string, std::string, std::less<>> group_by_field_;
  std::vector<StepUpRule> step_up_;
  std::string hash_;
  std::string source_;
};

// The clock skew allowed for auth_time in the future, as for a token's iat.
inline constexpr std::int64_t kAuthTimeSkewS = 60;

// The action that decides each field group of a CRM profile read.
inline constexpr const char* kFieldGroupReadAction = "crm.field_group.read";

}  // namespace branchline::policy
