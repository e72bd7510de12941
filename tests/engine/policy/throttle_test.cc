#include "engine/policy/throttle.h"

#include <gtest/gtest.h>

#include "engine/base/address.h"

namespace salvo {
namespace {

constexpr int64_t kSec = 1'000'000;

TEST(TokenBucket, RateIsHonoured) {
  TokenBucket b(100, 10);
  int64_t t = 10 * kSec;
  int taken = 0;
  // Over 5 simulated seconds in 1 ms steps: about 100/s plus the initial burst.
  for (int64_t now = t; now < t + 5 * kSec; now += 1000)
    while (b.TryTake(now)) ++taken;
  EXPECT_GE(taken, 500);
  EXPECT_LE(taken, 511);
  EXPECT_GT(b.NextAvailable(t + 5 * kSec), t + 5 * kSec - 1);
  TokenBucket unlimited;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(unlimited.TryTake(t));
}

TEST(DailyCap, ResetsAtUtcMidnight) {
  DailyCap cap(3);
  int64_t day = 20000LL * 86400 * kSec;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(cap.Allowed(day + i));
    cap.Count(day + i);
  }
  EXPECT_FALSE(cap.Allowed(day + 100));
  EXPECT_TRUE(cap.Allowed(day + 86400 * kSec));
}

TEST(AdaptiveRate, CutsOnThrottleAndRecovers) {
  AdaptiveRate::Params p;
  p.hold_us = kSec;
  p.recovery_interval_us = 2 * kSec;
  AdaptiveRate a(100, p);
  int64_t t = 100 * kSec;
  EXPECT_FALSE(a.throttled());
  a.OnThrottle(t);
  EXPECT_TRUE(a.throttled());
  EXPECT_EQ(a.throttle_events(), 1u);
  EXPECT_FALSE(a.TryAcquire(t + 1));  // held
  EXPECT_EQ(a.NextAvailable(t + 1), t + kSec);
  EXPECT_LE(a.current_rate(), 50);
  double cut = a.current_rate();
  a.OnThrottle(t + 100);  // within the hold: counted, no second cut
  EXPECT_EQ(a.throttle_events(), 2u);
  EXPECT_EQ(a.current_rate(), cut);
  // Recovery: +25 % per interval until back at base.
  a.TryAcquire(t + 2 * kSec);
  EXPECT_NEAR(a.current_rate(), cut * 1.25, 1e-9);
  a.TryAcquire(t + 60 * kSec);
  EXPECT_FALSE(a.throttled());
  EXPECT_EQ(a.current_rate(), 100);
}

TEST(AdaptiveRate, UnlimitedBaseCutsToMeasuredHalf) {
  AdaptiveRate a(0);
  int64_t t = 100 * kSec;
  for (int64_t now = t; now < t + 2 * kSec; now += 1000) a.OnSend(now);  // 1000/s
  a.OnThrottle(t + 2 * kSec);
  EXPECT_NEAR(a.current_rate(), 500, 10);
  a.TryAcquire(t + 600 * kSec);
  EXPECT_FALSE(a.throttled());
}

TEST(Backoff, ExponentialWithJitterAndCap) {
  SendingConfig cfg;
  cfg.retry_base = absl::Seconds(60);
  cfg.retry_max = absl::Hours(1);
  EXPECT_EQ(RetryDelayUs(cfg, 1, 0.5), 60 * kSec);
  EXPECT_EQ(RetryDelayUs(cfg, 2, 0.5), 120 * kSec);
  EXPECT_EQ(RetryDelayUs(cfg, 3, 0.0), 180 * kSec);   // 240 * 0.75
  EXPECT_EQ(RetryDelayUs(cfg, 3, 0.999999), 299999880);
  EXPECT_EQ(RetryDelayUs(cfg, 30, 0.5), 3600 * kSec);
}

TEST(DomainThrottles, Lookup) {
  std::vector<ThrottleConfig> th = {{{"gmail.com", "GoogleMail.com"}, 10, 50}, {{"yahoo.com"}, 5, 0}};
  DomainThrottles d(th);
  EXPECT_EQ(d.Find("gmail.com"), 0);
  EXPECT_EQ(d.Find("googlemail.com"), 0);
  EXPECT_EQ(d.Find("yahoo.com"), 1);
  EXPECT_EQ(d.Find("example.com"), -1);
  EXPECT_EQ(DomainOf("a@b.example"), "b.example");
  EXPECT_EQ(DomainOf("nodomain"), "");
}

}  // namespace
}  // namespace salvo
