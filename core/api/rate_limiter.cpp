// rate_limiter: see rate_limiter.hpp.
#include "api/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace branchline::api {

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_keys) : limit_(limit), max_keys_(std::max<std::size_t>(1, max_keys)) {}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void RateLimiter::evict(Clock::time_point now) {
  // Refilled buckets carry nothing: drop those among the oldest first (a bounded look, so one
  // request never walks the whole table), else the least recently used.
  auto it = lru_.end();
  for (int looked = 0; looked < 32 && it != lru_.begin(); ++looked) {
    --it;
    Bucket& b = buckets_.at(*it);
    double elapsed = std::chrono::duration<double>(now - b.updated).count();
    if (b.tokens + elapsed * limit_.per_second >= limit_.burst) {
      buckets_.erase(*it);
      lru_.erase(it);
      return;
    }
  }
  buckets_.erase(lru_.back());
  lru_.pop_back();
}

RateDecision RateLimiter::take(std::string_view key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = buckets_.find(std::string(key));
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_keys_) evict(now);
    lru_.emplace_front(key);
    found = buckets_.emplace(std::string(key), Bucket{limit_.burst, now, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, found->second.age);
  }
  Bucket& b = found->second;
  double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.updated).count());
  b.tokens = std::min(limit_.burst, b.tokens + elapsed * limit_.per_second);
  b.updated = now;

  RateDecision d;
  d.limit = static_cast<std::int64_t>(limit_.burst);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    d.allowed = true;
  } else {
    d.allowed = false;
    d.retry_after_s = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / limit_.per_second)));
  }
  d.remaining = static_cast<std::int64_t>(std::floor(b.tokens));
  d.reset_s = static_cast<std::int64_t>(std::ceil((limit_.burst - b.tokens) / limit_.per_second));
  return d;
}

}  // namespace branchline::api
