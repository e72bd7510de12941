// Tests for engine/smtp/reply_parser and SmtpReply::ToString: multi-line replies, smtp-sink's
// empty "250 " line, enhanced codes, splits at every byte, bounds, garbage.
#include "engine/smtp/reply_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace salvo {
namespace {

// Feeds `in` in pieces of `step` bytes; returns all replies (error stops).
struct Parsed {
  std::vector<SmtpReply> replies;
  ReplyError error = ReplyError::kNone;
  std::string error_text;
};

Parsed ParseAll(ReplyParser& p, std::string_view in, size_t step) {
  Parsed out;
  for (size_t off = 0; off < in.size(); off += step) {
    std::string_view chunk = in.substr(off, step);
    while (!chunk.empty()) {
      size_t used = 0;
      auto s = p.Feed(chunk, &used);
      EXPECT_LE(used, chunk.size());
      chunk.remove_prefix(used);
      if (s == ReplyParser::Status::kReply) out.replies.push_back(p.reply());
      if (s == ReplyParser::Status::kError) {
        out.error = p.error();
        out.error_text = p.error_text();
        return out;
      }
      if (s == ReplyParser::Status::kNeedMore) {
        EXPECT_TRUE(chunk.empty());
        break;
      }
    }
  }
  return out;
}

Parsed ParseAll(std::string_view in, size_t step = 1 << 20, bool enhanced = false) {
  ReplyParser p;
  p.set_enhanced_status_codes(enhanced);
  return ParseAll(p, in, step);
}

TEST(ReplyParser, SingleLine) {
  auto r = ParseAll("220 mx.example.com ESMTP Postfix\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].code, 220);
  EXPECT_EQ(r.replies[0].text, "mx.example.com ESMTP Postfix");
  EXPECT_EQ(r.replies[0].enhanced, "");
}

TEST(ReplyParser, MultiLineWithSmtpSinkEmptyLastLine) {
  auto r = ParseAll("250-host\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 \r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].code, 250);
  EXPECT_EQ(r.replies[0].text, "host\nPIPELINING\n8BITMIME\n");
}

TEST(ReplyParser, CodeOnlyLineAndBareLf) {
  auto r = ParseAll("250\r\n354 go ahead\n");
  ASSERT_EQ(r.replies.size(), 2u);
  EXPECT_EQ(r.replies[0].code, 250);
  EXPECT_EQ(r.replies[0].text, "");
  EXPECT_EQ(r.replies[1].code, 354);
  EXPECT_EQ(r.replies[1].text, "go ahead");
}

TEST(ReplyParser, EnhancedCodeWhenTextClearlyHasOne) {
  auto r = ParseAll("550-5.1.1 The email account that you tried to reach does not exist.\r\n"
                    "550 5.1.1 Please try again.\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].code, 550);
  EXPECT_EQ(r.replies[0].enhanced, "5.1.1");
  EXPECT_EQ(r.replies[0].text,
            "The email account that you tried to reach does not exist.\nPlease try again.");
  EXPECT_EQ(r.replies[0].ToString(),
            "550 5.1.1 The email account that you tried to reach does not exist. Please try "
            "again.");
}

TEST(ReplyParser, EnhancedCodeClassMustMatchUnlessOffered) {
  // Without ENHANCEDSTATUSCODES a "2.0.0" on a 550 is not taken as an enhanced code.
  auto r = ParseAll("550 2.0.0 odd\r\n");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].enhanced, "");
  EXPECT_EQ(r.replies[0].text, "2.0.0 odd");
  auto o = ParseAll("550 2.0.0 odd\r\n", 1 << 20, /*enhanced=*/true);
  ASSERT_EQ(o.replies.size(), 1u);
  EXPECT_EQ(o.replies[0].enhanced, "2.0.0");
  EXPECT_EQ(o.replies[0].text, "odd");
  // Not a code: no space after it, or a version number.
  auto v = ParseAll("250 2.0.0.1 x\r\n250 4.5.6x\r\n");
  ASSERT_EQ(v.replies.size(), 2u);
  EXPECT_EQ(v.replies[0].enhanced, "");
  EXPECT_EQ(v.replies[1].enhanced, "");
  auto e = ParseAll("250 2.0.0\r\n");  // code alone at the end of the text
  ASSERT_EQ(e.replies.size(), 1u);
  EXPECT_EQ(e.replies[0].enhanced, "2.0.0");
  EXPECT_EQ(e.replies[0].text, "");
}

TEST(ReplyParser, NonPrintableBytesReplaced) {
  auto r = ParseAll(std::string("250 ok\x01\x7f\xff\tx\r\n"));
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].text, "ok????x");
}

TEST(ReplyParser, SplitAtEveryBytePosition) {
  const std::string in =
      "220 mx ESMTP\r\n"
      "250-mx.example.com\r\n250-SIZE 1000\r\n250-ENHANCEDSTATUSCODES\r\n250 \r\n"
      "550-5.7.1 line one\r\n550 5.7.1 line two\r\n"
      "354 go\n";
  const auto whole = ParseAll(in);
  ASSERT_EQ(whole.replies.size(), 4u);
  for (size_t step = 1; step <= in.size(); ++step) {
    auto r = ParseAll(in, step);
    ASSERT_EQ(r.replies.size(), whole.replies.size()) << "step " << step;
    for (size_t i = 0; i < r.replies.size(); ++i) {
      EXPECT_EQ(r.replies[i].code, whole.replies[i].code) << step;
      EXPECT_EQ(r.replies[i].enhanced, whole.replies[i].enhanced) << step;
      EXPECT_EQ(r.replies[i].text, whole.replies[i].text) << step;
    }
  }
  // And two-piece splits at every position.
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    ReplyParser p;
    Parsed a = ParseAll(p, in.substr(0, cut), 1 << 20);
    Parsed b = ParseAll(p, in.substr(cut), 1 << 20);
    EXPECT_EQ(a.replies.size() + b.replies.size(), 4u) << cut;
  }
}

TEST(ReplyParser, LineTooLongIsTypedError) {
  std::string line = "250 " + std::string(5000, 'a') + "\r\n";
  for (size_t step : {size_t{1} << 20, size_t{100}, size_t{1}}) {
    auto r = ParseAll(line, step);
    EXPECT_TRUE(r.replies.empty());
    EXPECT_EQ(r.error, ReplyError::kLineTooLong) << step;
    EXPECT_NE(r.error_text.find("reply line too long"), std::string::npos) << r.error_text;
  }
  // Exactly at the limit (including CRLF) is fine.
  std::string ok = "250 " + std::string(kMaxReplyLineBytes - 6, 'b') + "\r\n";
  ASSERT_EQ(ok.size(), kMaxReplyLineBytes);
  auto r = ParseAll(ok);
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.error, ReplyError::kNone);
  // A 10 MB line without a newline, fed in 64 KB reads: error long before the end.
  ReplyParser p;
  std::string chunk(64 * 1024, 'x');
  size_t used = 0;
  EXPECT_EQ(p.Feed("250 ", &used), ReplyParser::Status::kNeedMore);
  EXPECT_EQ(p.Feed(chunk, &used), ReplyParser::Status::kError);
  EXPECT_EQ(p.error(), ReplyError::kLineTooLong);
  EXPECT_EQ(p.Feed(chunk, &used), ReplyParser::Status::kError);  // stays in error
}

TEST(ReplyParser, ReplyTooLongIsTypedError) {
  std::string in;
  const std::string line = "250-" + std::string(1000, 'c') + "\r\n";
  while (in.size() <= kMaxReplyBytes) in += line;
  in += "250 end\r\n";
  auto r = ParseAll(in, 4096);
  EXPECT_TRUE(r.replies.empty());
  EXPECT_EQ(r.error, ReplyError::kReplyTooLong);
}

TEST(ReplyParser, GarbageAndInconsistentCodes) {
  for (const char* bad : {"HTTP/1.1 400 Bad Request\r\n", "\r\n", "25\r\n", "2500 x\r\n",
                          "150 one-hundred\r\n", "650 x\r\n", "2x0 x\r\n", "250_x\r\n",
                          "SSH-2.0-OpenSSH\r\n"}) {
    auto r = ParseAll(bad);
    EXPECT_TRUE(r.replies.empty()) << bad;
    EXPECT_EQ(r.error, ReplyError::kBadSyntax) << bad;
  }
  auto m = ParseAll("250-first\r\n550 second\r\n");
  EXPECT_TRUE(m.replies.empty());
  EXPECT_EQ(m.error, ReplyError::kCodeMismatch);
  EXPECT_NE(m.error_text.find("550 second"), std::string::npos) << m.error_text;
}

TEST(ReplyParser, ResetClearsErrorAndKeepsWorking) {
  ReplyParser p;
  size_t used = 0;
  EXPECT_EQ(p.Feed("garbage\r\n", &used), ReplyParser::Status::kError);
  p.Reset();
  EXPECT_EQ(p.Feed("220 ok\r\n", &used), ReplyParser::Status::kReply);
  EXPECT_EQ(p.reply().code, 220);
  EXPECT_FALSE(p.InReply());
  EXPECT_EQ(p.Feed("250-a\r\n", &used), ReplyParser::Status::kNeedMore);
  EXPECT_TRUE(p.InReply());
}

TEST(SmtpReply, ToString) {
  SmtpReply none;
  EXPECT_EQ(none.ToString(), "(no reply)");
  SmtpReply r{550, "5.1.1", "user unknown"};
  EXPECT_EQ(r.ToString(), "550 5.1.1 user unknown");
  SmtpReply s{250, "", ""};
  EXPECT_EQ(s.ToString(), "250");
}

}  // namespace
}  // namespace salvo
