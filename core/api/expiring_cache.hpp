// expiring_cache: a bounded, thread-safe map whose entries each live until their own time, for
// what the API may reuse for a short while instead of asking a plugin again (verified tokens,
// token_cache.hpp; customers' policy attributes, customer_routes.cpp).
//
// Contract:
//  - find(key, now) answers an entry only while now < its `until` (epoch seconds).
//  - insert(key, value, until, now) keeps at most `max_entries`: when full, the expired entries go
//    (swept at most once a second), then the oldest inserted ones. Re-inserting a key replaces it
//    and makes it the newest. An entry whose `until` has passed is not inserted.
//  - max_entries 0 keeps nothing. Thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace branchline::api {

template <class Value>
class ExpiringCache {
 public:
  explicit ExpiringCache(std::size_t max_entries) : max_entries_(max_entries) {}

  std::optional<Value> find(const std::string& key, std::int64_t now) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.until <= now) return std::nullopt;
    return it->second.value;
  }

  void insert(std::string key, Value value, std::int64_t until, std::int64_t now) {
    if (max_entries_ == 0 || until <= now) return;
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
    entries_.insert_or_assign(key, Entry{std::move(value), until, seq});
    order_.emplace_back(std::move(key), seq);
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  struct Entry {
    Value value;
    std::int64_t until = 0;
    std::uint64_t seq = 0;  // which insertion: an older name in order_ does not evict it
  };
  std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::pair<std::string, std::uint64_t>> order_;  // insertion order; may name entries gone or replaced
  std::uint64_t next_seq_ = 0;
  std::int64_t swept_at_ = 0;
};

}  // namespace branchline::api
