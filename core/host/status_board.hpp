// status_board: what GET /api/v1/status shows an operator: the health file's facts (node,
// environment, region, pid, started_at, the API's address), the host's state, every plugin
// instance with its own health report and calls in flight (PluginSet::report), and the audit
// ledger's size and last checkpoint.
//
// Contract:
//  - facts() replaces the base facts (copied); attach() sets the plugin set once it runs and
//    attach(nullptr) detaches it before it stops; both may race with status().
//  - status() may be called from any thread; it does not block beyond the plugins' health
//    functions, which must not block (abi.h).
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace branchline::audit {
class Ledger;
}

namespace branchline::host {

class PluginSet;

class StatusBoard {
 public:
  StatusBoard(std::shared_ptr<const audit::Ledger> ledger, std::function<std::string()> state);

  void facts(boost::json::object base);
  void attach(const PluginSet* plugins);
  boost::json::object status() const;
  boost::json::object operator()() const { return status(); }

 private:
  std::shared_ptr<const audit::Ledger> ledger_;
  std::function<std::string()> state_;
  mutable std::mutex mutex_;
  boost::json::object base_;
  const PluginSet* plugins_ = nullptr;
};

}  // namespace branchline::host
