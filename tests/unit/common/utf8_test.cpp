// utf8: text from outside made fit for logs and audit entries.
#include "common/utf8.hpp"

#include <gtest/gtest.h>

namespace branchline::utf8 {
namespace {

TEST(Utf8, PrintableReplacesInvalidBytesAndControlsAndCutsOnACharacterBoundary) {
  EXPECT_EQ(printable("plain text", 100), "plain text");
  EXPECT_EQ(printable("a\xff" "b", 100), "a\xEF\xBF\xBD" "b");           // an invalid byte: U+FFFD
  EXPECT_EQ(printable("line\nbreak\x01", 100), "line break ");           // controls: spaces
  EXPECT_EQ(printable(std::string(31, 'a') + "\xC3\xA9", 32), std::string(31, 'a'));  // é does not fit: left out whole
  EXPECT_TRUE(valid(printable(std::string(31, 'a') + "\xC3", 64)));      // a cut sequence: replaced
  EXPECT_EQ(printable("\xE2\x82\xAC", 3), "\xE2\x82\xAC");
}

}  // namespace
}  // namespace branchline::utf8
