// retention: periods, class choice, and calendar cutoffs.
#include "audit/retention.hpp"

#include <gtest/gtest.h>

namespace branchline::audit {
namespace {

using namespace std::chrono;

system_clock::time_point at(int y, unsigned m, unsigned d) { return sys_days{year{y} / month{m} / day{d}} + hours(10); }

TEST(Retention, PeriodsParseStrictly) {
  EXPECT_EQ(RetentionPeriod::parse("30d")->days, 30);
  EXPECT_EQ(RetentionPeriod::parse("7y")->years, 7);
  for (const char* bad : {"", "d", "0d", "-1d", "7", "7m", "7 y", "101y", "36501d", "1.5y"})
    EXPECT_FALSE(RetentionPeriod::parse(bad)) << bad;
  EXPECT_EQ(RetentionPeriod::parse("10y")->to_string(), "10y");
}

TEST(Retention, TheClassComesFromTheEntryThenTheConsultationTypeThenTheDefault) {
  RetentionPolicy p;
  p.by_consultation_type = {{"loan_origination", "regulated"}, {"investment_advice", "investment"}};
  EXPECT_EQ(p.class_for(boost::json::object{{"retention", "investment"}}), "investment");
  EXPECT_EQ(p.class_for(boost::json::object{{"resource", {{"consultation_type", "loan_origination"}}}}), "regulated");
  EXPECT_EQ(p.class_for(boost::json::object{{"consultation_type", "investment_advice"}}), "investment");
  EXPECT_EQ(p.class_for(boost::json::object{{"consultation_type", "small_talk"}}), "standard");
  EXPECT_EQ(p.longest_class(), "investment");
}

TEST(Retention, CutoffsAreCalendarDatesAndUnknownClassesNeverExpire) {
  RetentionPolicy p;
  EXPECT_EQ(*p.cutoff("standard", at(2026, 11, 24)), "2026-10-25T10:00:00.000000Z");
  EXPECT_EQ(*p.cutoff("regulated", at(2026, 11, 24)), "2019-11-24T10:00:00.000000Z");
  EXPECT_EQ(*p.cutoff("investment", at(2028, 2, 29)), "2018-02-28T10:00:00.000000Z");  // no 29 Feb in 2018
  EXPECT_FALSE(p.cutoff("regulatd", at(2026, 11, 24)));
  EXPECT_EQ(ledger_time(at(2026, 1, 2) + microseconds(5)), "2026-01-02T10:00:00.000005Z");
}

}  // namespace
}  // namespace branchline::audit

namespace branchline::audit {
namespace {

// A time with fewer than three fraction digits is read from its normalised form.
TEST(LedgerTime, EpochMillisecondsReadTheFractionWhateverItsLength) {
  EXPECT_EQ(ledger_epoch_ms("2026-11-24T10:00:00Z"), 1795514400000);
  EXPECT_EQ(ledger_epoch_ms("2026-11-24T10:00:00.1Z"), 1795514400100);
  EXPECT_EQ(ledger_epoch_ms("2026-11-24T10:00:00.123456Z"), 1795514400123);
  EXPECT_EQ(ledger_epoch_ms("not a time"), 0);
}

}  // namespace
}  // namespace branchline::audit
