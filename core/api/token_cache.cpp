// token_cache: see token_cache.hpp.
#include "api/token_cache.hpp"

#include "api/authenticator.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace branchline::api {

TokenCache::TokenCache(std::chrono::seconds ttl, std::size_t max_entries)
    : ttl_s_(std::max<std::int64_t>(0, ttl.count())), max_entries_(max_entries) {}

std::string TokenCache::key_of(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::shared_ptr<const Principal> TokenCache::find(const std::string& key, std::int64_t now) const {
  if (key.empty()) return nullptr;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.until <= now) return nullptr;
  return it->second.principal;
}

void TokenCache::insert(std::string key, std::shared_ptr<const Principal> principal, std::int64_t now) {
  if (!enabled() || key.empty() || !principal) return;
  std::int64_t until = std::min(principal->expires_at, now + ttl_s_);
  if (until <= now) return;
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_entries_) {
    if (swept_at_ != now) {
      swept_at_ = now;
      std::erase_if(entries_, [now](const auto& e) { return e.second.until <= now; });
    }
    while (entries_.size() >= max_entries_ && !order_.empty()) {
      auto& [oldest, seq] = order_.front();
      if (auto it = entries_.find(oldest); it != entries_.end() && it->second.seq == seq) entries_.erase(it);
      order_.pop_front();
    }
  }
  // The order names entries that are gone or replaced: keep it from growing past the map by much.
  if (order_.size() > 2 * max_entries_) {
    std::deque<std::pair<std::string, std::uint64_t>> live;
    for (auto& named : order_)
      if (auto it = entries_.find(named.first); it != entries_.end() && it->second.seq == named.second)
        live.push_back(std::move(named));
    order_ = std::move(live);
  }
  std::uint64_t seq = ++next_seq_;
  entries_.insert_or_assign(key, Entry{std::move(principal), until, seq});
  order_.emplace_back(std::move(key), seq);
}

std::size_t TokenCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace branchline::api
