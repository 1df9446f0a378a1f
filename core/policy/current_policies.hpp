// current_policies: the policy set in force, which a reload (SIGHUP) replaces whole.
//
// Contract:
//  - get() returns the set in force; a caller keeps what it got for a whole decision, so that the
//    rules it applied and the hash it records are of one set, even when a reload lands meanwhile.
//  - replace() swaps in another set for every later get(); decisions already under way finish on
//    the set they started with. Both are safe from any thread.
//  - Never empty: constructed with a set, replaced only by a set.
#pragma once

#include "policy/policy_set.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace branchline::policy {

class CurrentPolicies {
 public:
  explicit CurrentPolicies(std::shared_ptr<const PolicySet> initial) : set_(std::move(initial)) {
    if (!set_) throw std::invalid_argument("CurrentPolicies needs a policy set");
  }

  std::shared_ptr<const PolicySet> get() const {
    std::lock_guard lock(mutex_);
    return set_;
  }

  // Returns the set it replaced.
  std::shared_ptr<const PolicySet> replace(std::shared_ptr<const PolicySet> next) {
    if (!next) throw std::invalid_argument("CurrentPolicies::replace needs a policy set");
    std::lock_guard lock(mutex_);
    std::swap(set_, next);
    return next;
  }

 private:
  mutable std::mutex mutex_;  // a copy of a shared_ptr under it: nanoseconds, once per decision
  std::shared_ptr<const PolicySet> set_;
};

}  // namespace branchline::policy
