#include "store/campaign_store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/base/shard.h"
#include "store/link_store.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(CampaignStore, RecordRoundTrip) {
  test::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  CampaignStore cs(store->get());
  CampaignRecord c;
  c.id = "nov-promo";
  c.list = "dk-leads";
  c.state = CampaignState::kPaused;
  c.pause_reason = "accounts paused: sg-bulk (535 auth failed)";
  c.campaign_file = "/x/nov.toml";
  c.config_file = "/x/salvo.toml";
  c.started_at = 1700000000;
  c.list_size = 100000;
  c.runs = 2;
  c.in_flight_at_resume = 17;
  c.route = "dk-route";
  ASSERT_TRUE(cs.Put(c).ok());
  auto got = cs.Get("nov-promo");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->pause_reason, c.pause_reason);
  EXPECT_EQ((*got)->state, CampaignState::kPaused);
  EXPECT_EQ((*got)->list_size, 100000u);
  EXPECT_EQ((*got)->in_flight_at_resume, 17u);
  EXPECT_EQ((*got)->campaign_file, "/x/nov.toml");
  EXPECT_EQ((*got)->route, "dk-route");
  EXPECT_FALSE(cs.Get("other")->has_value());
  EXPECT_EQ(cs.List()->size(), 1u);
  // The campaign's link table lives in the same column family and is not a campaign.
  ASSERT_TRUE(LinkStore(store->get()).Put("nov-promo", {"https://example.com/a"}).ok());
  auto all = cs.List();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().id, "nov-promo");
}

// Two writers adding to one account's daily count at the same time (two campaigns on one
// account) never lose an increment, also across a reopen and on top of a count stored before.
TEST(CampaignStore, DailyCountIncrementsFromConcurrentWritersAddUp) {
  test::TempDir dir;
  {
    auto store = Store::Open({dir.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    CampaignStore cs(store->get());
    ASSERT_TRUE(cs.AddDailyCounts({{"shared", "2026-12-04", 5}}).ok());
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t)
      writers.emplace_back([&cs, t] {
        for (int i = 0; i < 1000; ++i) {
          CampaignStore::Write w{static_cast<uint32_t>(i % 64), "w" + std::to_string(t) + "-" +
                                 std::to_string(i) + "@example.com", ProgressRecord{}};
          ASSERT_TRUE(cs.PutProgress(t ? "c2" : "c1", {w}, {{"shared", "2026-12-04", 1}}).ok());
        }
      });
    for (auto& w : writers) w.join();
    EXPECT_EQ(*cs.GetDailyCount("shared", "2026-12-04"), 2005u);
  }
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*CampaignStore(store->get()).GetDailyCount("shared", "2026-12-04"), 2005u);
  ASSERT_TRUE(store->get()->Flush().ok());  // merged values also survive compaction to SST
  EXPECT_EQ(*CampaignStore(store->get()).GetDailyCount("shared", "2026-12-04"), 2005u);
}

TEST(CampaignStore, DailyCountsPersistPerAccountAndDay) {
  test::TempDir dir;
  {
    auto store = Store::Open({dir.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    CampaignStore cs(store->get());
    EXPECT_EQ(*cs.GetDailyCount("acct-a", "2026-11-26"), 0u);
    ASSERT_TRUE(cs.AddDailyCounts({{"acct-a", "2026-11-26", 7}, {"acct-b", "2026-11-26", 2}}).ok());
    CampaignStore::Write w{3, "x@example.com", ProgressRecord{}};
    // Increments add up: 7 + 2 (with a progress batch) = 9.
    ASSERT_TRUE(cs.PutProgress("c1", {w}, {{"acct-a", "2026-11-26", 2}}).ok());
    // Daily keys live in the meta family: the campaign list is unaffected.
    EXPECT_EQ(cs.List()->size(), 0u);
  }
  auto store = Store::Open({dir.path()});  // reopened: counts survive
  ASSERT_TRUE(store.ok()) << store.status();
  CampaignStore cs(store->get());
  EXPECT_EQ(*cs.GetDailyCount("acct-a", "2026-11-26"), 9u);
  EXPECT_EQ(*cs.GetDailyCount("acct-b", "2026-11-26"), 2u);
  EXPECT_EQ(*cs.GetDailyCount("acct-a", "2026-11-27"), 0u);
  EXPECT_EQ(*cs.GetDailyCount("acct", "2026-11-26"), 0u);
  EXPECT_EQ(cs.Count("c1")->total, 1u);
  EXPECT_EQ(CampaignStore::UtcDay(0), "1970-01-01");
  EXPECT_EQ(CampaignStore::UtcDay(1764201599), "2025-11-26");
  EXPECT_EQ(CampaignStore::UtcDay(1764201600), "2025-11-27");
}

// One "attempt started" marker per batch: its messages count as in flight until their outcome
// names the batch; the marker goes with the batch's last outcome, or when a run starts.
TEST(CampaignStore, AttemptMarkersPerBatch) {
  test::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  CampaignStore cs(store->get());
  const std::vector<std::string> keys = {"a@x.test", "b@x.test", "c@x.test"};
  std::vector<CampaignStore::Attempt> attempts;
  for (const auto& k : keys) attempts.push_back({ShardOf(k), k});
  const uint64_t b1 = (uint64_t{1} << 32) | 1, b2 = (uint64_t{1} << 32) | 2;
  ASSERT_TRUE(cs.MarkAttempts("c", b1, attempts, {{"acct", "2026-12-04", 3}}).ok());
  ASSERT_TRUE(cs.MarkAttempts("cd", b1, {attempts[0]}, {}).ok());  // another campaign
  EXPECT_EQ(cs.GetDailyCount("acct", "2026-12-04").value_or(0), 3u);
  EXPECT_EQ(cs.Count("c")->in_flight, 3u);
  // a: delivered in b1. b: deferred in b1, then sent again in b2 (no outcome yet). c: an outcome
  // of an older attempt (batch 0) does not conclude b1.
  ProgressRecord done;
  done.outcome = Outcome::kDelivered;
  done.final = true;
  done.batch = b1;
  ProgressRecord deferred = done;
  deferred.outcome = Outcome::kDeferred;
  deferred.final = false;
  ProgressRecord older = done;
  older.batch = 0;
  ASSERT_TRUE(cs.PutProgress("c", {{attempts[0].shard, keys[0], done},
                                   {attempts[1].shard, keys[1], deferred},
                                   {attempts[2].shard, keys[2], older}})
                  .ok());
  ASSERT_TRUE(cs.MarkAttempts("c", b2, {attempts[1]}, {}).ok());
  EXPECT_EQ(cs.Count("c")->in_flight, 2u);  // c in b1, b in b2
  std::vector<std::optional<ProgressRecord>> got;
  ASSERT_TRUE(cs.GetProgress("c", {attempts[0].shard}, {keys[0]}, &got).ok());
  ASSERT_TRUE(got[0].has_value());
  EXPECT_EQ(got[0]->batch, b1);
  // b1 concluded: its marker is deleted with the last outcome.
  done.batch = b1;
  ASSERT_TRUE(cs.PutProgress("c", {{attempts[2].shard, keys[2], done}}, {}, {b1}).ok());
  EXPECT_EQ(cs.Count("c")->in_flight, 1u);
  // A run starts: the markers left are counted by the caller and cleared with its record.
  CampaignRecord rec;
  rec.id = "c";
  rec.list = "l";
  rec.in_flight_at_resume = 1;
  ASSERT_TRUE(cs.PutClearingAttempts(rec).ok());
  EXPECT_EQ(cs.Count("c")->in_flight, 0u);
  EXPECT_EQ(cs.Count("cd")->in_flight, 1u);
  EXPECT_EQ(cs.Get("c")->value().in_flight_at_resume, 1u);
  ASSERT_TRUE(cs.Delete("cd").ok());
  EXPECT_EQ(cs.Count("cd")->in_flight, 0u);
}

TEST(CampaignStore, ProgressBatchesCountsAndIsolation) {
  test::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  CampaignStore cs(store->get());
  std::vector<CampaignStore::Write> w;
  for (int i = 0; i < 100; ++i) {
    ProgressRecord r;
    r.outcome = i % 4 == 0 ? Outcome::kDelivered : (i % 4 == 1 ? Outcome::kDeferred : Outcome::kBounced);
    r.final = i % 4 != 1;
    r.in_flight = i % 10 == 0;
    r.attempts = i % 3;
    r.next_retry_us = -5 + i;
    r.reply = "550 5.1.1 no such user";
    w.push_back({static_cast<uint32_t>(i % 64), "u" + std::to_string(i) + "@x.test", r});
  }
  ASSERT_TRUE(cs.PutProgress("a", w).ok());
  ASSERT_TRUE(cs.PutProgress("ab", {w[0]}).ok());  // a prefix-sharing campaign id stays apart
  auto counts = cs.Count("a");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 100u);
  EXPECT_EQ(counts->by_outcome[static_cast<int>(Outcome::kDelivered)], 25u);
  EXPECT_EQ(counts->by_outcome[static_cast<int>(Outcome::kDeferred)], 25u);
  EXPECT_EQ(counts->in_flight, 10u);
  std::vector<std::optional<ProgressRecord>> got;
  ASSERT_TRUE(cs.GetProgress("a", {5, 6}, {"u5@x.test", "u6@x.test"}, &got).ok());
  ASSERT_TRUE(got[0].has_value());
  EXPECT_EQ(got[0]->outcome, Outcome::kDeferred);
  EXPECT_FALSE(got[0]->final);
  EXPECT_EQ(got[0]->next_retry_us, 0);
  EXPECT_EQ(got[0]->attempts, 2u);
  EXPECT_EQ(got[0]->reply, "550 5.1.1 no such user");
  EXPECT_TRUE(got[1].has_value());  // u6 was written with shard 6
  ASSERT_TRUE(cs.Delete("a").ok());
  EXPECT_EQ(cs.Count("a")->total, 0u);
  EXPECT_EQ(cs.Count("ab")->total, 1u);
}

TEST(CampaignStore, DamagedProgressIsAnError) {
  ProgressRecord r;
  EXPECT_FALSE(DecodeProgress("", &r).ok());
  EXPECT_FALSE(DecodeProgress(std::string("\x01\x09\x00", 3), &r).ok());
  std::string v;
  r.reply = "x";
  EncodeProgress(r, &v);
  EXPECT_TRUE(DecodeProgress(v, &r).ok());
  EXPECT_FALSE(DecodeProgress(v.substr(0, v.size() - 1), &r).ok());
}

}  // namespace
}  // namespace salvo
