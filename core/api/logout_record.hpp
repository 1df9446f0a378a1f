// logout_record: single logouts survive a restart of the host.
//
// A JWT access token stays valid until it expires, so the host's memory of ended sessions
// (session_registry.hpp) is what refuses a logged-out session's tokens. That memory lives in the
// process; the audit ledger does not forget. Every logout the host applied is an `auth.logout`
// entry (outcome success) naming the issuer, the session id and/or subject, and `logout_at`.
//
// Contract:
//  - restore_logouts() reads those entries of the last `remember` (the registry's own memory; found
//    by bisection, so a long ledger is not read from its start) and applies each again,
//    remembered for what is left of `remember` since the entry's arrival, so that a token
//    refused before the restart is refused after it. Only the host's own entries count (no
//    "source": a plugin cannot write a logout that a restart would apply). An entry without
//    `logout_at` (an older version) is dated at its arrival, as it was then.
//  - It returns how many logouts it applied; it throws what LedgerReader throws when the ledger
//    cannot be read (the host then refuses to start rather than forget logouts).
#pragma once

#include "api/session_registry.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace branchline::audit {
class LedgerReader;
}

namespace branchline::api {

std::size_t restore_logouts(SessionRegistry& registry, audit::LedgerReader& ledger, std::chrono::seconds remember,
                            std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
                            std::int64_t clock_skew_s = 60);

}  // namespace branchline::api
