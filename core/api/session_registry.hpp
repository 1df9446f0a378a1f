// session_registry: the sign-in sessions the host serves, and the ones single logout has ended.
//
// A JWT access token cannot be revoked at the identity provider: it stays valid until it expires.
// So when the provider says a session ended (OIDC Back-Channel Logout), the host itself must
// refuse that session's tokens from then on, and close what is still open on them.
//
// Contract:
//  - end(logout) records a logout and, before it returns, calls the closer of every live session
//    that matches (WebSockets, media sessions), outside the registry's lock. It returns how many it
//    closed. As Back-Channel Logout 1.0 §2.4 says, a logout that names a session (`sid`) ends that
//    session only, even when it names the subject too; one that names only a subject ends every
//    session of that subject. A logout naming both also ends the subject's tokens that carry no
//    session id (many providers leave `sid` out of access tokens): they could be of that session.
//  - logged_out(token) is true for a token of an ended (issuer, session id), whatever its age (an
//    identity provider never reuses a session id), and for a token of an ended (issuer, subject)
//    issued at or before that logout (a later sign-in of the same person is a new session). A
//    token without `iat` counts as issued before any logout.
//  - A logout is remembered for `remember` (the longest access-token lifetime the API accepts,
//    plus twice the clock skew: a token is accepted while exp - now <= lifetime + skew, and until
//    exp + skew): after that every token it could refuse has expired. Memory is bounded by
//    max_records; when full, the oldest record goes first, with a warning in the log (logouts
//    come only from the identity provider's signed tokens, so only a misbehaving provider fills it).
//  - attach() registers a live session under its principal and session id; the returned
//    Attachment detaches it when destroyed. A session attached after its logout is closed at once.
//  - Thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace branchline::api {

struct SessionKey {
  std::string issuer;
  std::string subject;
  std::string session_id;  // the IdP's `sid`; may be empty
};

struct Logout {
  std::string issuer;
  std::optional<std::string> subject, session_id;  // at least one
  std::int64_t at = 0;  // Unix seconds: tokens of `subject` issued at or before this are refused
  // The provider sent this logout before (the plugin saw its token id): applying it again reaches
  // no further than the provider's own time of the logout (`at` comes from its issued_at).
  bool replayed = false;
};

// When a logout took effect (Logout::at): the provider's own time of it (`issued_at`, its tokens'
// iat compare with it), never later than its arrival plus the clock skew (a logout cannot refuse
// tokens the provider has yet to issue); its arrival when the provider gave none.
inline std::int64_t logout_time(std::optional<std::int64_t> issued_at, std::int64_t arrived_s, std::int64_t clock_skew_s) {
  return issued_at ? std::min(*issued_at, arrived_s + clock_skew_s) : arrived_s;
}

class SessionRegistry {
 public:
  using Clock = std::chrono::steady_clock;

  class Attachment {
   public:
    Attachment() = default;
    Attachment(Attachment&& other) noexcept { *this = std::move(other); }
    Attachment& operator=(Attachment&& other) noexcept;
    ~Attachment();
    explicit operator bool() const { return registry_ != nullptr; }

   private:
    friend class SessionRegistry;
    SessionRegistry* registry_ = nullptr;
    std::uint64_t id_ = 0;
  };

  SessionRegistry(std::chrono::seconds remember, std::size_t max_records = 1'000'000);
  ~SessionRegistry();

  std::size_t end(const Logout& logout, Clock::time_point now = Clock::now());
  bool logged_out(const SessionKey& key, std::optional<std::int64_t> issued_at, Clock::time_point now = Clock::now());

  // `close` runs at most once, on the thread that calls end() (or at once, on this thread, when
  // the session already ended). It must not call back into the registry's attach().
  Attachment attach(const SessionKey& key, std::optional<std::int64_t> issued_at, std::function<void()> close);

  std::size_t live() const;
  std::size_t remembered() const;

 private:
  struct Record {
    std::int64_t at = 0;
    Clock::time_point forget_at;
  };
  struct LiveSession {
    SessionKey key;
    std::optional<std::int64_t> issued_at;
    std::function<void()> close;
  };
  using Pair = std::pair<std::string, std::string>;  // (issuer, sid) or (issuer, subject)
  enum class Index { session, subject, sessionless };
  std::map<Pair, Record>& records(Index index);

  bool logged_out_locked(const SessionKey& key, std::optional<std::int64_t> issued_at, Clock::time_point now);
  void remember_locked(Index index, Pair key, std::int64_t at, Clock::time_point now);
  void forget_expired_locked(Clock::time_point now);
  void detach(std::uint64_t id);

  std::chrono::seconds remember_;
  std::size_t max_records_;
  mutable std::mutex mutex_;
  std::map<Pair, Record> by_session_, by_subject_;
  std::map<Pair, Record> by_subject_sessionless_;  // (issuer, subject) of logouts that named a sid too
  std::multimap<Clock::time_point, std::pair<Index, Pair>> expiry_;  // soonest first
  std::map<std::uint64_t, LiveSession> live_;
  std::uint64_t next_id_ = 1;
};

}  // namespace branchline::api
