// utf8: strict UTF-8 checks (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
//
// Used wherever text from outside reaches code that assumes valid UTF-8: the log's JSON escaping,
// the config reader, and JSON Schema validation (valijson's length checks read past a buffer on
// invalid sequences; found by tests/fuzz/config).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace branchline::utf8 {

// Length of the valid sequence that starts at text[i] (1 to 4), or 0 when it is invalid.
std::size_t sequence_length(std::string_view text, std::size_t i);

// Offset of the first invalid byte, or text.size() when the whole text is valid.
std::size_t first_invalid(std::string_view text);

inline bool valid(std::string_view text) { return first_invalid(text) == text.size(); }

// Text from outside made fit for a log line or an audit entry: each invalid byte replaced by
// U+FFFD, control characters by spaces, and cut to at most max_bytes on a character boundary.
std::string printable(std::string_view text, std::size_t max_bytes);

}  // namespace branchline::utf8
