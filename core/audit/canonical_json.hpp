// canonical_json: the JSON Canonicalization Scheme (RFC 8785) for audit entries: the bytes that
// are hashed into the ledger, so that any verifier re-serialises an entry to the same bytes.
//
// Contract: object members sorted by their names' UTF-16 code units; no whitespace; strings with
// only the escapes JCS allows (\" \\ \b \f \n \r \t and \u00xx in lowercase hex for the other
// control characters), everything else as UTF-8; numbers as ECMAScript's Number.toString prints
// the IEEE 754 double (so 4.50 is 4.5, 1E30 is 1e+30, -0 is 0). Integers beyond +-2^53 cannot be
// represented exactly as a double and are refused, as is text that is not valid UTF-8: the ledger
// must never hash a value two verifiers could read differently. Throws std::invalid_argument.
//
// Boost.JSON 1.81 parses some decimals one unit in the last place off (it is not correctly
// rounded), so a verifier checks the canonical bytes stored with each entry against its leaf
// hash, and never re-derives them from a parse of other JSON.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace branchline::audit {

std::string canonical_json(const boost::json::value& value);

// The canonical form of `object` with one more top-level member, `slot`, whose value is not known
// yet: canonical = before + <the value's canonical text> + after. The ledger serialises an entry
// on the appender's thread and splices in the sequence number when it commits.
struct CanonicalWithSlot {
  std::string before, after;
};
CanonicalWithSlot canonical_json_with_slot(const boost::json::object& object, const char* slot);

// ECMAScript Number.prototype.toString for a finite double (RFC 8785 section 3.2.2.3).
std::string es_number(double value);

}  // namespace branchline::audit
