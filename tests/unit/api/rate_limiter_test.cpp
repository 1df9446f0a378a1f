// Token buckets: refill, refusal with Retry-After, and memory bounded against address cycling.
#include "api/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace branchline::api {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, ABurstPassesThenRequestsWaitForTheRefill) {
  RateLimiter limiter(RateLimit{2, 5});
  auto t = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.take("10.0.0.1", t).allowed) << i;
  RateDecision refused = limiter.take("10.0.0.1", t);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 1);  // one token every 0.5 s, rounded up to a whole second
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.limit, 5);
  EXPECT_EQ(refused.reset_s, 3);
  EXPECT_TRUE(limiter.take("10.0.0.2", t).allowed);  // another client has its own bucket
  EXPECT_TRUE(limiter.take("10.0.0.1", t + 500ms).allowed);
  EXPECT_FALSE(limiter.take("10.0.0.1", t + 600ms).allowed);
  RateDecision later = limiter.take("10.0.0.1", t + 10s);  // refilled to the burst, not beyond
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 4);
}

TEST(RateLimiter, SlowRatesGiveLongerRetryAfter) {
  RateLimiter limiter(RateLimit{0.1, 1});
  auto t = RateLimiter::Clock::time_point{} + 1h;
  EXPECT_TRUE(limiter.take("p", t).allowed);
  EXPECT_EQ(limiter.take("p", t).retry_after_s, 10);
  EXPECT_EQ(limiter.take("p", t + 4s).retry_after_s, 6);
}

TEST(RateLimiter, CyclingAddressesCannotGrowTheTableOrFreeAnActiveClient) {
  RateLimiter limiter(RateLimit{1, 3}, 100);
  auto t = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) limiter.take("busy", t);
  EXPECT_FALSE(limiter.take("busy", t).allowed);
  for (int i = 0; i < 10000; ++i) {
    limiter.take("attacker-" + std::to_string(i), t);
    if (i % 50 == 0) {
      EXPECT_FALSE(limiter.take("busy", t).allowed) << i;  // kept: recently used
    }
  }
  EXPECT_LE(limiter.size(), 100u);
}

}  // namespace
}  // namespace branchline::api
