// policy_reload: what SIGHUP does to the authorization policy: the policy file is loaded again and
// the new set replaces the one in force, on the record first.
//
// Contract:
//  - reload_policies() loads `file` (PolicySet::load: the built-in policy when it is empty) and
//    calls `record` once with the resource {type: policy_set, id: file or "built-in"}, an outcome
//    and the fields of a host.policy.reload entry: `previous_hash`, and `hash` on success or
//    `reason` on failure. `record` writes the entry and returns whether it is durable.
//  - The new set replaces the one in force only once its entry is durable: no decision is made by
//    rules the ledger does not know of. A file that does not load (each fault logged with file,
//    line, column and fix), or an entry the ledger cannot take, leaves the set in force.
//  - Returns whether the new set was applied (also when its hash is unchanged).
#pragma once

#include "policy/current_policies.hpp"

#include <boost/json/object.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace branchline::policy {

using RecordReload = std::function<bool(boost::json::object resource, std::string outcome, boost::json::object fields)>;

bool reload_policies(CurrentPolicies& current, const std::filesystem::path& file, const RecordReload& record);

}  // namespace branchline::policy
