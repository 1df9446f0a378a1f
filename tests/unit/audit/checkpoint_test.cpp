// checkpoint: the C2SP tlog-checkpoint body, strictly parsed, and the published copy read back.
#include "audit/checkpoint.hpp"

#include <gtest/gtest.h>

namespace branchline::audit {
namespace {

TEST(Checkpoint, BodyRoundTrips) {
  Checkpoint c{"bank.example/audit", 1234, leaf_hash("x"), "2026-11-24T10:00:00.000001Z"};
  std::string body = c.body();
  EXPECT_EQ(body, "bank.example/audit\n1234\n" + to_base64(leaf_hash("x")) + "\ntime 2026-11-24T10:00:00.000001Z\n");
  auto parsed = Checkpoint::parse(body);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->origin, c.origin);
  EXPECT_EQ(parsed->size, 1234u);
  EXPECT_EQ(parsed->root, c.root);
  EXPECT_EQ(parsed->time, c.time);
}

TEST(Checkpoint, ReadsOthersCheckpointsWithoutATime) {
  // The shape of a Go sumdb / transparency-dev checkpoint.
  auto c = Checkpoint::parse("go.sum database tree\n31\n" + to_base64(empty_root()) + "\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size, 31u);
  EXPECT_TRUE(c->time.empty());
}

TEST(Checkpoint, RefusesMalformedBodies) {
  std::string root = to_base64(empty_root());
  for (std::string bad : {
           std::string("origin\n12\n"),                       // no root
           "origin\n012\n" + root + "\n",                     // leading zero
           "origin\n-1\n" + root + "\n",                      // sign
           "origin\n9223372036854775808\n" + root + "\n",     // above 2^63-1
           "origin\n12\n" + root.substr(1) + "\n",            // short root
           "origin\n12\n" + root,                             // no final newline
           "origin\n12\n" + root + "\n\nextra\n",             // empty line
           "origin\n1 2\n" + root + "\n",
       })
    EXPECT_FALSE(Checkpoint::parse(bad)) << bad;
  EXPECT_FALSE(from_base64(root.substr(0, 43) + "A"));  // no padding
}

TEST(Checkpoint, SplitsAPublishedCopyAndNoticesATornTail) {
  std::string a = "o\n1\nR\n\n\xE2\x80\x94 k AAAA\n";
  std::string b = "o\n2\nS\n\n\xE2\x80\x94 k BBBB\n\xE2\x80\x94 w CCCC\n";
  PublishedCopy copy = split_published(a + "\n" + b + "\n");
  ASSERT_EQ(copy.notes.size(), 2u);
  EXPECT_EQ(copy.notes[0], a);
  EXPECT_EQ(copy.notes[1], b);
  EXPECT_FALSE(copy.torn_tail);
  copy = split_published(a + "\n" + b.substr(0, 10));
  EXPECT_EQ(copy.notes.size(), 1u);
  EXPECT_TRUE(copy.torn_tail);
  copy = split_published(a + "\n" + b.substr(0, b.size() - 3));
  EXPECT_EQ(copy.notes.size(), 1u);
  EXPECT_TRUE(copy.torn_tail);
  EXPECT_TRUE(split_published("").notes.empty());
}

}  // namespace
}  // namespace branchline::audit
