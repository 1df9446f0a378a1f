// audit: the reference plugins' record of every data access, written to the host's audit ledger
// through the host service audit_append.
//
// Contract: one entry per operation that reads or changes customer data (or signs someone in),
// saying who (the call context's "actor": principal, role, ip), what ("action", e.g.
// crm.customer.read), on what ("resource": type, id, customer, consultation), which fields were
// touched ("fields"), and how it ended ("outcome": success | failure | denied, with "reason").
// Personal data never goes into these entries in clear: values a customer could be identified by
// (a search query, a username that failed to sign in) go under "personal", which the ledger seals
// with the customer's key, or are left out when there is no customer to key them to. The host adds
// node, time, sequence number and which plugin instance wrote it; the entry is not waited for (the
// API layer answers its callers only once its own entry for the request is durable).
#pragma once

#include "json.hpp"

#include <branchline/plugin.hpp>

#include <string>

namespace branchline::plugins {

// The call context's actor and consultation, copied into an entry.
inline json::object audit_entry(const sdk::Call& call, std::string action, json::object resource,
                                std::string outcome = "success") {
  json::object entry{{"action", std::move(action)}, {"outcome", std::move(outcome)}};
  boost::system::error_code ec;
  json::value context = json::parse(call.context(), ec);
  if (!ec && context.is_object()) {
    const json::object& c = context.as_object();
    if (auto* actor = c.if_contains("actor"); actor && actor->is_object()) entry["actor"] = *actor;
    if (auto* k = c.if_contains("consultation_id"); k && k->is_string() && !resource.contains("consultation"))
      resource["consultation"] = *k;
    if (auto* id = c.if_contains("correlation_id"); id && id->is_string()) entry["correlation_id"] = *id;
  }
  if (!entry.contains("actor")) entry["actor"] = json::object{{"principal", "unknown"}};
  entry["resource"] = std::move(resource);
  return entry;
}

inline void audit(const sdk::Host& host, const json::object& entry) { host.audit(json::serialize(entry)); }

// Runs an operation's work and audits `entry` whatever the outcome: as it is on success, with
// outcome "failure" and the error's text as "reason" when the work throws sdk::Error.
template <class Work>
std::string audited(const sdk::Host& host, json::object& entry, Work work) {
  try {
    std::string result = work();
    audit(host, entry);
    return result;
  } catch (const sdk::Error& e) {
    entry["outcome"] = e.status() == BL_PERMISSION_DENIED || e.status() == BL_UNAUTHENTICATED ? "denied" : "failure";
    entry["reason"] = e.what();
    audit(host, entry);
    throw;
  }
}

}  // namespace branchline::plugins
