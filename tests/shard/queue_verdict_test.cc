// shard/queue_verdict.h without network: what each kind of reply does to a queued entry.
#include "shard/queue_verdict.h"

#include <gtest/gtest.h>

#include "engine/policy/reply_class.h"

namespace salvo {
namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kNow = 1'780'000'000 * kSec;

RcptOutcome Out(const std::string& logged, RcptResult result) {
  RcptOutcome o;
  o.result = result;
  o.reply = ParseLoggedReply(logged);
  return o;
}

SendingConfig Sending() {
  SendingConfig s;
  s.retry_for = absl::Hours(1);
  s.retry_base = absl::Seconds(60);
  s.retry_max = absl::Minutes(10);
  return s;
}

QueueVerdict For(const QueueEntry& e, const RcptOutcome& o, bool unusable = false) {
  return QueueVerdictFor(e, o, unusable, unusable ? "authentication failed: 535" : "", kNow, 0.5,
                         Sending());
}

TEST(QueueVerdict, DeliveredBouncedFailed) {
  QueueEntry e;
  QueueVerdict v = For(e, Out("250 2.0.0 ok", RcptResult::kDelivered));
  EXPECT_EQ(v.kind, QueueVerdict::Kind::kRecord);
  EXPECT_EQ(v.state, QueueState::kDelivered);
  EXPECT_EQ(v.reply, "250 2.0.0 ok");
  v = For(e, Out("550 5.1.1 user unknown", RcptResult::kRejected));
  EXPECT_EQ(v.state, QueueState::kBounced);
  EXPECT_TRUE(v.suppress);
  v = For(e, Out("550 5.7.1 rejected by DMARC policy", RcptResult::kRejected));
  EXPECT_EQ(v.state, QueueState::kFailed);
  EXPECT_FALSE(v.suppress);
  EXPECT_EQ(MetricOutcome(QueueState::kExpired), Outcome::kDeferred);
  EXPECT_EQ(MetricOutcome(QueueState::kBounced), Outcome::kBounced);
}

TEST(QueueVerdict, DeferredWithBackoffThenExpiredAfterRetryFor) {
  QueueEntry e;
  QueueVerdict v = For(e, Out("450 4.2.0 mailbox busy", RcptResult::kDeferred));
  EXPECT_EQ(v.state, QueueState::kDeferred);
  EXPECT_GE(v.next_attempt_us, kNow + 45 * kSec);
  EXPECT_LE(v.next_attempt_us, kNow + 75 * kSec);
  // Later attempts back off longer (doubling, capped at retry_max).
  e.attempts = 3;
  e.first_attempt_us = kNow - 10 * 60 * kSec;
  v = For(e, Out("451 4.3.0 try later", RcptResult::kDeferred));
  EXPECT_EQ(v.state, QueueState::kDeferred);
  EXPECT_GE(v.next_attempt_us, kNow + 360 * kSec);
  // retry_for counts from the first attempt.
  e.first_attempt_us = kNow - 2 * 3600 * kSec;
  v = For(e, Out("451 4.3.0 try later", RcptResult::kDeferred));
  EXPECT_EQ(v.state, QueueState::kExpired);
  EXPECT_EQ(v.next_attempt_us, 0);
  // A connection failure is a deferral with its reason.
  RcptOutcome c;
  c.connection_level = true;
  c.failure = "connect: connection refused";
  v = For(QueueEntry{}, c);
  EXPECT_EQ(v.state, QueueState::kDeferred);
  EXPECT_EQ(v.reply, "connect: connection refused");
}

TEST(QueueVerdict, AccountRepliesPauseTheAccountNotTheMessage) {
  QueueEntry e;
  QueueVerdict v = For(e, Out("550 5.4.5 Daily user sending limit exceeded", RcptResult::kRejected));
  EXPECT_EQ(v.kind, QueueVerdict::Kind::kPauseAccount);
  EXPECT_EQ(v.pause_reason, "account_quota");
  EXPECT_GT(v.pause_until, kNow / kSec);
  v = For(e, Out("", RcptResult::kDeferred), /*unusable=*/true);
  EXPECT_EQ(v.kind, QueueVerdict::Kind::kPauseAccount);
  EXPECT_EQ(v.reply, "authentication failed: 535");
}

TEST(QueueVerdict, ThrottlingRepliesSlowTheAccountDomain) {
  QueueEntry e;
  QueueVerdict v = For(e, Out("450 4.2.1 receiving mail at a rate that prevents", RcptResult::kDeferred));
  EXPECT_EQ(v.kind, QueueVerdict::Kind::kThrottle);
  e.first_attempt_us = kNow - 2 * 3600 * kSec;
  v = For(e, Out("421 4.7.28 rate limited", RcptResult::kDeferred));
  EXPECT_EQ(v.kind, QueueVerdict::Kind::kRecord);
  EXPECT_EQ(v.state, QueueState::kExpired);
}

}  // namespace
}  // namespace salvo
