// ocsf: audit entries as OCSF events (Open Cybersecurity Schema Framework 1.1), the schema SIEM
// teams map their detections to, for forwarding to a SIEM.
//
// Contract:
//  - to_ocsf() maps one ledger entry (its canonical text) to one OCSF event. The class follows
//    the action: auth.* -> Authentication (3002); host.* and plugin.* -> Application Lifecycle
//    (6002); recording.* and document.* -> File Hosting Activity (6006); everything else (data
//    access, operations, the ledger's own purge/hold/erase records) -> API Activity (6003), with
//    the activity from the verb (read, create, update, delete, other).
//  - metadata.uid is "<origin>:<seq>" and unmapped.ledger_index the sequence number, so a receiver
//    can drop duplicates; metadata.original_time is the entry's time.
//  - Personal data never leaves: the entry's "personal" member (sealed or not) is not mapped, and
//    nothing under it is copied anywhere.
//  - Never throws for an entry the ledger wrote; an unparsable text maps to an event that says so.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace branchline::audit {

boost::json::object to_ocsf(std::string_view canonical_entry, std::uint64_t seq, const std::string& origin);

}  // namespace branchline::audit
