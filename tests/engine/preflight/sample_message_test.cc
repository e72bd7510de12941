#include "engine/preflight/sample_message.h"

#include <gtest/gtest.h>

#include "engine/preflight/rspamd_reply.h"

namespace salvo {
namespace {

constexpr char kSigned[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; d=shop.test; s=s1;\r\n"
    " h=from:to:subject:list-unsubscribe:list-unsubscribe-post; bh=x; b=y\r\n"
    "From: a@shop.test\r\nList-Unsubscribe: <https://click.shop.test/u/x>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n";

TEST(SampleMessage, SignedUnsubscribePasses) {
  SampleMessage m = ParseSampleMessage(kSigned);
  EXPECT_TRUE(m.has_text_part);
  ASSERT_NE(m.Header("list-unsubscribe"), nullptr);
  CheckResult r = CheckUnsubscribeHeaders(m);
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.found;
  EXPECT_NE(r.found.find("d=shop.test"), std::string::npos);
}

TEST(SampleMessage, MissingOrUnsigned) {
  CheckResult r = CheckUnsubscribeHeaders(ParseSampleMessage("From: a@b.test\r\n\r\nbody"));
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.found.find("no List-Unsubscribe"), std::string::npos);
  r = CheckUnsubscribeHeaders(ParseSampleMessage(
      "DKIM-Signature: v=1; d=x; h=from:to; b=y\r\nList-Unsubscribe: <u>\r\n"
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nbody"));
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.found.find("not covered"), std::string::npos);
}

TEST(RspamdReply, Parse) {
  auto r = ParseRspamdReply(
      R"({"is_skipped":false,"score":7.25,"required_score":15.0,"action":"add header",)"
      R"("symbols":{"MIME_GOOD":{"name":"MIME_GOOD","score":-0.1},"MISSING_MID":{"score":2.5}}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->score, 7.25);
  EXPECT_EQ(r->action, "add header");
  ASSERT_EQ(r->symbols.size(), 2u);
  EXPECT_EQ(r->symbols[0].first, "MISSING_MID");
  EXPECT_EQ(r->Summary(), "MISSING_MID(2.50), MIME_GOOD(-0.10)");
  EXPECT_FALSE(ParseRspamdReply("not json").ok());
  EXPECT_FALSE(ParseRspamdReply("{}").ok());
}

}  // namespace
}  // namespace salvo
