// access_gate: the one way into every protected route: who is calling (authenticator), their
// abuse limit, step-up, the policy decision, and the audit entry of each refusal and decision.
//
// Contract:
//  - authenticate(): on success, takes one token from the principal's bucket (per_principal) and
//    calls `next` with the principal; over the limit, answers 429 with Retry-After. On refusal it
//    writes an `auth.token` entry (outcome denied, or failure when the identity provider
//    could not check), waits until it is durable, then answers (401, 400, 500 or 503).
//  - authorize() asks one question (principal, action, resource, context) in this order:
//      step-up (PolicySet::step_up_needed): when the token's acr, amr or auth_time fall short,
//      the answer is 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`
//      and acr_values / max_age (RFC 9470), and the decision is a deny by the step-up rule;
//      the policy decision (PolicySet::decide).
//    Every decision, allow or deny, is written as a `policy.decide` entry in the manner of OPA's
//    decision log: a decision id, the principal and their roles, the session, the action, the
//    resource (and customer, consultation), the result, the ids of the rules that decided, the
//    rules that failed to evaluate, and the policy set's hash; no token and no personal data.
//    A profile read (Question::field_groups) then decides each field group on its own; the
//    groups' decisions (result, rules, errors) are in the same entry, and the verdict lists the
//    fields of the allowed groups only.
//    A deny is answered (403, or 401 for step-up) only once its entry is durable; an allow of a
//    `durable` question (it reads customer data or changes something) continues only then, but
//    for a `read_only` one: the read starts at once and its answer (Verdict::answer) is held
//    until the entry is durable, so that the ledger's group commit and the plugin's read overlap
//    without an answer ever leaving before its entry.
//    When the ledger cannot be written the request fails closed: 503, nothing done. A durable
//    continuation whose request was answered meanwhile (the server's 503 at request_timeout) does
//    not start: the client was told it failed.
//  - Continuations (`next`) never run on the ledger's thread: after a durable write they go through
//    options.post; otherwise they run on the calling thread (the server's or the plugin's reply).
//    A held answer is released on the thread that learns its entry is durable (one of the
//    ledger's), straight to `respond`, which must therefore be callable from any thread (the
//    server's Respond posts to its session).
//  - The principal as the policies see it: User::"<iss>|<sub>" with roles (and Role parents),
//    region and branch (from the token's claims), customer (a Customer, when the token names
//    one); the context has acr, amr and auth_age_s. See docs/policy.md.
#pragma once

#include "api/authenticator.hpp"
#include "api/http_server.hpp"
#include "api/rate_limiter.hpp"
#include "policy/current_policies.hpp"
#include "policy/policy_set.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace branchline::audit {
class AuditSink;
}

namespace branchline::api {

struct AccessOptions {
  std::optional<RateLimit> per_principal;
  std::string node, region;  // written into every entry
  // Runs a continuation on the host's executor (the default runs it at once, for tests).
  std::function<void(std::function<void()>)> post;
};

struct Question {
  std::string action;                  // e.g. "crm.customer.read"
  policy::EntityUid resource;          // e.g. Customer::"c-1001"
  policy::Entities entities;           // what the rules may know of the resource (the gate adds the principal)
  policy::Record context;              // beyond acr, amr and auth_age_s, which the gate sets from the token (and wins)
  boost::json::object audit_resource;  // the entry's resource: {type, id} and customer, consultation
  // Reads customer data or changes something: no answer before the entry is durable, and 503 if
  // the ledger cannot take it.
  bool durable = false;
  // With durable, a read: it may start while its entry is being written, and only its answer
  // (Verdict::answer) waits. Otherwise (a change) nothing starts before the entry is durable.
  bool read_only = false;
  // A CRM profile read: once the question is allowed, also decide each of the policy set's field
  // groups (crm.field_group.read on FieldGroup::"<group>", context.customer = the resource).
  bool field_groups = false;
};

struct Verdict {
  std::string decision_id;
  policy::Decision decision;
  std::vector<std::string> field_groups;  // the groups allowed (field_groups questions only)
  std::vector<std::string> fields;        // their fields: all a profile read may ask for and return
  // How the route answers: for a durable read_only question it holds the answer until the entry
  // is durable (or answers 503 instead when the ledger fails); otherwise it is the request's respond.
  Respond answer;
};

class AccessGate {
 public:
  // The policies in force, which the host replaces on a reload (SIGHUP); each decision uses the set
  // it started with, and records its hash.
  AccessGate(std::shared_ptr<Authenticator> authenticator, std::shared_ptr<policy::CurrentPolicies> policies,
             std::shared_ptr<audit::AuditSink> audit, AccessOptions options);
  // A fixed policy set (tests, tools).
  AccessGate(std::shared_ptr<Authenticator> authenticator, std::shared_ptr<const policy::PolicySet> policies,
             std::shared_ptr<audit::AuditSink> audit, AccessOptions options);

  void authenticate(const HttpRequest& request, Respond respond,
                    std::function<void(std::shared_ptr<const Principal>)> next) const;
  void authorize(const HttpRequest& request, const Principal& principal, Question question, Respond respond,
                 std::function<void(Verdict)> next) const;

  // Writes an entry of the gate's shape (node, region, correlation id, actor) and, when `durable`,
  // continues only once it is; on a ledger failure answers 503. For routes' own entries (logout).
  void record(const HttpRequest& request, boost::json::object entry, bool durable, Respond respond,
              std::function<void()> next) const;

  policy::Entity principal_entity(const Principal& principal) const;
  policy::Record principal_context(const Principal& principal) const;

  const Authenticator& authenticator() const { return *authenticator_; }
  const std::string& node() const { return options_.node; }
  std::shared_ptr<const policy::PolicySet> policies() const { return policies_->get(); }

 private:
  void post(std::function<void()> work) const;
  // The entry with the gate's stamp (node, region, correlation id; a printable reason), appended.
  void append(const HttpRequest& request, boost::json::object entry, std::function<void(bl_status)> done) const;

  std::shared_ptr<Authenticator> authenticator_;
  std::shared_ptr<policy::CurrentPolicies> policies_;
  std::shared_ptr<audit::AuditSink> audit_;
  AccessOptions options_;
  std::shared_ptr<RateLimiter> per_principal_;
};

// The actor of an entry written for this principal: {principal, role (roles, comma-separated), ip, session}.
boost::json::object audit_actor(const Principal& principal, const HttpRequest& request);

}  // namespace branchline::api
