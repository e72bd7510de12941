// shard/runner/egress_chooser.h: weights, account pauses, daily limits and rates shared through
// the account state, and per-domain rates and connection caps.
#include "shard/runner/egress_chooser.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "shard/account_state.h"
#include "tests/shard/runner/run_fixture.h"

namespace salvo {
namespace {

constexpr int64_t kNow = 1796000000LL * 1000000;  // 2026-11-30T00:53:20Z

RunItem Item(const std::string& key) {
  RunItem it;
  it.r = test::RunFixture::MakeRecipient(key);
  return it;
}

// A [[throttle]] on slow.test, and the fixture's run state rebuilt with it.
void ThrottleSlowTest(test::RunFixture& f, uint32_t max_connections, double rate_per_second) {
  ThrottleConfig t;
  t.domains = {"slow.test"};
  t.max_connections = max_connections;
  t.rate_per_second = rate_per_second;
  f.config.throttles.push_back(t);
  f.Rebuild();
}

TEST(EgressChooser, SharesByWeightAndCountsAttempts) {
  test::RunFixture f({3, 1});
  EgressChooser e(f.s.get());
  int by[2] = {0, 0};
  for (int i = 0; i < 400; ++i) {
    RunItem it = Item("r" + std::to_string(i) + "@example.test");
    int64_t retry = 0;
    ASSERT_TRUE(e.Pick(&it, kNow, &retry));
    ASSERT_GE(it.acct, 0);
    EXPECT_EQ(it.ip, -1);  // no source_ips: the kernel chooses
    by[it.acct]++;
  }
  EXPECT_EQ(by[0], 300);
  EXPECT_EQ(by[1], 100);
  EXPECT_EQ(f.s->accounts[0]->attempts.load(), 300u);
}

TEST(EgressChooser, AccountRateSaysWhenToTryAgain) {
  test::RunFixture f;
  f.config.accounts[0].rate_per_second = 10;
  f.Rebuild();
  EgressChooser e(f.s.get());
  RunItem a = Item("a@example.test"), b = Item("b@example.test");
  int64_t retry = 0;
  ASSERT_TRUE(e.Pick(&a, kNow, &retry));
  EXPECT_FALSE(e.Pick(&b, kNow, &retry));
  EXPECT_GT(retry, kNow);
  EXPECT_LE(retry, kNow + 100'001);  // 10/s: the next slot in 100 ms (rounded up to the µs)
  EXPECT_TRUE(e.Pick(&b, retry, &retry));
}

TEST(EgressChooser, DailyLimitMovesToTheOtherAccountThenNothingIsUsable) {
  test::RunFixture f({1, 1});
  f.config.accounts[0].daily_limit = 2;
  f.config.accounts[1].daily_limit = 1;
  f.Rebuild();
  EgressChooser e(f.s.get());
  int by[2] = {0, 0};
  int64_t retry = 0;
  for (int i = 0; i < 10 && by[0] + by[1] < 3; ++i) {
    RunItem it = Item("r" + std::to_string(i) + "@example.test");
    if (e.Pick(&it, kNow, &retry)) by[it.acct]++;
  }
  EXPECT_EQ(by[0], 2);
  EXPECT_EQ(by[1], 1);
  RunItem more = Item("more@example.test");
  EXPECT_FALSE(e.Pick(&more, kNow, &retry));
  EXPECT_EQ(retry, -1);  // no account usable today: the campaign pauses
  // The next UTC day counts from 0 again.
  EXPECT_TRUE(e.Pick(&more, kNow + 86400LL * 1000000, &retry));
}

TEST(EgressChooser, SourceIpWarmupCapsMoveToTheOtherIpThenNothingIsUsable) {
  test::RunFixture f;
  f.config.accounts[0].source_ips = {"192.0.2.10", "192.0.2.11"};
  f.config.warmups.resize(2);
  for (int i = 0; i < 2; ++i) {
    f.config.warmups[i].source_ip = f.config.accounts[0].source_ips[i];
    f.config.warmups[i].start_day = kNow / (86400LL * 1000000);
  }
  f.config.warmups[0].daily = {2};
  f.config.warmups[1].daily = {1};
  f.Rebuild();
  // The process's state (in this fixture's own data_dir), with the IPs' warm-ups.
  auto st = AccountStates::Process().Acquire(f.store.get(), f.config.accounts[0], kNow,
                                             &f.config.warmups);
  ASSERT_TRUE(st.ok()) << st.status();
  f.s->accounts[0]->state = *st;
  EgressChooser e(f.s.get());
  int by[2] = {0, 0};
  int64_t retry = 0;
  for (int i = 0; i < 10 && by[0] + by[1] < 3; ++i) {
    RunItem it = Item("r" + std::to_string(i) + "@example.test");
    if (e.Pick(&it, kNow, &retry)) {
      by[it.ip]++;
      EXPECT_GE(it.ip_daily_day, 0);
    }
  }
  EXPECT_EQ(by[0], 2);
  EXPECT_EQ(by[1], 1);
  RunItem more = Item("more@example.test");
  EXPECT_FALSE(e.Pick(&more, kNow, &retry));
  EXPECT_EQ(retry, -1);  // both IPs at their warm-up caps: the campaign pauses
  // The day after, both lists have ended: no warm-up cap.
  EXPECT_TRUE(e.Pick(&more, kNow + 86400LL * 1000000, &retry));
  // A reservation given back (never sent) frees the IP's slot again.
  e.Release(more.acct, more.ip, &more);
  EXPECT_EQ(more.ip_daily_day, -1);
}

TEST(EgressChooser, ShortPausesAreWaitedForLongOnesLeaveTheAccountOut) {
  test::RunFixture f({1, 1});
  EgressChooser e(f.s.get());
  const int64_t now_s = kNow / 1000000;
  ASSERT_TRUE(f.states[0]->Pause(f.store.get(), "manual", "by hand", now_s, 0).ok());
  RunItem it = Item("x@example.test");
  int64_t retry = 0;
  ASSERT_TRUE(e.Pick(&it, kNow, &retry));
  EXPECT_EQ(it.acct, 1);  // the paused account is skipped
  ASSERT_TRUE(f.states[1]->Pause(f.store.get(), "account_rate", "421 slow down", now_s,
                                 now_s + 300).ok());
  EXPECT_FALSE(e.Pick(&it, kNow, &retry));
  EXPECT_EQ(retry, kNow + 1'000'000);  // a 5-minute pause is waited for: looked at again each second
  ASSERT_TRUE(f.states[1]->Resume(f.store.get(), "", now_s).ok());
  ASSERT_TRUE(f.states[1]->Pause(f.store.get(), "account_quota", "550 5.4.5", now_s,
                                 now_s + 86400).ok());
  EXPECT_FALSE(e.Pick(&it, kNow, &retry));
  EXPECT_EQ(retry, -1);  // a day: the account is out, and nothing else is usable
}

TEST(EgressChooser, DomainConnectionCapAndThrottledRate) {
  test::RunFixture f;
  ThrottleSlowTest(f, 1, 0);
  EgressChooser e(f.s.get());
  RunItem a = Item("a@slow.test"), b = Item("b@slow.test"), c = Item("c@fast.test");
  int64_t retry = 0;
  ASSERT_TRUE(e.Pick(&a, kNow, &retry));
  EXPECT_EQ(e.InFlight(a.dom_key), 1u);
  EXPECT_FALSE(e.Pick(&b, kNow, &retry));  // one connection to slow.test at a time
  EXPECT_EQ(retry, kNow + 5000);
  EXPECT_TRUE(e.Pick(&c, kNow, &retry));   // other domains are not held back
  e.Done(a, kNow);
  EXPECT_EQ(e.InFlight(a.dom_key), 0u);
  ASSERT_TRUE(e.Pick(&b, kNow, &retry));
  EXPECT_EQ(b.counted_at, kNow);
  e.Done(b, kNow);
  // One throttling reply is no evidence about the rate: b waits the hold, the domain does not.
  AdaptiveRate& rate = e.Throttled(b, kNow);
  EXPECT_FALSE(rate.throttled());
  EXPECT_EQ(rate.NextAvailable(kNow), kNow);
  EXPECT_EQ(rate.RetryAt(kNow), kNow + 2'000'000);
  // Nine more, of ten replies in the window: the pair's rate is cut, the next message waits.
  for (int i = 0; i < 9; ++i) {
    RunItem d = Item("d" + std::to_string(i) + "@slow.test");
    ASSERT_TRUE(e.Pick(&d, kNow, &retry));
    e.Done(d, kNow);
    EXPECT_FALSE(rate.throttled());
    e.Throttled(d, kNow);
  }
  EXPECT_TRUE(rate.throttled());
  EXPECT_GT(rate.NextAvailable(kNow), kNow);
  RunItem g = Item("g@slow.test");
  EXPECT_FALSE(e.Pick(&g, kNow, &retry));
  EXPECT_GT(retry, kNow);
}

TEST(EgressChooser, ThrottleOfAnUnmeasuredDomainStartsMeasuringWithoutACut) {
  test::RunFixture f;
  EgressChooser e(f.s.get());
  int64_t retry = 0;
  // No [[throttle]] for the domain: its sends are not counted until a throttling reply comes.
  RunItem a = Item("a@busy.test"), b = Item("b@busy.test");
  ASSERT_TRUE(e.Pick(&a, kNow, &retry));
  ASSERT_TRUE(e.Pick(&b, kNow, &retry));
  EXPECT_EQ(a.counted_at, -1);
  e.Done(a, kNow);
  e.Done(b, kNow);
  // Replies to messages it never counted cannot cut the rate (their share is unknown): before,
  // the first 421 cut an unlimited domain to a made-up 5 msgs/s.
  AdaptiveRate& rate = e.Throttled(a, kNow);
  e.Throttled(b, kNow);
  EXPECT_EQ(rate.throttle_events(), 2u);
  EXPECT_FALSE(rate.throttled());
  EXPECT_EQ(rate.NextAvailable(kNow), kNow);
  // From now on its sends are counted.
  RunItem c = Item("c@busy.test");
  ASSERT_TRUE(e.Pick(&c, kNow + 1, &retry));
  EXPECT_EQ(c.counted_at, kNow + 1);
  EXPECT_FALSE(c.dom_key.empty());
}

TEST(EgressChooser, MessagesHeldBackByOneRateGetSuccessiveSlots) {
  test::RunFixture f;
  f.config.accounts[0].rate_per_second = 10;
  f.Rebuild();
  EgressChooser e(f.s.get());
  RunItem first = Item("first@example.test");
  int64_t retry = 0;
  ASSERT_TRUE(e.Pick(&first, kNow, &retry));
  // Five messages held back at the same moment: one slot each, 100 ms apart, instead of all of
  // them trying the first free slot again (and four of them failing) at every slot.
  std::vector<RunItem> held;
  std::vector<int64_t> at;
  for (int i = 0; i < 5; ++i) {
    held.push_back(Item("h" + std::to_string(i) + "@example.test"));
    ASSERT_FALSE(e.Pick(&held.back(), kNow, &retry));
    at.push_back(retry);
  }
  EXPECT_GT(at[0], kNow);
  EXPECT_LE(at[0], kNow + 100'001);
  for (int i = 1; i < 5; ++i) EXPECT_EQ(at[i] - at[i - 1], 100'000) << i;
  // Each gets its slot at its time, the first time it tries again.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(e.Pick(&held[i], at[i], &retry)) << i;
}

TEST(EgressChooser, MessagesHeldBackByADomainRateGetSuccessiveSlots) {
  test::RunFixture f;
  ThrottleSlowTest(f, 0, 4.0 * f.s->workers);  // 4/s in this feeder's share
  EgressChooser e(f.s.get());
  int64_t now = kNow;
  int64_t retry = 0;
  // Use up the pair's burst.
  int sent = 0;
  for (; sent < 100; ++sent) {
    RunItem it = Item("b" + std::to_string(sent) + "@slow.test");
    if (!e.Pick(&it, now, &retry)) break;
    e.Done(it, now);
  }
  ASSERT_LT(sent, 100);
  std::vector<RunItem> held;
  std::vector<int64_t> at;
  for (int i = 0; i < 4; ++i) {
    held.push_back(Item("h" + std::to_string(i) + "@slow.test"));
    ASSERT_FALSE(e.Pick(&held.back(), now, &retry));
    at.push_back(retry);
  }
  for (int i = 1; i < 4; ++i) EXPECT_EQ(at[i] - at[i - 1], 250'000) << i;
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(e.Pick(&held[i], at[i], &retry)) << i;
    e.Done(held[i], at[i]);
  }
  // Another domain is not held back meanwhile.
  RunItem other = Item("x@fast.test");
  EXPECT_TRUE(e.Pick(&other, now, &retry));
}

// Two choosers over the same account states stand for two runs of one process (a campaign and
// the queue's delivery loop): each has the whole share of a one-worker run, and the
// [[throttle]]'s connection cap and rate hold for both together.
TEST(EgressChooser, ThrottleLimitsHoldForEveryRunOfTheProcess) {
  test::RunFixture f;
  ThrottleSlowTest(f, 2, 0);
  ASSERT_EQ(f.s->workers, 1u);
  EgressChooser campaign(f.s.get()), queue(f.s.get());
  int64_t retry = 0;
  RunItem a = Item("a@slow.test"), b = Item("b@slow.test"), c = Item("c@slow.test");
  ASSERT_TRUE(campaign.Pick(&a, kNow, &retry));
  ASSERT_TRUE(campaign.Pick(&b, kNow, &retry));
  EXPECT_FALSE(queue.Pick(&c, kNow, &retry));  // the process has both connections in use
  EXPECT_EQ(retry, kNow + 5000);
  campaign.Done(a, kNow);
  ASSERT_TRUE(queue.Pick(&c, kNow, &retry));
  RunItem d = Item("d@slow.test");
  EXPECT_FALSE(campaign.Pick(&d, kNow, &retry));
  queue.Done(c, kNow);
  campaign.Done(b, kNow);
  EXPECT_TRUE(campaign.Pick(&d, kNow, &retry));
  campaign.Done(d, kNow);
}

TEST(EgressChooser, ThrottleRateHoldsForEveryRunOfTheProcess) {
  test::RunFixture f;
  ThrottleSlowTest(f, 0, 4);
  // Twelve runs at once, each allowed a message now by its own share (burst 1): the process
  // takes its burst (DomainLimit::Burst(4) = 9), then 4 a second.
  std::vector<std::unique_ptr<EgressChooser>> runs;
  for (int i = 0; i < 12; ++i) runs.push_back(std::make_unique<EgressChooser>(f.s.get()));
  ASSERT_EQ(DomainLimit::Burst(4), 9);
  auto round = [&](int64_t now) {
    int sent = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
      RunItem it = Item("r" + std::to_string(i) + "-" + std::to_string(now) + "@slow.test");
      int64_t retry = 0;
      if (!runs[i]->Pick(&it, now, &retry)) continue;
      ++sent;
      runs[i]->Done(it, now);
    }
    return sent;
  };
  EXPECT_EQ(round(kNow), 9);
  const int next_second = round(kNow + 1'000'000);
  EXPECT_GE(next_second, 3);
  EXPECT_LE(next_second, 5);
}

}  // namespace
}  // namespace salvo
