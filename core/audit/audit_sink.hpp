// audit_sink: where every audit entry of the host and its plugins goes.
//
// Contract: append() takes one entry (a JSON object) and calls done exactly once, with BL_OK only
// after the entry is durable, or with an error. Entries are never dropped silently. The one
// implementation is the tamper-evident ledger (ledger.hpp); the interface keeps the host's
// plugin services independent of how the ledger stores entries.
#pragma once

#include <branchline/abi.h>

#include <boost/json/object.hpp>

#include <functional>

namespace branchline::audit {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void append(boost::json::object entry, std::function<void(bl_status)> done) = 0;
};

}  // namespace branchline::audit
