// TokenCache: what a bearer token proved, kept no longer than the token's expiry and the cache's
// ttl, bounded in size; keyed by the token's hash.
#include "api/authenticator.hpp"
#include "api/token_cache.hpp"

#include <gtest/gtest.h>

namespace branchline::api {
namespace {

std::shared_ptr<const Principal> principal(const std::string& subject, std::int64_t expires_at) {
  auto p = std::make_shared<Principal>();
  p->issuer = "https://idp.example";
  p->subject = subject;
  p->expires_at = expires_at;
  return p;
}

TEST(TokenCache, AnEntryLastsUntilTheTokenExpiresOrTheTtlEndsWhicheverIsFirst) {
  TokenCache cache(std::chrono::seconds(30), 100);
  const std::int64_t now = 1'800'000'000;
  std::string a = TokenCache::key_of("token-a"), b = TokenCache::key_of("token-b");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  cache.insert(a, principal("long", now + 3600), now);
  cache.insert(b, principal("short", now + 10), now);
  ASSERT_TRUE(cache.find(a, now + 29));
  EXPECT_EQ(cache.find(a, now + 29)->subject, "long");
  EXPECT_FALSE(cache.find(a, now + 30));  // the ttl
  EXPECT_TRUE(cache.find(b, now + 9));
  EXPECT_FALSE(cache.find(b, now + 10));  // the token's expiry
  EXPECT_FALSE(cache.find(TokenCache::key_of("token-c"), now));
  cache.insert(TokenCache::key_of("expired"), principal("expired", now - 1), now);
  EXPECT_FALSE(cache.find(TokenCache::key_of("expired"), now));
}

TEST(TokenCache, ItHoldsAtMostMaxEntriesDroppingExpiredThenOldestOnes) {
  TokenCache cache(std::chrono::seconds(30), 3);
  const std::int64_t now = 1'800'000'000;
  for (int i = 0; i < 3; ++i) cache.insert(TokenCache::key_of("t" + std::to_string(i)), principal("p", now + 3600), now + i);
  EXPECT_EQ(cache.size(), 3u);
  cache.insert(TokenCache::key_of("t3"), principal("p", now + 3600), now + 3);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find(TokenCache::key_of("t0"), now + 3));  // the oldest went
  EXPECT_TRUE(cache.find(TokenCache::key_of("t3"), now + 3));
  // Later, when all have expired, the next insert clears them rather than the newest.
  cache.insert(TokenCache::key_of("t4"), principal("p", now + 3600), now + 100);
  EXPECT_EQ(cache.size(), 1u);
  for (int i = 0; i < 10000; ++i) cache.insert(TokenCache::key_of("u" + std::to_string(i)), principal("p", now + 3600), now + 200);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(TokenCache, ATtlOfZeroKeepsNothing) {
  TokenCache cache(std::chrono::seconds(0), 100);
  EXPECT_FALSE(cache.enabled());
  cache.insert(TokenCache::key_of("t"), principal("p", 1'800'003'600), 1'800'000'000);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace branchline::api
