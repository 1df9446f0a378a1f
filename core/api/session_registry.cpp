// session_registry: see session_registry.hpp.
#include "api/session_registry.hpp"

#include "common/log.hpp"

#include <vector>

namespace branchline::api {

SessionRegistry::SessionRegistry(std::chrono::seconds remember, std::size_t max_records)
    : remember_(remember), max_records_(max_records == 0 ? 1 : max_records) {}

SessionRegistry::~SessionRegistry() = default;

SessionRegistry::Attachment& SessionRegistry::Attachment::operator=(Attachment&& other) noexcept {
  if (this != &other) {
    if (registry_) registry_->detach(id_);
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

SessionRegistry::Attachment::~Attachment() {
  if (registry_) registry_->detach(id_);
}

std::map<SessionRegistry::Pair, SessionRegistry::Record>& SessionRegistry::records(Index index) {
  return index == Index::session ? by_session_ : index == Index::subject ? by_subject_ : by_subject_sessionless_;
}

void SessionRegistry::forget_expired_locked(Clock::time_point now) {
  while (!expiry_.empty() && expiry_.begin()->first <= now) {
    auto [index, key] = expiry_.begin()->second;
    auto& from = records(index);
    // A record renewed by a later logout has a later forget_at; this expiry entry is stale then.
    if (auto it = from.find(key); it != from.end() && it->second.forget_at <= now) from.erase(it);
    expiry_.erase(expiry_.begin());
  }
}

void SessionRegistry::remember_locked(Index index, Pair key, std::int64_t at, Clock::time_point now) {
  Clock::time_point forget_at = now + remember_;
  auto [it, inserted] = records(index).try_emplace(key, Record{at, forget_at});
  if (!inserted) {
    // The same logout again, or an earlier one (a provider's retry; the ledger's entries restored
    // at start): already covered, and remembered long enough, since it was remembered from no later
    // than its own time. Nothing is added, so that a repeated logout token costs no memory.
    if (at <= it->second.at) return;
    it->second.at = at;
    // Never shorter: logouts restored from the ledger come in sequence order, not in the order
    // of their ages.
    it->second.forget_at = std::max(it->second.forget_at, forget_at);
  }
  expiry_.emplace(forget_at, std::make_pair(index, std::move(key)));
  while (by_session_.size() + by_subject_.size() + by_subject_sessionless_.size() > max_records_ && !expiry_.empty()) {
    auto [oldest_index, oldest] = expiry_.begin()->second;
    expiry_.erase(expiry_.begin());
    if (records(oldest_index).erase(oldest) > 0)
      log::warn("api", "the record of logged-out sessions is full (" + std::to_string(max_records_) +
                           "); the oldest logout is forgotten before its tokens expire");
  }
}

std::size_t SessionRegistry::end(const Logout& logout, Clock::time_point now) {
  std::vector<std::function<void()>> closers;
  {
    std::lock_guard lock(mutex_);
    forget_expired_locked(now);
    bool has_subject = logout.subject && !logout.subject->empty();
    if (logout.session_id && !logout.session_id->empty()) {
      remember_locked(Index::session, {logout.issuer, *logout.session_id}, logout.at, now);
      if (has_subject) remember_locked(Index::sessionless, {logout.issuer, *logout.subject}, logout.at, now);
    } else if (has_subject) {
      remember_locked(Index::subject, {logout.issuer, *logout.subject}, logout.at, now);
    } else {
      return 0;
    }
    for (auto it = live_.begin(); it != live_.end(); ++it) {
      if (it->second.close && logged_out_locked(it->second.key, it->second.issued_at, now))
        closers.push_back(std::exchange(it->second.close, nullptr));  // each closer runs once
    }
  }
  for (auto& close : closers) close();
  return closers.size();
}

bool SessionRegistry::logged_out_locked(const SessionKey& key, std::optional<std::int64_t> issued_at,
                                        Clock::time_point now) {
  forget_expired_locked(now);
  if (!key.session_id.empty() && by_session_.count({key.issuer, key.session_id}) > 0) return true;
  auto ended_before = [&](const std::map<Pair, Record>& from) {
    auto it = from.find({key.issuer, key.subject});
    return it != from.end() && (!issued_at || *issued_at <= it->second.at);
  };
  if (ended_before(by_subject_)) return true;
  return key.session_id.empty() && ended_before(by_subject_sessionless_);
}

bool SessionRegistry::logged_out(const SessionKey& key, std::optional<std::int64_t> issued_at, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return logged_out_locked(key, issued_at, now);
}

SessionRegistry::Attachment SessionRegistry::attach(const SessionKey& key, std::optional<std::int64_t> issued_at,
                                                    std::function<void()> close) {
  Attachment attachment;
  {
    std::lock_guard lock(mutex_);
    if (!logged_out_locked(key, issued_at, Clock::now())) {
      std::uint64_t id = next_id_++;
      live_.emplace(id, LiveSession{key, issued_at, std::move(close)});
      attachment.registry_ = this;
      attachment.id_ = id;
      return attachment;
    }
  }
  if (close) close();  // it ended before it started
  return attachment;
}

void SessionRegistry::detach(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  live_.erase(id);
}

std::size_t SessionRegistry::live() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

std::size_t SessionRegistry::remembered() const {
  std::lock_guard lock(mutex_);
  return by_session_.size() + by_subject_.size() + by_subject_sessionless_.size();
}

}  // namespace branchline::api
