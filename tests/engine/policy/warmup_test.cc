#include "engine/policy/warmup.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace salvo {
namespace {

constexpr int64_t kMin = 60'000'000;
constexpr int64_t kDay20261201 = 20788;  // unix day of 2026-12-01

TEST(Warmup, DayIndexCountsFromTheStartDay) {
  EXPECT_EQ(WarmupDayIndex(kDay20261201, kDay20261201), 1);
  EXPECT_EQ(WarmupDayIndex(kDay20261201, kDay20261201 + 1), 2);
  EXPECT_EQ(WarmupDayIndex(kDay20261201, kDay20261201 + 34), 35);
  EXPECT_EQ(WarmupDayIndex(kDay20261201, kDay20261201 - 5), 1);  // before the start: day 1
}

TEST(Warmup, ExplicitListThenNoCap) {
  WarmupConfig w;
  w.start_day = kDay20261201;
  w.daily = {100, 200};
  EXPECT_EQ(WarmupCapOnDay(w, kDay20261201 - 1), 100u);
  EXPECT_EQ(WarmupCapOnDay(w, kDay20261201), 100u);
  EXPECT_EQ(WarmupCapOnDay(w, kDay20261201 + 1), 200u);
  EXPECT_EQ(WarmupCapOnDay(w, kDay20261201 + 2), std::nullopt);
}

TEST(Warmup, StandardCurveRisesFromTensToAHundredThousandInFiveWeeks) {
  const auto& c = StandardWarmupCurve();
  ASSERT_EQ(c.size(), 35u);
  EXPECT_EQ(c.front(), 50u);
  EXPECT_EQ(c.back(), 100000u);
  for (size_t i = 1; i < c.size(); ++i) {
    EXPECT_GT(c[i], c[i - 1]) << i;
    EXPECT_LE(c[i], c[i - 1] * 2) << i;  // never more than doubles from one day to the next
  }
  WarmupConfig w;
  w.start_day = kDay20261201;
  EXPECT_EQ(WarmupCapOnDay(w, kDay20261201), 50u);
  EXPECT_EQ(WarmupCapOnDay(w, kDay20261201 + 34), 100000u);
  EXPECT_EQ(WarmupCapOnDay(w, kDay20261201 + 35), std::nullopt);
}

TEST(ReplyRateGuard, NeedsTheMinimumSample) {
  WarmupConfig w;  // 5 % bounces, 0.3 % complaints, 100 messages
  ReplyRateGuard g;
  const int64_t t = 1000 * kMin;
  for (int i = 0; i < 50; ++i) g.OnSent(t);
  for (int i = 0; i < 25; ++i) g.OnBounce(t);
  std::string why;
  EXPECT_FALSE(g.Tripped(t, w, &why));  // 50 % but only 50 sent
  for (int i = 0; i < 50; ++i) g.OnSent(t + kMin);
  EXPECT_TRUE(g.Tripped(t + kMin, w, &why));
  EXPECT_TRUE(absl::StrContains(why, "bounce rate 25.0 % (25 of 100 in the last hour)")) << why;
}

TEST(ReplyRateGuard, BelowTheThresholdAndOldRepliesAgeOut) {
  WarmupConfig w;
  ReplyRateGuard g;
  const int64_t t = 1000 * kMin;
  for (int i = 0; i < 200; ++i) g.OnSent(t);
  for (int i = 0; i < 10; ++i) g.OnBounce(t);  // exactly 5 %: not above
  std::string why;
  EXPECT_FALSE(g.Tripped(t, w, &why));
  g.OnBounce(t + 30 * kMin);
  EXPECT_TRUE(g.Tripped(t + 30 * kMin, w, &why));
  // An hour later those 200 sends and 11 bounces are out of the window.
  for (int i = 0; i < 200; ++i) g.OnSent(t + 61 * kMin);
  EXPECT_FALSE(g.Tripped(t + 61 * kMin, w, &why));
  EXPECT_TRUE(g.Tripped(t + 59 * kMin, w, &why));
}

TEST(ReplyRateGuard, Complaints) {
  WarmupConfig w;
  w.max_bounce_rate = 0;  // off
  ReplyRateGuard g;
  const int64_t t = 5000 * kMin;
  for (int i = 0; i < 1000; ++i) g.OnSent(t);
  for (int i = 0; i < 300; ++i) g.OnBounce(t);
  for (int i = 0; i < 3; ++i) g.OnComplaint(t);
  std::string why;
  EXPECT_FALSE(g.Tripped(t, w, &why));  // 0.3 % is the limit, not above
  g.OnComplaint(t);
  EXPECT_TRUE(g.Tripped(t, w, &why));
  EXPECT_TRUE(absl::StrContains(why, "complaint rate 0.40 %")) << why;
}

}  // namespace
}  // namespace salvo
