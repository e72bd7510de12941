// engine/policy/outcome.h: what happens after one attempt, for every reply of
// tests/fixtures/smtp_replies.tsv (by its class), the provider table, connection failures and
// the retry_for bound. "What happens on a 452 from Gmail" is one row here.
#include "engine/policy/outcome.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/policy/reply_class.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

constexpr int64_t kNow = 1796000000LL * 1000000;  // 2026-11-30T00:53:20Z

SendingConfig Sending() {
  SendingConfig s;
  s.retry_base = absl::Seconds(60);
  s.retry_max = absl::Hours(1);
  s.retry_for = absl::Hours(24);
  return s;
}

Attempt Reply(const std::string& logged, RcptResult result) {
  Attempt a;
  a.outcome.result = result;
  a.outcome.reply = ParseLoggedReply(logged);
  a.now_us = kNow;
  return a;
}

TEST(Outcome, EveryFixtureReplyByItsClass) {
  int rows = 0;
  for (const auto& [reply, cls] : test::SmtpReplyFixtures()) {
    const SmtpReply parsed = ParseLoggedReply(reply);
    const RcptResult result = parsed.code >= 500 ? RcptResult::kRejected : RcptResult::kDeferred;
    const Decision d = Decide(Reply(reply, result), Sending());
    if (cls == "hard") {
      EXPECT_EQ(d.action, Action::kBounce) << reply;
    } else if (cls == "policy") {
      EXPECT_EQ(d.action, result == RcptResult::kRejected ? Action::kFail : Action::kRetry)
          << reply;
    } else if (cls == "throttle") {
      EXPECT_EQ(d.action, Action::kThrottle) << reply;
      EXPECT_FALSE(d.give_up);
    } else if (cls == "soft" || cls == "quota") {  // 452 4.2.2 over quota: retried, never suppressed
      EXPECT_EQ(d.action, Action::kRetry) << reply;
      EXPECT_EQ(d.attempts, 1u);
      EXPECT_GE(d.retry_at_us, kNow + 45'000'000) << reply;  // 60 s +-25 %
      EXPECT_LE(d.retry_at_us, kNow + 75'000'000) << reply;
    } else if (cls == "auth") {
      EXPECT_EQ(d.action, Action::kPauseAccount) << reply;
      EXPECT_TRUE(d.pause_reason == "account_auth" || d.pause_reason == "account_credit")
          << reply << " -> " << d.pause_reason;
    } else {
      ADD_FAILURE() << "unknown class " << cls;
    }
    ++rows;
  }
  EXPECT_EQ(rows, 20);
}

TEST(Outcome, AccountRepliesPauseTheAccountNotTheRecipient) {
  Decision d = Decide(Reply("550 5.4.5 Daily user sending limit exceeded - gsmtp",
                            RcptResult::kRejected),
                      Sending());
  EXPECT_EQ(d.action, Action::kPauseAccount);
  EXPECT_EQ(d.pause_reason, "account_quota");
  EXPECT_EQ(d.pause_until, 1796083200);  // the next UTC midnight
  d = Decide(Reply("454 Throttling failure: Maximum sending rate exceeded.", RcptResult::kDeferred),
             Sending());
  EXPECT_EQ(d.pause_reason, "rate_limited");
  EXPECT_EQ(d.pause_until, kNow / 1000000 + 60);
  Attempt unusable = Reply("", RcptResult::kDeferred);
  unusable.account_unusable = true;  // AUTH refused before any reply to the message
  d = Decide(unusable, Sending());
  EXPECT_EQ(d.action, Action::kPauseAccount);
  EXPECT_EQ(d.pause_reason, "account_auth");
  EXPECT_EQ(d.pause_until, 0);
}

TEST(Outcome, ConnectionFailuresRetryAndRetryForEndsThem) {
  Attempt a;
  a.outcome.result = RcptResult::kDeferred;
  a.outcome.connection_level = true;
  a.outcome.failure = "timeout waiting for the RCPT reply";
  a.now_us = kNow;
  a.attempts = 3;
  a.first_attempt_us = kNow - 3'600'000'000;
  Decision d = Decide(a, Sending());
  EXPECT_EQ(d.action, Action::kRetry);
  EXPECT_EQ(d.attempts, 4u);
  EXPECT_EQ(d.first_attempt_us, a.first_attempt_us);
  EXPECT_FALSE(d.give_up);
  a.first_attempt_us = kNow - absl::ToInt64Microseconds(absl::Hours(24));  // retry_for is over
  d = Decide(a, Sending());
  EXPECT_TRUE(d.give_up);
  EXPECT_EQ(d.retry_at_us, 0);
  // A throttle after retry_for gives up too, without counting an attempt.
  Attempt t = Reply("421 4.7.28 unusual rate of unsolicited mail", RcptResult::kDeferred);
  t.first_attempt_us = kNow - absl::ToInt64Microseconds(absl::Hours(25));
  d = Decide(t, Sending());
  EXPECT_EQ(d.action, Action::kThrottle);
  EXPECT_TRUE(d.give_up);
  EXPECT_EQ(Decide(Reply("250 2.0.0 Ok", RcptResult::kDelivered), Sending()).action,
            Action::kDelivered);
}

}  // namespace
}  // namespace salvo
