// The provider reply table (engine/policy/provider_replies.tsv, compiled in): every row is
// exercised from the table itself (a reply built from the row matches that row, with its class
// and pause), recipient replies of tests/fixtures/smtp_replies.tsv stay recipient outcomes, and a
// broken table is refused naming the line.
#include "engine/policy/provider_replies.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "engine/policy/reply_class.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

// A reply a partner could send for `rule`: its code and enhanced code (a plausible one where the
// rule takes any), the pattern in mixed case inside other text.
SmtpReply ReplyFor(const ProviderReplyRule& rule) {
  SmtpReply r;
  r.code = rule.code ? rule.code : 554;
  r.enhanced = rule.enhanced;
  std::string p = rule.pattern;
  for (size_t i = 0; i < p.size(); i += 2) p[i] = static_cast<char>(std::toupper(p[i]));
  r.text = "Mail from 192.0.2.10 refused: " + p + " (see the partner's help) - id 12345";
  return r;
}

TEST(ProviderReplies, EveryRowMatchesItsOwnReply) {
  const ProviderReplyTable& t = ProviderReplyTable::Default();
  ASSERT_GE(t.rules().size(), 20u);
  for (const ProviderReplyRule& rule : t.rules()) {
    const SmtpReply reply = ReplyFor(rule);
    const ProviderReplyRule* m = t.Match(reply);
    ASSERT_NE(m, nullptr) << "line " << rule.line << ": " << reply.ToString();
    EXPECT_EQ(m->line, rule.line) << "line " << rule.line << " is hidden by line " << m->line;
    EXPECT_FALSE(rule.source.empty()) << "line " << rule.line;
    // The pause: next UTC day, by hand, or the row's duration.
    const int64_t now = 1796000000 + 3600;  // 2026-11-30T01:53:20Z
    switch (rule.until) {
      case PauseUntil::kNextUtcDay: EXPECT_EQ(rule.PauseEnd(now), 1796083200); break;
      case PauseUntil::kManual: EXPECT_EQ(rule.PauseEnd(now), 0); break;
      case PauseUntil::kFor:
        EXPECT_EQ(rule.PauseEnd(now), now + absl::ToInt64Seconds(rule.pause));
        break;
    }
  }
}

TEST(ProviderReplies, TheIssuesExamples) {
  const ProviderReplyTable& t = ProviderReplyTable::Default();
  auto klass = [&](const char* logged) -> std::string {
    const ProviderReplyRule* r = t.Match(ParseLoggedReply(logged));
    return r ? std::string(AccountReplyClassName(r->klass)) : "none";
  };
  EXPECT_EQ(klass("550 5.4.5 Daily user sending limit exceeded. For more information on Gmail "
                  "sending limits go to https://support.google.com/a/answer/166852 - gsmtp"),
            "account_quota");
  EXPECT_EQ(klass("454 Throttling failure: Daily message quota exceeded."), "account_quota");
  EXPECT_EQ(klass("454 Throttling failure: Maximum sending rate exceeded."), "rate_limited");
  EXPECT_EQ(klass("451 Authentication failed: Maximum credits exceeded"), "account_credit");
  EXPECT_EQ(klass("554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; "
                  "Failed to process message due to a permanent exception"),
            "account_quota");
  EXPECT_EQ(klass("550 5.7.705 Access denied, tenant has exceeded threshold"),
            "account_suspended");
  // The same words with another code are not the rule's (the code is part of the rule).
  EXPECT_EQ(klass("421 4.5.4 daily user sending limit exceeded"), "none");
  // Replies about a recipient's mailbox never pause the sending account.
  EXPECT_EQ(klass("554 delivery error: dd Sorry your message to x@yahoo.com cannot be delivered. "
                  "This account has been disabled or discontinued [#102]. - mta1.mail.yahoo.com"),
            "none");
  EXPECT_EQ(klass("550 5.2.1 The email account that you tried to reach is disabled."), "none");
}

// Replies about the recipient (tests/fixtures/smtp_replies.tsv) never pause an account, except
// the ones the fixtures themselves class as "auth" (account refused).
TEST(ProviderReplies, RecipientRepliesOfTheFixturesDoNotMatch) {
  int rows = 0;
  for (const auto& [reply, cls] : test::SmtpReplyFixtures()) {
    const ProviderReplyRule* r = ProviderReplyTable::Default().Match(ParseLoggedReply(reply));
    if (cls == "auth")
      EXPECT_NE(r, nullptr) << reply;
    else
      EXPECT_EQ(r, nullptr) << reply << " matched line " << r->line;
    ++rows;
  }
  EXPECT_EQ(rows, 20);
}

TEST(ProviderReplies, BrokenTablesAreRefusedNamingTheLine) {
  const std::string header = "provider\tcode\tenhanced\tpattern\tclass\tpause\tsource\n";
  auto err = [&](const std::string& row) {
    auto t = ProviderReplyTable::Parse(header + row);
    return t.ok() ? std::string("ok") : std::string(t.status().message());
  };
  EXPECT_EQ(err("x\t550\t5.4.5\tquota\taccount_quota\tnext_utc_day\ts\n"), "ok");
  EXPECT_EQ(err("x\t550\t5.4.5\tquota\taccount_quota\n"),
            "provider_replies.tsv:2: 7 columns expected, found 5");
  EXPECT_EQ(err("x\t55\t*\tq\taccount_quota\tmanual\ts\n"),
            "provider_replies.tsv:2: code: \"55\" is not a reply code or *");
  EXPECT_EQ(err("x\t*\t5.4\tq\taccount_quota\tmanual\ts\n"),
            "provider_replies.tsv:2: enhanced: \"5.4\" is not an RFC 3463 code or *");
  EXPECT_EQ(err("x\t*\t*\t*\taccount_quota\tmanual\ts\n"),
            "provider_replies.tsv:2: matches every reply");
  EXPECT_EQ(err("x\t*\t*\tq\tquota\tmanual\ts\n"), "provider_replies.tsv:2: class: \"quota\"");
  EXPECT_EQ(err("x\t*\t*\tq\taccount_quota\tsoon\ts\n"),
            "provider_replies.tsv:2: pause: \"soon\" (next_utc_day, manual or a duration such "
            "as 15m)");
  EXPECT_FALSE(ProviderReplyTable::Parse("# only a comment\n").ok());
}

}  // namespace
}  // namespace salvo
