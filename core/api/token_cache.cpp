// token_cache: see token_cache.hpp.
#include "api/token_cache.hpp"

#include "api/authenticator.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace branchline::api {

TokenCache::TokenCache(std::chrono::seconds ttl, std::size_t max_entries)
    : ttl_s_(std::max<std::int64_t>(0, ttl.count())), max_entries_(max_entries), entries_(ttl_s_ > 0 ? max_entries : 0) {}

std::string TokenCache::key_of(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::shared_ptr<const Principal> TokenCache::find(const std::string& key, std::int64_t now) const {
  if (key.empty()) return nullptr;
  return entries_.find(key, now).value_or(nullptr);
}

void TokenCache::insert(std::string key, std::shared_ptr<const Principal> principal, std::int64_t now) {
  if (!enabled() || key.empty() || !principal) return;
  std::int64_t until = std::min(principal->expires_at, now + ttl_s_);
  entries_.insert(std::move(key), std::move(principal), until, now);
}

std::size_t TokenCache::size() const { return entries_.size(); }

}  // namespace branchline::api
