// status_board: see status_board.hpp.
#include "host/status_board.hpp"

#include "audit/ledger.hpp"
#include "host/plugin_set.hpp"

namespace json = boost::json;

namespace branchline::host {

StatusBoard::StatusBoard(std::shared_ptr<const audit::Ledger> ledger, std::function<std::string()> state)
    : ledger_(std::move(ledger)), state_(std::move(state)) {}

void StatusBoard::facts(json::object base) {
  std::lock_guard lock(mutex_);
  base_ = std::move(base);
}

void StatusBoard::attach(const PluginSet* plugins) {
  std::lock_guard lock(mutex_);
  plugins_ = plugins;
}

json::object StatusBoard::status() const {
  json::object doc;
  {
    std::lock_guard lock(mutex_);
    doc = base_;
    doc["plugins"] = plugins_ ? plugins_->report() : json::array{};
  }
  doc["status"] = state_ ? state_() : std::string("starting");
  doc["ledger"] = json::object{{"size", ledger_->size()}, {"checkpointed", ledger_->checkpointed()}, {"commits", ledger_->commits()}};
  return doc;
}

}  // namespace branchline::host
