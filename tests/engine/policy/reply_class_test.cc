// Every row of tests/fixtures/smtp_replies.tsv must classify as its `class` column says.
#include "engine/policy/reply_class.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(ReplyClass, AllFixtureRows) {
  int rows = 0;
  for (const auto& [reply, cls] : test::SmtpReplyFixtures()) {
    SmtpReply r = ParseLoggedReply(reply);
    EXPECT_GE(r.code, 400) << reply;
    EXPECT_EQ(ReplyClassName(ClassifyReply(r)), cls) << reply << "\n parsed: " << r.code << " ["
                                                     << r.enhanced << "] " << r.text;
    ++rows;
  }
  EXPECT_EQ(rows, 20);
}

TEST(ReplyClass, ParseLoggedReplyJoinsContinuations) {
  SmtpReply r = ParseLoggedReply(
      "550-5.1.1 The email account does not exist. 550-5.1.1 Please try 550 5.1.1 again");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, "5.1.1");
  EXPECT_EQ(r.text, "The email account does not exist. Please try again");
  r = ParseLoggedReply("smtp; 451 Authentication failed: Maximum credits exceeded");
  EXPECT_EQ(r.code, 451);
  EXPECT_EQ(r.enhanced, "");
  EXPECT_EQ(r.text, "Authentication failed: Maximum credits exceeded");
  r = ParseLoggedReply("421 4.7.0 [TSS04] Messages from 198.51.100.23 deferred");
  EXPECT_EQ(r.enhanced, "4.7.0");
  EXPECT_EQ(r.text, "[TSS04] Messages from 198.51.100.23 deferred");
  r = ParseLoggedReply("garbage");
  EXPECT_EQ(r.code, 0);
}

TEST(ReplyClass, CodesWithoutText) {
  using R = ReplyClass;
  const std::pair<SmtpReply, ReplyClass> kCases[] = {
      {{250, "2.0.0"}, R::kDelivered}, {{550, "5.1.1"}, R::kHard}, {{550, "5.4.4"}, R::kHard},
      {{550, "5.1.10"}, R::kHard}, {{550, "5.7.26"}, R::kPolicy},
      {{552, "5.2.2", "mailbox full"}, R::kPolicy}, {{554, "5.6.0"}, R::kPolicy},
      {{452, "4.2.2"}, R::kQuota}, {{450, "4.2.1"}, R::kThrottle}, {{421, "4.7.28"}, R::kThrottle},
      {{451, "4.3.0"}, R::kSoft}, {{0, "", ""}, R::kSoft},
      {{535, "5.7.8", "Authentication credentials invalid"}, R::kAuth}};
  for (const auto& [reply, want] : kCases) {
    EXPECT_EQ(ClassifyReply(reply), want) << reply.ToString();
  }
}

}  // namespace
}  // namespace salvo
