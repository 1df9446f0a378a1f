// policy_reload: see policy_reload.hpp.
#include "policy/policy_reload.hpp"

#include "common/log.hpp"
#include "config/config.hpp"

#include <boost/json.hpp>

namespace branchline::policy {

namespace json = boost::json;

bool reload_policies(CurrentPolicies& current, const std::filesystem::path& file, const RecordReload& record) {
  std::shared_ptr<const PolicySet> before = current.get();
  json::object resource{{"type", "policy_set"}, {"id", file.empty() ? std::string("built-in") : file.string()}};
  json::object fields{{"previous_hash", before->hash()}};
  std::shared_ptr<const PolicySet> next;
  try {
    next = std::make_shared<const PolicySet>(PolicySet::load(file));
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) log::error("policy", "not reloaded, the policy in force stays: " + d.to_string());
    fields["reason"] = "the policy file does not load; see the host's log";
    record(std::move(resource), "failure", std::move(fields));
    return false;
  }
  fields["hash"] = next->hash();
  if (!record(std::move(resource), "success", std::move(fields))) {
    log::error("policy", "not reloaded: the audit ledger cannot record the change; the policy in force stays");
    return false;
  }
  current.replace(next);
  log::info("policy", "reloaded from " + next->source() + ", hash " + next->hash() +
                          (next->hash() == before->hash() ? " (unchanged)" : " (was " + before->hash() + ")"));
  return true;
}

}  // namespace branchline::policy
