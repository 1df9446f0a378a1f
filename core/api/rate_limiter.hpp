// rate_limiter: token buckets keyed by client (an IP address, or a principal once authenticated),
// for the API's abuse limits.
//
// Contract:
//  - Each key has a bucket of `burst` tokens refilled at `per_second`; a request takes one. When
//    the bucket is empty the request is refused with how long until a token is back (the
//    Retry-After, rounded up to whole seconds, at least 1).
//  - Memory is bounded: at most `max_keys` buckets. A full bucket holds no information, so
//    buckets that have refilled are dropped first; if every bucket is still in use, the one
//    touched longest ago goes. An attacker cycling through addresses therefore cannot grow the
//    table, and can only make the forgotten clients' next request start from a full bucket.
//  - Thread-safe; O(1) amortised per request.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace branchline::api {

struct RateLimit {
  double per_second = 50;
  double burst = 100;
};

struct RateDecision {
  bool allowed = true;
  std::int64_t retry_after_s = 0;  // when refused
  std::int64_t remaining = 0;      // whole tokens left after this request
  std::int64_t limit = 0;          // the bucket's size
  std::int64_t reset_s = 0;        // seconds until the bucket is full again
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimit limit, std::size_t max_keys = 100000);

  RateDecision take(std::string_view key, Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
    std::list<std::string>::iterator age;  // position in lru_, most recent at the front
  };
  void evict(Clock::time_point now);

  RateLimit limit_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> lru_;
};

}  // namespace branchline::api
