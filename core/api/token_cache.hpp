// token_cache: bearer tokens the identity plugin has accepted, so that a client sending the same
// token on every request has its signature checked once, not on every request (Envoy's jwt_authn
// keeps the same kind of cache of verified tokens).
//
// Contract:
//  - Keyed by the token's SHA-256: the token itself is not kept. Only what a bearer token proves
//    is cached; a DPoP proof is new on every request and always goes to the plugin.
//  - An entry lives until the token's expiry or `ttl` after it was checked, whichever comes
//    first: `ttl` bounds how long a token stays accepted after its provider withdrew the key
//    that signed it. ttl 0 turns the cache off.
//  - At most `max_entries`: when full, expired entries go, then the oldest ones (expiring_cache.hpp).
//  - The checks that depend on the time or the host's state (expiry, the longest lifetime, the
//    logout record) are not the cache's: the authenticator runs them on every request.
//  - Thread-safe.
#pragma once

#include "api/expiring_cache.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace branchline::api {

struct Principal;

class TokenCache {
 public:
  TokenCache(std::chrono::seconds ttl, std::size_t max_entries);

  bool enabled() const { return ttl_s_ > 0 && max_entries_ > 0; }
  // The key of a token: its SHA-256, raw.
  static std::string key_of(std::string_view token);

  // The principal a token proved, if it was checked less than ttl ago and has not expired by
  // `now` (epoch seconds).
  std::shared_ptr<const Principal> find(const std::string& key, std::int64_t now) const;
  void insert(std::string key, std::shared_ptr<const Principal> principal, std::int64_t now);
  std::size_t size() const;

 private:
  std::int64_t ttl_s_;
  std::size_t max_entries_;
  ExpiringCache<std::shared_ptr<const Principal>> entries_;
};

}  // namespace branchline::api
