// The record of ended sessions: what single logout refuses afterwards, which live sessions it
// closes, how long it remembers, and its bound.
#include "api/session_registry.hpp"

#include <gtest/gtest.h>

namespace branchline::api {
namespace {

using namespace std::chrono_literals;
using Clock = SessionRegistry::Clock;

const SessionKey kAnn{"https://idp.bank.example", "ann", "s-1"};
const SessionKey kAnnElsewhere{"https://idp.bank.example", "ann", "s-2"};
const SessionKey kAnnOtherIdp{"https://customers.bank.example", "ann", "s-1"};
const SessionKey kBob{"https://idp.bank.example", "bob", "s-3"};

TEST(SessionRegistry, ALogoutNamingASessionEndsThatSessionOnly) {
  SessionRegistry sessions(3600s);
  EXPECT_FALSE(sessions.logged_out(kAnn, 1000));
  // The subject is named too, but a logout with a sid ends that session (Back-Channel Logout §2.4).
  sessions.end({kAnn.issuer, std::string("ann"), std::string("s-1"), 2000});
  EXPECT_TRUE(sessions.logged_out(kAnn, 1000));
  EXPECT_TRUE(sessions.logged_out(kAnn, 5000));  // a session id is never reused: any token of it
  EXPECT_FALSE(sessions.logged_out(kAnnElsewhere, 1000));
  EXPECT_FALSE(sessions.logged_out(kAnnOtherIdp, 1000));  // a session id is unique only per issuer
  EXPECT_FALSE(sessions.logged_out(kBob, 1000));
  // A token of that subject that names no session could be of the ended one: refused if older.
  EXPECT_TRUE(sessions.logged_out({kAnn.issuer, "ann", ""}, 2000));
  EXPECT_FALSE(sessions.logged_out({kAnn.issuer, "ann", ""}, 2001));
}

TEST(SessionRegistry, ALogoutNamingOnlyTheSubjectEndsEveryEarlierTokenOfThatPerson) {
  SessionRegistry sessions(3600s);
  sessions.end({kAnn.issuer, std::string("ann"), std::nullopt, 2000});
  EXPECT_TRUE(sessions.logged_out(kAnn, 1999));
  EXPECT_TRUE(sessions.logged_out(kAnnElsewhere, 2000));  // issued in the logout's second: refused
  EXPECT_TRUE(sessions.logged_out(kAnn, std::nullopt));   // no iat: counted as before
  EXPECT_FALSE(sessions.logged_out(kAnn, 2001));          // a later sign-in is a new session
  EXPECT_FALSE(sessions.logged_out(kAnnOtherIdp, 1000));
  // A later logout of the same subject moves the line; an earlier one never moves it back.
  sessions.end({kAnn.issuer, std::string("ann"), std::nullopt, 3000});
  sessions.end({kAnn.issuer, std::string("ann"), std::nullopt, 2500});
  EXPECT_TRUE(sessions.logged_out(kAnn, 2999));
  EXPECT_FALSE(sessions.logged_out(kAnn, 3001));
}

TEST(SessionRegistry, LiveSessionsOfTheEndedSessionAreClosedBeforeEndReturns) {
  SessionRegistry sessions(3600s);
  int ann = 0, ann_elsewhere = 0, bob = 0;
  auto a = sessions.attach(kAnn, 1000, [&] { ++ann; });
  auto a2 = sessions.attach(kAnnElsewhere, 1000, [&] { ++ann_elsewhere; });
  auto b = sessions.attach(kBob, 1000, [&] { ++bob; });
  EXPECT_EQ(sessions.live(), 3u);
  EXPECT_EQ(sessions.end({kAnn.issuer, std::nullopt, std::string("s-1"), 2000}), 1u);
  EXPECT_EQ(ann, 1);
  EXPECT_EQ(ann_elsewhere, 0);
  // Every session of the subject; the one already closed is not closed twice.
  EXPECT_EQ(sessions.end({kAnn.issuer, std::string("ann"), std::nullopt, 2000}), 1u);
  EXPECT_EQ(ann, 1);
  EXPECT_EQ(ann_elsewhere, 1);
  EXPECT_EQ(bob, 0);
}

TEST(SessionRegistry, ASessionAttachedAfterItsLogoutIsClosedAtOnceAndDetachingForgetsIt) {
  SessionRegistry sessions(3600s);
  sessions.end({kAnn.issuer, std::nullopt, std::string("s-1"), 2000});
  bool closed = false;
  auto late = sessions.attach(kAnn, 1000, [&] { closed = true; });
  EXPECT_TRUE(closed);
  EXPECT_FALSE(late);
  {
    auto b = sessions.attach(kBob, 1000, [] {});
    EXPECT_TRUE(b);
    EXPECT_EQ(sessions.live(), 1u);
    SessionRegistry::Attachment moved = std::move(b);
    EXPECT_EQ(sessions.live(), 1u);
  }
  EXPECT_EQ(sessions.live(), 0u);
}

TEST(SessionRegistry, ALogoutIsRememberedAsLongAsATokenCanLiveAndNoLonger) {
  SessionRegistry sessions(3600s);
  Clock::time_point t0 = Clock::now();
  sessions.end({kAnn.issuer, std::nullopt, std::string("s-1"), 2000}, t0);
  EXPECT_TRUE(sessions.logged_out(kAnn, 1000, t0 + 3599s));
  EXPECT_FALSE(sessions.logged_out(kAnn, 1000, t0 + 3600s));
  EXPECT_EQ(sessions.remembered(), 0u);
}

TEST(SessionRegistry, WhenFullTheOldestLogoutGoesFirst) {
  SessionRegistry sessions(3600s, 3);
  Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 5; ++i)
    sessions.end({kAnn.issuer, std::nullopt, "s-" + std::to_string(i), 2000}, t0 + std::chrono::seconds(i));
  EXPECT_EQ(sessions.remembered(), 3u);  // the logouts name no subject: one record each
  EXPECT_FALSE(sessions.logged_out({kAnn.issuer, "ann", "s-0"}, 1000, t0 + 5s));
  EXPECT_FALSE(sessions.logged_out({kAnn.issuer, "ann", "s-1"}, 1000, t0 + 5s));
  for (int i = 2; i < 5; ++i) EXPECT_TRUE(sessions.logged_out({kAnn.issuer, "ann", "s-" + std::to_string(i)}, 1000, t0 + 5s));
}

}  // namespace
}  // namespace branchline::api
