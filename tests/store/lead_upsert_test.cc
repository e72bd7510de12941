// RecipientStore::UpsertAndEnqueue (the leads API's atomic write) and IdempotencyStore.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "store/idempotency_store.h"
#include "store/queue_store.h"
#include "store/group_commit.h"
#include "store/recipient_store.h"
#include "store/store_internals.h"
#include "tests/store/store_fixture.h"

namespace salvo {
namespace {

Recipient Lead(const std::string& a, bool consent, std::vector<std::pair<std::string, std::string>> f = {}) {
  Recipient r;
  r.address = a;
  r.key = a;
  r.shard = ShardOf(a);
  if (consent) r.consent.opted_in_at = "2026-11-01T10:00:00Z";
  r.fields = std::move(f);
  return r;
}

NewMessage To(const Recipient& r) {
  NewMessage m;
  m.route = "transactional";
  m.recipients = {r.address};
  m.body = "Subject: hi\r\n\r\nhi\r\n";
  m.origin = "responder:test";
  return m;
}

using LeadUpsertTest = StoreFixture;

TEST_F(LeadUpsertTest, NewMembersAndConsentChangesAreReportedAndQueuedAtomically) {
  RecipientStore rs(store_.get());
  ASSERT_TRUE(rs.Upsert("other", {Lead("old@x.example", false, {{"a", "1"}})}).ok());
  // What the plan saw; `merged` points into the call's data, valid only inside the callback.
  struct Seen {
    std::string key;
    bool new_member, gained_consent;
    size_t fields;
  };
  std::vector<Seen> seen;
  auto plan = [&](const std::vector<UpsertRowChange>& changes) -> absl::StatusOr<std::vector<NewMessage>> {
    seen.clear();
    for (const UpsertRowChange& c : changes)
      seen.push_back({c.merged->key, c.new_member, c.gained_consent, c.merged->fields.size()});
    std::vector<NewMessage> out;
    for (const UpsertRowChange& c : changes)
      if (c.new_member) out.push_back(To(*c.merged));
    return out;
  };
  std::vector<std::string> ids;
  auto counts = rs.UpsertAndEnqueue(
      "leads", {Lead("new@x.example", true), Lead("old@x.example", true, {{"b", "2"}})}, plan, &ids);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->imported, 1u);
  EXPECT_EQ(counts->updated, 1u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(ids.size(), 2u);
  // old@ existed without consent and with field a: the merged record has both fields.
  for (const Seen& c : seen) {
    EXPECT_TRUE(c.new_member);
    EXPECT_TRUE(c.gained_consent);
    if (c.key == "old@x.example") {
      EXPECT_EQ(c.fields, 2u);
    }
  }
  // Again: members already, consent unchanged: nothing new, nothing queued.
  counts = rs.UpsertAndEnqueue("leads", {Lead("new@x.example", true)}, plan, &ids);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->unchanged, 1u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].new_member);
  EXPECT_FALSE(seen[0].gained_consent);
  EXPECT_TRUE(ids.empty());
  auto q = QueueStore(store_.get()).List({});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->size(), 2u);
}

TEST_F(LeadUpsertTest, AFailingPlanOrABadMessageWritesNothing) {
  RecipientStore rs(store_.get());
  std::vector<std::string> ids;
  auto failing = [](const std::vector<UpsertRowChange>&) -> absl::StatusOr<std::vector<NewMessage>> {
    return absl::InternalError("render failed");
  };
  EXPECT_FALSE(rs.UpsertAndEnqueue("leads", {Lead("a@x.example", true)}, failing, &ids).ok());
  auto bad = [](const std::vector<UpsertRowChange>& c) -> absl::StatusOr<std::vector<NewMessage>> {
    NewMessage m = To(*c[0].merged);
    m.route.clear();  // refused by the queue's checks
    return std::vector<NewMessage>{m};
  };
  EXPECT_FALSE(rs.UpsertAndEnqueue("leads", {Lead("a@x.example", true)}, bad, &ids).ok());
  auto got = rs.Get("a@x.example");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  auto size = rs.ListSize("leads");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
  EXPECT_TRUE(QueueStore(store_.get()).List({})->empty());
}

TEST_F(LeadUpsertTest, IdempotencyRepliesLastTheWindow) {
  IdempotencyStore s(store_.get(), absl::Hours(24));
  const int64_t t0 = 1'700'000'000'000'000;
  auto none = s.Get("crm", "k1", t0);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(s.Put("crm", "k1", t0, {202, "{\"accepted\":1}"}).ok());
  auto hit = s.Get("crm", "k1", t0 + 3600LL * 1'000'000);
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->status, 202);
  EXPECT_EQ((*hit)->body, "{\"accepted\":1}");
  EXPECT_FALSE(s.Get("other-key", "k1", t0)->has_value()) << "per api key";
  EXPECT_FALSE(s.Get("crm", "k1", t0 + 25 * 3600LL * 1'000'000)->has_value()) << "expired";
  EXPECT_TRUE(IdempotencyStore::ValidKey("order-42"));
  EXPECT_FALSE(IdempotencyStore::ValidKey(""));
  EXPECT_FALSE(IdempotencyStore::ValidKey("a b"));
  EXPECT_FALSE(IdempotencyStore::ValidKey(std::string(201, 'k')));
}

// Concurrent posts: every one is durable when it returns (all there after a reopen), each new
// lead queued exactly once, and the WAL syncs were shared (fewer than the posts).
TEST_F(LeadUpsertTest, ConcurrentPostsShareTheWalSync) {
  constexpr int kThreads = 16, kPerThread = 20;
  std::atomic<int> failures{0};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        RecipientStore rs(store_.get());
        auto plan = [](const std::vector<UpsertRowChange>& changes)
            -> absl::StatusOr<std::vector<NewMessage>> {
          std::vector<NewMessage> out;
          for (const UpsertRowChange& c : changes)
            if (c.new_member) out.push_back(To(*c.merged));
          return out;
        };
        for (int i = 0; i < kPerThread; ++i) {
          std::vector<std::string> ids;
          // Every thread also posts lead 0 of thread 0: queued once whoever wins.
          std::vector<Recipient> batch = {Lead(absl::StrCat("t", t, "-", i, "@x.example"), true)};
          if (i == 0) batch.push_back(Lead("shared@x.example", true));
          auto counts = rs.UpsertAndEnqueue("leads", batch, plan, &ids);
          if (!counts.ok()) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  const WalSync& wal = WalSyncOf(store_.get());
  EXPECT_EQ(wal.tickets(), uint64_t{kThreads * kPerThread});
  EXPECT_LE(wal.syncs(), wal.tickets());
  std::printf("leads: %llu posts, %llu WAL syncs\n", static_cast<unsigned long long>(wal.tickets()),
              static_cast<unsigned long long>(wal.syncs()));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto q = QueueStore(store_.get()).List({.limit = 10000});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->size(), size_t{kThreads * kPerThread + 1});
  size_t shared = 0;
  for (const QueueEntry& e : *q) shared += e.recipient == "shared@x.example";
  EXPECT_EQ(shared, 1u);
}

}  // namespace
}  // namespace salvo
