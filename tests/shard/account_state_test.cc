// shard/account_state.h: one state per account and data_dir in the process, loaded from the
// store (today's count, the stored pause), pauses persisted before they take effect.
#include "shard/account_state.h"

#include <gtest/gtest.h>

#include "engine/base/shard.h"
#include "store/campaign_store.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

constexpr int64_t kNow = 1796000000;  // 2026-11-30T00:53:20Z

TEST(AccountState, LoadsTodaysCountAndThePauseAndPersistsChanges) {
  test::TempDir dir;
  AccountConfig a;
  a.name = "sg-bulk";
  a.daily_limit = 100;
  a.rate_per_second = 50;
  {
    auto store = Store::Open({dir.path()});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(CampaignStore(store->get())
                    .AddDailyCounts({{"sg-bulk", CampaignStore::UtcDay(kNow), 40}})
                    .ok());
    auto s = AccountStates::Process().Acquire(store->get(), a, kNow * 1000000, nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ((*s)->daily().used(kNow * 1000000), 40u);
    EXPECT_EQ((*s)->rate().rate(), 50);
    EXPECT_FALSE((*s)->PausedAt(kNow));
    // The same state for every campaign of the process.
    auto again = AccountStates::Process().Acquire(store->get(), a, kNow * 1000000, nullptr);
    EXPECT_EQ(*again, *s);
    EXPECT_EQ(AccountStates::Process().Find(dir.path(), "sg-bulk"), *s);

    auto paused = (*s)->Pause(store->get(), "account_quota", "550 5.4.5 Daily limit", kNow,
                              kNow + 3600);
    ASSERT_TRUE(paused.ok());
    EXPECT_TRUE(*paused);
    EXPECT_TRUE((*s)->PausedAt(kNow + 10));
    EXPECT_FALSE((*s)->PausedAt(kNow + 3600));
    auto twice = (*s)->Pause(store->get(), "manual", "x", kNow + 1, 0);
    EXPECT_FALSE(*twice);  // already paused: kept as it was
    EXPECT_EQ((*s)->record().reason, "account_quota");
  }
  // Stored: a store opened again (another data_dir key in this process: a fresh state) sees it.
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  auto rec = AccountStore(store->get()).Get("sg-bulk");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->reason, "account_quota");
  EXPECT_EQ((*rec)->until, kNow + 3600);
  AccountState* s = AccountStates::Process().Find(dir.path(), "sg-bulk");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Resume(store->get(), "resumed by operator", kNow + 5).ok());
  EXPECT_FALSE(s->PausedAt(kNow + 6));
  rec = AccountStore(store->get()).Get("sg-bulk");
  EXPECT_FALSE((*rec)->paused);
  EXPECT_EQ((*rec)->reply, "resumed by operator");
}

TEST(AccountState, WarmupCapsTheDayWithinDailyLimitAndAnIpHasItsOwnCap) {
  test::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  AccountConfig a;
  a.name = "warm";
  a.daily_limit = 150;
  a.source_ips = {"192.0.2.10", "192.0.2.11"};
  const int64_t today = kNow / 86400;
  const int64_t now_us = kNow * 1000000;
  const int64_t day_us = 86400LL * 1000000;
  std::vector<WarmupConfig> w(2);
  w[0].account = "warm";
  w[0].start_day = today;
  w[0].daily = {100, 200};
  w[1].source_ip = "192.0.2.10";
  w[1].start_day = today;
  w[1].daily = {50};
  ASSERT_TRUE(CampaignStore(store->get())
                  .AddDailyCounts({{"ip:192.0.2.10", CampaignStore::UtcDay(kNow), 20}})
                  .ok());
  auto s = AccountStates::Process().Acquire(store->get(), a, now_us, &w);
  ASSERT_TRUE(s.ok()) << s.status();
  AccountState& st = **s;
  ASSERT_NE(st.warmup(), nullptr);
  EXPECT_EQ(st.LimitOn(now_us), 100u);            // day 1 of the warm-up
  EXPECT_EQ(st.LimitOn(now_us + day_us), 150u);   // day 2: daily_limit is lower
  EXPECT_EQ(st.LimitOn(now_us + 2 * day_us), 150u);  // the list has ended: daily_limit only
  EXPECT_EQ(st.daily().limit(), 100u);
  EXPECT_EQ(st.RemainingToday(now_us), 100u);
  st.SyncDay(now_us + day_us);
  EXPECT_EQ(st.daily().limit(), 150u);
  st.SyncDay(now_us);

  // The IP with a warm-up: 50 a day, 20 already counted today (stored under "ip:ADDRESS").
  IpWarmup* ip = st.ip_warmup(0);
  ASSERT_NE(ip, nullptr);
  EXPECT_EQ(st.ip_warmup(1), nullptr);
  EXPECT_EQ(ip->RemainingToday(now_us), 30u);
  int64_t day = 0;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(ip->daily.TryReserve(now_us, &day));
  EXPECT_FALSE(ip->Allowed(now_us));
  EXPECT_TRUE(st.AnyIpAllowed(now_us));  // 192.0.2.11 has no warm-up
  EXPECT_EQ(ip->RemainingToday(now_us + day_us), UINT64_MAX);  // its list has ended

  // The reply-rate guard: 10 % bounces over 100 messages pauses the account until tomorrow.
  for (int i = 0; i < 90; ++i) ASSERT_TRUE(st.OnVerdict(store->get(), false, now_us).ok());
  EXPECT_FALSE(st.PausedAt(kNow));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(st.OnVerdict(store->get(), true, now_us).ok());
  EXPECT_TRUE(st.PausedAt(kNow));
  EXPECT_EQ(st.record().reason, "warmup_reply_rate");
  EXPECT_EQ(st.paused_until(), (today + 1) * 86400);
  std::string why;
  for (int i = 0; i < 100; ++i) ip->OnVerdict(i < 10, now_us, &why);
  EXPECT_FALSE(ip->Allowed(now_us + day_us / 2));  // halted for the rest of the day
  EXPECT_TRUE(ip->Allowed(now_us + day_us));
}

TEST(AccountState, AComplaintCountsAgainstTheAccountThatSentTheMessage) {
  test::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  AccountConfig a;
  a.name = "warm2";
  std::vector<WarmupConfig> w(1);
  w[0].account = "warm2";
  w[0].start_day = kNow / 86400;
  w[0].max_bounce_rate = 0;
  w[0].max_complaint_rate = 0.01;
  const int64_t now_us = kNow * 1000000;
  auto s = AccountStates::Process().Acquire(store->get(), a, now_us, &w);
  ASSERT_TRUE(s.ok()) << s.status();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*s)->OnVerdict(store->get(), false, now_us).ok());
  // The message to c@example.test of campaign "nov" went out on warm2 (its progress says so).
  ProgressRecord p;
  p.outcome = Outcome::kDelivered;
  p.final = true;
  p.account = "warm2";
  ASSERT_TRUE(CampaignStore(store->get())
                  .PutProgress("nov", {{ShardOf("c@example.test"), "c@example.test", p}})
                  .ok());
  // Unknown messages change nothing; one complaint in 100 is not above 1 %, two are.
  ASSERT_TRUE(AccountStates::Process().OnComplaint(store->get(), "nov", "x@example.test", now_us).ok());
  ASSERT_TRUE(AccountStates::Process().OnComplaint(store->get(), "nov", "c@example.test", now_us).ok());
  EXPECT_FALSE((*s)->PausedAt(kNow));
  ASSERT_TRUE(AccountStates::Process().OnComplaint(store->get(), "nov", "c@example.test", now_us).ok());
  EXPECT_TRUE((*s)->PausedAt(kNow));
  EXPECT_TRUE((*s)->record().reply.find("complaint rate 2.00 %") != std::string::npos)
      << (*s)->record().reply;
}

}  // namespace
}  // namespace salvo
