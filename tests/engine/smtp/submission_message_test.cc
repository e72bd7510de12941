// Tests for engine/smtp/submission_message: the X-Salvo-Route header taken out of the header
// section only (folded, repeated, conflicting, in the body), the route a key may use, and the
// Received: trace header (sanitized, one CRLF-folded field).
#include "engine/smtp/submission_message.h"

#include <string>

#include "gtest/gtest.h"

namespace salvo {
namespace {

TEST(TakeRouteHeader, RemovesTheFieldAndReturnsItsValue) {
  std::string body =
      "From: a@shop.test\r\nX-Salvo-Route:  transactional \r\nSubject: hi\r\n\r\n"
      "X-Salvo-Route: body-text\r\n";
  auto r = TakeRouteHeader(&body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value_or("none"), "transactional");
  EXPECT_EQ(body, "From: a@shop.test\r\nSubject: hi\r\n\r\nX-Salvo-Route: body-text\r\n");
}

TEST(TakeRouteHeader, FoldedAndRepeatedCaseInsensitive) {
  std::string body = "x-salvo-route:\r\n tx\r\nTo: b@x.test\r\nX-SALVO-ROUTE: tx\r\n\r\nbody\r\n";
  auto r = TakeRouteHeader(&body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value_or("none"), "tx");
  EXPECT_EQ(body, "To: b@x.test\r\n\r\nbody\r\n");
}

TEST(TakeRouteHeader, AbsentConflictingOrEmpty) {
  std::string body = "Subject: x\r\n\r\nX-Salvo-Route: tx\r\n";
  const std::string before = body;
  auto r = TakeRouteHeader(&body);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(body, before);

  body = "X-Salvo-Route: a\r\nX-Salvo-Route: b\r\n\r\n";
  r = TakeRouteHeader(&body);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("given twice: \"a\" and \"b\""), std::string::npos)
      << r.status();
  EXPECT_EQ(body, "X-Salvo-Route: a\r\nX-Salvo-Route: b\r\n\r\n");
  body = "X-Salvo-Route:   \r\n\r\n";
  EXPECT_FALSE(TakeRouteHeader(&body).ok());
}

TEST(SubmissionRoute, KeyRouteWinsAndBindsTheKey) {
  EXPECT_EQ(*SubmissionRoute("shop", "tx", std::nullopt), "tx");
  EXPECT_EQ(*SubmissionRoute("shop", "tx", std::string("tx")), "tx");
  auto r = SubmissionRoute("shop", "tx", std::string("bulk"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "key \"shop\" may only use route \"tx\", not \"bulk\"");
  EXPECT_EQ(*SubmissionRoute("any", "", std::string("bulk")), "bulk");
  r = SubmissionRoute("any", "", std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("key \"any\" has no route"), std::string::npos);
}

TEST(ReceivedHeader, TraceFieldIsSanitized) {
  ReceivedTrace t;
  t.helo = "evil\r\nBcc: x (y);";
  t.peer_ip = "127.0.0.1";
  t.hostname = "mx.test";
  t.tls = true;
  t.id = "1f.2";
  t.at = absl::FromUnixSeconds(1796373597);  // 2026-12-04T08:39:57Z
  EXPECT_EQ(ReceivedHeader(t),
            "Received: from evil??Bcc:_x__y__ ([127.0.0.1])\r\n\tby mx.test (salvo) with ESMTPSA "
            "id 1f.2;\r\n\tFri, 04 Dec 2026 08:39:57 +0000\r\n");
  t.tls = false;
  EXPECT_NE(ReceivedHeader(t).find("with ESMTPA id"), std::string::npos);
}

}  // namespace
}  // namespace salvo
