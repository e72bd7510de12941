// shard/account_state.h: one state per account and data_dir in the process, loaded from the
// store (today's count, the stored pause), pauses persisted before they take effect.
#include "shard/account_state.h"

#include <gtest/gtest.h>

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
    auto s = AccountStates::Process().Acquire(store->get(), a, kNow * 1000000);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ((*s)->daily().used(kNow * 1000000), 40u);
    EXPECT_EQ((*s)->rate().rate(), 50);
    EXPECT_FALSE((*s)->PausedAt(kNow));
    // The same state for every campaign of the process.
    auto again = AccountStates::Process().Acquire(store->get(), a, kNow * 1000000);
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

}  // namespace
}  // namespace salvo
