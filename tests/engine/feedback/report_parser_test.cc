// Every DSN / ARF fixture in MANIFEST.tsv yields the expected recipients and classes; salvo's own
// VERP tag is found and checked with the verifier; non-reports are refused with a reason.
#include "engine/feedback/report_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/engine/feedback/manifest.h"

namespace salvo {
namespace {

// "recipient class" of every event of `r`, in order.
std::vector<std::string> Events(const ParsedReport& r) {
  std::vector<std::string> out;
  for (const FeedbackEvent& e : r.events)
    out.push_back(e.recipient + " " + std::string(FeedbackClassName(e.klass)));
  return out;
}
using Want = std::vector<std::string>;

// Events() of ParseReport(mail), the report itself to *report when given. A refused mail fails
// the test and gives {"error: <message>"}.
std::vector<std::string> ParsedEvents(std::string_view mail, ParsedReport* report = nullptr) {
  auto got = ParseReport(mail);
  EXPECT_TRUE(got.ok()) << got.status().message();
  if (!got.ok()) return {"error: " + std::string(got.status().message())};
  if (report) *report = *got;
  return Events(*got);
}

TEST(ReportParserTest, EveryManifestReportClassifiedAsExpected) {
  int checked = 0;
  for (const test::ManifestRow& row : test::ReadManifest()) {
    if (row.provider != "dsn" && row.provider != "arf") continue;
    SCOPED_TRACE(row.path);
    std::string mail = test::ReadFile(test::FixturesDir() + "/" + row.path);
    auto got = ParseReport(mail);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->kind == ReportKind::kArf ? "arf" : "dsn", row.provider);
    ASSERT_EQ(got->events.size(), row.recipients.size());
    for (size_t i = 0; i < row.recipients.size(); ++i) {
      EXPECT_EQ(got->events[i].recipient, row.recipients[i]);
      EXPECT_EQ(FeedbackClassName(got->events[i].klass), row.classes[i]) << got->events[i].reason;
      EXPECT_EQ(got->events[i].provider, row.provider);
    }
    EXPECT_FALSE(got->tags.empty()) << "VERP tag in the returned headers";
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(ReportParserTest, CrlfLineEndsParseTheSame) {
  std::string mail =
      test::ReadFile(test::FixturesDir() + "/dsn/postfix_multi_5.1.1_and_5.2.2.eml");
  std::string crlf;
  for (char c : mail) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  auto got = ParseReport(crlf);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->events.size(), 2u);
  EXPECT_EQ(got->events[0].klass, FeedbackClass::kHardBounce);
  EXPECT_EQ(got->events[1].klass, FeedbackClass::kSoftBounce);
}

TEST(ReportParserTest, VerifiedTagGivesTheCampaign) {
  std::string mail = test::ReadFile(test::FixturesDir() + "/dsn/sendmail_5.1.1_user_unknown.eml");
  std::vector<std::string> seen;
  auto got = ParseReport(mail, [&](std::string_view tag, std::string* c, std::string* a) {
    seen.emplace_back(tag);
    if (tag != "767335a6cf") return false;
    *c = "spring";
    *a = "olivia.grant@example.org";
    return true;
  });
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->tag_verified);
  EXPECT_EQ(got->events[0].campaign_id, "spring");
  EXPECT_FALSE(seen.empty());
}

TEST(ReportParserTest, VerpTagNamesTheRecipientWhenTheTextDoesNot) {
  const std::string tag = "abcdefghijklmnopqrstuvwxyz234567abcdefgh";
  std::string mail =
      "From: MAILER-DAEMON@mx.example.org\n"
      "To: bounces+" + tag + "@mail.example-sender.com\n"
      "Subject: Returned mail\n"
      "\n"
      "Your message could not be delivered.\n"
      "Remote server said: 550 5.1.1 mailbox does not exist\n";
  auto verify = [&](std::string_view t, std::string* c, std::string* a) {
    if (t != tag) return false;
    *c = "spring";
    *a = "zoe.quinn@example.net";
    return true;
  };
  EXPECT_FALSE(ParseReport(mail).ok()) << "no recipient without the tag";
  auto got = ParseReport(mail, verify);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(Events(*got), (Want{"zoe.quinn@example.net hard_bounce"}));
  EXPECT_EQ(got->events[0].campaign_id, "spring");
}

TEST(ReportParserTest, PlainTextPostfixStyleWithoutDeliveryStatusPart) {
  std::string mail =
      "From: MAILER-DAEMON@mx.example.org\n"
      "To: bounces+abc@mail.example-sender.com\n"
      "Subject: Undelivered Mail Returned to Sender\n"
      "\n"
      "I'm sorry to have to inform you that your message could not\n"
      "be delivered to one or more recipients.\n"
      "\n"
      "<gone@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1\n"
      "    <gone@example.com>: Recipient address rejected: User unknown\n"
      "\n"
      "<full@example.net>: host mx.example.net[192.0.2.2] said: 452 4.2.2 Mailbox full\n";
  ParsedReport got;
  EXPECT_EQ(ParsedEvents(mail, &got),
            (Want{"gone@example.com hard_bounce", "full@example.net soft_bounce"}));
  ASSERT_EQ(got.tags.size(), 1u);
  EXPECT_EQ(got.tags[0], "abc");
}

TEST(ReportParserTest, PlainTextSendmailStyleReasonInNextParagraph) {
  std::string mail =
      "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\n"
      "Subject: Returned mail\n"
      "\n"
      "   ----- The following addresses had permanent fatal errors -----\n"
      "<nobody@example.org>\n"
      "\n"
      "    (reason: 550 5.1.1 User unknown)\n";
  EXPECT_EQ(ParsedEvents(mail), (Want{"nobody@example.org hard_bounce"}));
}

// Exchange NDRs without a message/delivery-status part (the shared fixtures have none): the
// 2010+ wording with bare addresses and "#550 5.1.1 ... ##" diagnostics, and the 2003 wording
// with "<server #5.1.1 smtp;550 ...>".
TEST(ReportParserTest, PlainTextExchangeStyles) {
  std::string exchange2010 =
      "From: Microsoft Outlook <postmaster@contoso.example>\n"
      "To: bounces+abc@example-sender.com\n"
      "Subject: Undeliverable: Hello\n"
      "\n"
      "Delivery has failed to these recipients or groups:\n"
      "\n"
      "john.doe@contoso.example\n"
      "The e-mail address you entered couldn't be found. Please check the recipient's e-mail\n"
      "address and try to resend the message.\n"
      "\n"
      "Diagnostic information for administrators:\n"
      "\n"
      "Generating server: mail.contoso.example\n"
      "\n"
      "john.doe@contoso.example\n"
      "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n"
      "\n"
      "Original message headers:\n"
      "\n"
      "Received: from mx.example-sender.com (192.0.2.9) by mail.contoso.example\n";
  ParsedReport got;
  ASSERT_EQ(ParsedEvents(exchange2010, &got), (Want{"john.doe@contoso.example hard_bounce"}));
  EXPECT_NE(got.events[0].reason.find("5.1.1"), std::string::npos) << got.events[0].reason;

  std::string exchange2003 =
      "From: System Administrator <postmaster@fabrikam.example>\n"
      "Subject: Undeliverable: Hello\n"
      "\n"
      "Your message did not reach some or all of the intended recipients.\n"
      "\n"
      "      Subject:\tHello\n"
      "      Sent:\t1/14/2026 10:00 AM\n"
      "\n"
      "The following recipient(s) cannot be reached:\n"
      "\n"
      "      mary.major@fabrikam.example on 1/14/2026 10:00 AM\n"
      "            The recipient's mailbox is full and can't accept messages now.\n"
      "            <mail.fabrikam.example #5.2.2 smtp;552 5.2.2 Mailbox full>\n";
  EXPECT_EQ(ParsedEvents(exchange2003), (Want{"mary.major@fabrikam.example soft_bounce"}));
}

TEST(ReportParserTest, NotAReportIsRefusedWithAReason) {
  auto got = ParseReport("From: a@example.com\nSubject: hello\n\nJust a normal mail.\n");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("not a delivery status notification"), std::string::npos);
  EXPECT_FALSE(ParseReport("").ok());
  EXPECT_EQ(ParseReport(std::string(100, 'x'), nullptr, 10).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(ReportParserTest, ClassifyDsnRules) {
  EXPECT_EQ(ClassifyDsn("failed", "5.1.1", ""), FeedbackClass::kHardBounce);
  EXPECT_EQ(ClassifyDsn("failed", "5.1.10", ""), FeedbackClass::kHardBounce);
  EXPECT_EQ(ClassifyDsn("failed", "5.4.4", ""), FeedbackClass::kHardBounce);
  EXPECT_EQ(ClassifyDsn("failed", "5.2.2", ""), FeedbackClass::kSoftBounce);
  EXPECT_EQ(ClassifyDsn("failed", "5.7.26", "DMARC"), FeedbackClass::kSoftBounce);
  EXPECT_EQ(ClassifyDsn("failed", "5.7.1", "blocked"), FeedbackClass::kSoftBounce);
  EXPECT_EQ(ClassifyDsn("delayed", "5.1.1", ""), FeedbackClass::kSoftBounce);
  EXPECT_EQ(ClassifyDsn("failed", "4.4.1", ""), FeedbackClass::kSoftBounce);
  EXPECT_EQ(ClassifyDsn("delivered", "2.0.0", ""), FeedbackClass::kIgnore);
  EXPECT_EQ(ClassifyDsn("failed", "", "smtp; 550 user unknown"), FeedbackClass::kHardBounce);
  EXPECT_EQ(ClassifyDsn("failed", "5.0.0", "550 blocked by spam filter"),
            FeedbackClass::kSoftBounce);
}

TEST(ReportParserTest, VerpTag) {
  EXPECT_EQ(VerpTag("<bounces+abc123@mail.example.com>"), "abc123");
  EXPECT_EQ(VerpTag("Bounces+X@d.example"), "X");
  EXPECT_EQ(VerpTag("news@example.com"), "");
  EXPECT_EQ(VerpTag("bounces+@example.com"), "");
}

}  // namespace
}  // namespace salvo
