// cedar_text: the small pieces of Cedar's concrete syntax shared by the expression parser and the
// policy set's Cedar export (string literals and identifiers).
//
// Contract: cedar_string_literal(s) is a Cedar string literal that Cedar's parser and ours read
// back as exactly `s` (quotes, backslashes and control characters escaped; other UTF-8 kept).
#pragma once

#include <string>
#include <string_view>

namespace branchline::policy {

std::string cedar_string_literal(std::string_view text);

// [_a-zA-Z][_a-zA-Z0-9]* and not one of Cedar's reserved words.
bool is_cedar_identifier(std::string_view text);

}  // namespace branchline::policy
