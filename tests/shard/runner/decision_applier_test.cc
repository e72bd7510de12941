// shard/runner/decision_applier.h: each decision of engine/policy/outcome.h carried out on the
// recipient's progress, global suppression, the account's pause and the domain's rate.
#include "shard/runner/decision_applier.h"

#include <gtest/gtest.h>

#include "engine/policy/reply_class.h"
#include "tests/shard/runner/run_fixture.h"

namespace salvo {
namespace {

constexpr int64_t kNow = 1796000000LL * 1000000;  // 2026-11-30T00:53:20Z

struct Applier {
  test::RunFixture f{{1, 1}};
  EgressChooser egress{f.s.get()};
  DecisionApplier applier{f.s.get(), &egress, 0};

  // An item handed to account 0 with an in-flight marker, as the feeder leaves it.
  std::unique_ptr<RunItem> Sent(const std::string& key) {
    auto it = std::make_unique<RunItem>();
    it->r = test::RunFixture::MakeRecipient(key);
    int64_t retry = 0;
    EXPECT_TRUE(egress.Pick(it.get(), kNow, &retry));
    it->acct = 0;
    ProgressRecord p;
    p.in_flight = true;
    it->prog = p;
    return it;
  }
  std::optional<int64_t> Reply(RunItem* it, const std::string& reply) {
    SendReport rep;
    rep.outcome.reply = ParseLoggedReply(reply);
    rep.outcome.result = rep.outcome.reply.code < 300   ? RcptResult::kDelivered
                         : rep.outcome.reply.code >= 500 ? RcptResult::kRejected
                                                         : RcptResult::kDeferred;
    return applier.Apply(it, rep, kNow, 0.5);
  }
  int64_t Count(Outcome o) { return f.s->count[static_cast<int>(o)].load(); }
  // Whether the global suppression list holds `address`.
  bool Suppressed(const std::string& address) {
    std::vector<bool> suppressed;
    EXPECT_TRUE(f.sstore->CheckBatch({address}, &suppressed).ok());
    return !suppressed.empty() && suppressed[0];
  }
};

TEST(DecisionApplier, DeliveredIsFinalAndWrittenOnFlush) {
  Applier t;
  auto it = t.Sent("ann@example.test");
  EXPECT_EQ(t.Reply(it.get(), "250 2.0.0 OK queued as 12345"), std::nullopt);
  EXPECT_EQ(t.Count(Outcome::kDelivered), 1);
  EXPECT_EQ(t.f.s->verdicts.load(), 1);
  ASSERT_EQ(t.applier.pending().size(), 1u);
  EXPECT_FALSE(t.f.Progress("ann@example.test").has_value());  // not written yet
  ASSERT_TRUE(t.applier.Flush());
  EXPECT_TRUE(t.applier.pending().empty());
  auto p = t.f.Progress("ann@example.test");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->outcome, Outcome::kDelivered);
  EXPECT_TRUE(p->final);
  EXPECT_FALSE(p->in_flight);
  EXPECT_EQ(p->account, "a0");
  EXPECT_EQ(p->reply, "250 2.0.0 OK queued as 12345");
}

TEST(DecisionApplier, HardBounceIsSuppressedForEveryone) {
  Applier t;
  auto it = t.Sent("gone@example.test");
  EXPECT_EQ(t.Reply(it.get(), "550 5.1.1 The email account that you tried to reach does not exist"),
            std::nullopt);
  EXPECT_EQ(t.Count(Outcome::kBounced), 1);
  EXPECT_TRUE(t.Suppressed("gone@example.test"));
}

TEST(DecisionApplier, SoftReplyRetriesAfterTheBackoffUntilRetryFor) {
  Applier t;
  auto it = t.Sent("busy@example.test");
  const std::optional<int64_t> due = t.Reply(it.get(), "451 4.3.0 Temporary local problem");
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, kNow + 30'000'000);   // retry_base 60 s, jittered
  EXPECT_LE(*due, kNow + 120'000'000);
  EXPECT_EQ(it->acct, -1);              // the next attempt picks its egress again
  EXPECT_EQ(it->prog->outcome, Outcome::kDeferred);
  EXPECT_FALSE(it->prog->final);
  EXPECT_FALSE(it->prog->in_flight);
  EXPECT_EQ(it->prog->attempts, 1u);
  EXPECT_EQ(it->prog->next_retry_us, *due);
  EXPECT_EQ(t.Count(Outcome::kDeferred), 1);
  // retry_for is over: deferred for good.
  it->acct = 0;
  it->prog->first_attempt_us = kNow - 25LL * 3600 * 1000000;
  EXPECT_EQ(t.Reply(it.get(), "451 4.3.0 Temporary local problem"), std::nullopt);
  EXPECT_TRUE(it->prog->final);
  EXPECT_EQ(t.Count(Outcome::kDeferred), 1);
  EXPECT_EQ(t.f.s->deferred_final.load(), 1);
}

TEST(DecisionApplier, QuotaReplyPausesTheAccountNotTheRecipient) {
  Applier t;
  auto it = t.Sent("ann@example.test");
  const std::optional<int64_t> due = t.Reply(it.get(), "550 5.4.5 Daily user sending limit exceeded");
  ASSERT_EQ(due, kNow);  // tried again at once, on another account
  EXPECT_EQ(it->acct, -1);
  EXPECT_TRUE(t.f.states[0]->PausedAt(kNow / 1000000 + 1));
  EXPECT_EQ(t.f.states[0]->record().reason, "account_quota");
  EXPECT_FALSE(it->prog->in_flight);  // its marker is cleared
  EXPECT_EQ(t.f.s->verdicts.load(), 0);
  for (int o = 0; o < RunState::kOutcomes; ++o) EXPECT_EQ(t.f.s->count[o].load(), 0) << o;
  EXPECT_FALSE(t.Suppressed("ann@example.test"));
}

TEST(DecisionApplier, ThrottleReplyDefersWithoutAnAttempt) {
  Applier t;
  auto it = t.Sent("ann@gmail.com");
  const std::optional<int64_t> due = t.Reply(
      it.get(), "421 4.7.28 Our system has detected an unusual rate of unsolicited mail");
  ASSERT_TRUE(due.has_value());
  EXPECT_GT(*due, kNow);
  EXPECT_EQ(t.f.s->throttle_events.load(), 1);
  EXPECT_EQ(t.f.s->verdicts.load(), 0);
  EXPECT_EQ(it->prog->outcome, Outcome::kDeferred);
  EXPECT_EQ(it->prog->attempts, 0u);  // a throttle is not the recipient's attempt
  ASSERT_EQ(t.f.s->throttles.size(), 1u);
  const ThrottleInfo& ti = t.f.s->throttles.begin()->second;
  EXPECT_EQ(ti.account, "a0");
  EXPECT_EQ(ti.domain, "gmail.com");
  EXPECT_EQ(ti.events, 1u);
}

TEST(DecisionApplier, RecordWithoutAttemptAndDryRunWritesNothing) {
  Applier t;
  RunItem it;
  it.r = test::RunFixture::MakeRecipient("x@example.test", false);
  t.applier.Record(&it, Outcome::kNoConsent, true, "no opt-in record");
  EXPECT_EQ(t.Count(Outcome::kNoConsent), 1);
  ASSERT_EQ(t.applier.pending().size(), 1u);
  EXPECT_EQ(t.applier.pending()[0].rec.reply, "no opt-in record");
  t.f.s->dry_run = true;
  RunItem y;
  y.r = test::RunFixture::MakeRecipient("y@example.test");
  t.applier.Record(&y, Outcome::kOutsideSegment, true, "");
  EXPECT_EQ(t.Count(Outcome::kOutsideSegment), 1);  // counted, not written
  EXPECT_EQ(t.applier.pending().size(), 1u);
}

}  // namespace
}  // namespace salvo
