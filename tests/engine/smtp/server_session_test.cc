// Tests for engine/smtp/server_session: scripted submission dialogs without sockets — greeting,
// EHLO capabilities before and after TLS, AUTH PLAIN / LOGIN (accepted, refused, cancelled, too
// many failures), MAIL before AUTH (530), RCPT waits for its check and takes the answer, the
// recipient limit, SIZE, DATA with dot-unstuffing and CRLF normalization, an oversized message
// (552, the rest discarded), pipelined commands held while a wait is pending, STARTTLS dropping
// what followed it, bounded command lines, bare CR / NUL refused.
#include "engine/smtp/server_session.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace salvo {
namespace {

ServerSessionOptions Options() {
  ServerSessionOptions o;
  o.hostname = "mx.test";
  o.max_message_bytes = 1000;
  o.max_recipients = 3;
  o.starttls_available = true;
  o.auth_requires_tls = true;
  return o;
}

std::string Take(SmtpServerSession& s) {
  std::string out;
  out.swap(s.out());
  return out;
}

std::string Plain(const std::string& user, const std::string& pass) {
  return absl::Base64Escape(std::string("\0", 1) + user + std::string("\0", 1) + pass);
}

// A TLS session that said EHLO and authenticated as "shop".
SmtpServerSession Authenticated(ServerSessionOptions o = Options()) {
  SmtpServerSession s(o, /*tls_active=*/true);
  s.Greet();
  std::string in = "EHLO client.test\r\nAUTH PLAIN " + Plain("shop", "salvo_key") + "\r\n";
  EXPECT_EQ(s.Feed(in), in.size());
  EXPECT_EQ(s.waiting(), ServerWait::kAuth);
  EXPECT_EQ(s.auth_user(), "shop");
  EXPECT_EQ(s.auth_password(), "salvo_key");
  s.Resolve(235, "ok");
  EXPECT_TRUE(s.authenticated());
  Take(s);
  return s;
}

TEST(ServerSession, GreetingAndCapabilitiesBeforeAndAfterTls) {
  SmtpServerSession s(Options(), false);
  s.Greet();
  EXPECT_EQ(Take(s), "220 mx.test ESMTP salvo\r\n");
  s.Feed("EHLO client.test\r\n");
  EXPECT_EQ(Take(s),
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n");
  s.Feed("AUTH PLAIN " + Plain("shop", "k") + "\r\n");
  EXPECT_EQ(Take(s), "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(s.waiting(), ServerWait::kNone);
  s.Feed("MAIL FROM:<a@shop.test>\r\n");
  EXPECT_EQ(Take(s), "530 5.7.0 Authentication required\r\n");
  // Bytes after STARTTLS are not consumed: the owner drops them (command injection).
  std::string in = "STARTTLS\r\nRSET\r\n";
  EXPECT_EQ(s.Feed(in), 10u);
  EXPECT_TRUE(s.starttls_requested());
  EXPECT_EQ(Take(s), "220 2.0.0 Ready to start TLS\r\n");
  s.OnTlsStarted();
  EXPECT_TRUE(s.tls_active());
  s.Feed("MAIL FROM:<a@shop.test>\r\n");
  EXPECT_EQ(Take(s), "503 5.5.1 Send EHLO/HELO first\r\n");
  s.Feed("EHLO client.test\r\n");
  std::string ehlo = Take(s);
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  EXPECT_NE(ehlo.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
}

TEST(ServerSession, NoCertificateOffersAuthInPlaintextButNoStartTls) {
  ServerSessionOptions o = Options();
  o.starttls_available = false;
  o.auth_requires_tls = false;
  SmtpServerSession s(o, false);
  s.Feed("EHLO c\r\nSTARTTLS\r\n");
  std::string out = Take(s);
  EXPECT_NE(out.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("502 5.5.1 STARTTLS not available\r\n"), std::string::npos) << out;
}

TEST(ServerSession, AuthPlainRefusedThenLoginAccepted) {
  SmtpServerSession s(Options(), true);
  s.Feed("EHLO c\r\nAUTH PLAIN\r\n");
  std::string out = Take(s);
  EXPECT_TRUE(out.starts_with("250-mx.test\r\n")) << out;
  EXPECT_TRUE(out.ends_with("250 AUTH PLAIN LOGIN\r\n334 \r\n")) << out;
  s.Feed(Plain("shop", "wrong") + "\r\n");
  ASSERT_EQ(s.waiting(), ServerWait::kAuth);
  s.Resolve(535, "5.7.8 Authentication credentials invalid");
  EXPECT_FALSE(s.authenticated());
  s.Feed("AUTH LOGIN\r\n");
  EXPECT_EQ(Take(s), "535 5.7.8 Authentication credentials invalid\r\n334 VXNlcm5hbWU6\r\n");
  s.Feed(absl::Base64Escape("shop") + "\r\n");
  EXPECT_EQ(Take(s), "334 UGFzc3dvcmQ6\r\n");
  s.Feed(absl::Base64Escape("salvo_right") + "\r\n");
  ASSERT_EQ(s.waiting(), ServerWait::kAuth);
  EXPECT_EQ(s.auth_user(), "shop");
  EXPECT_EQ(s.auth_password(), "salvo_right");
  s.Resolve(235, "");
  EXPECT_TRUE(s.authenticated());
  EXPECT_EQ(s.auth_password(), "");
  EXPECT_EQ(Take(s), "235 2.7.0 Authentication successful\r\n");
  s.Feed("AUTH PLAIN " + Plain("x", "y") + "\r\n");
  EXPECT_EQ(Take(s), "503 5.5.1 Already authenticated\r\n");
}

TEST(ServerSession, ThreeFailedAuthsEndTheSession) {
  SmtpServerSession s(Options(), true);
  s.Feed("EHLO c\r\n");
  Take(s);
  for (int i = 0; i < kMaxAuthFailures; ++i) {
    EXPECT_FALSE(s.close_after_flush());
    s.Feed("AUTH PLAIN " + Plain("u", "p") + "\r\n");
    s.Resolve(535, "5.7.8 no");
  }
  EXPECT_TRUE(s.close_after_flush());
  EXPECT_NE(Take(s).find("421 4.7.0 Too many authentication failures\r\n"), std::string::npos);
}

TEST(ServerSession, AuthCancelledAndUndecodable) {
  SmtpServerSession s(Options(), true);
  s.Feed("EHLO c\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN !!!\r\nAUTH CRAM-MD5\r\n");
  std::string out = Take(s);
  EXPECT_NE(out.find("501 5.0.0 Authentication cancelled\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("501 5.5.2 Cannot decode response\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("504 5.5.4 Unrecognized authentication type"), std::string::npos) << out;
  EXPECT_EQ(s.waiting(), ServerWait::kNone);
}

TEST(ServerSession, TransactionWithChecksAndPipelining) {
  SmtpServerSession s = Authenticated();
  // Pipelined: the session stops at the first RCPT until its check is answered.
  std::string in =
      "MAIL FROM:<Sender@Shop.Test> SIZE=100\r\nRCPT TO:<Ann@Example.COM>\r\n"
      "RCPT TO:<gone@example.com>\r\nRCPT TO:<ann@example.com>\r\nDATA\r\n"
      "Subject: hi\r\n\r\n..dotted\r\nbare lf\nbare\rcr\r\n.\r\nQUIT\r\n";
  size_t used = s.Feed(in);
  EXPECT_EQ(Take(s), "250 2.1.0 Ok\r\n");
  ASSERT_EQ(s.waiting(), ServerWait::kRecipient);
  EXPECT_EQ(s.recipient(), "Ann@example.com");
  EXPECT_EQ(s.recipient_key(), "ann@example.com");
  s.Resolve(250, "2.1.5 Ok");
  used += s.Feed(std::string_view(in).substr(used));
  ASSERT_EQ(s.waiting(), ServerWait::kRecipient);
  EXPECT_EQ(s.recipient(), "gone@example.com");
  s.Resolve(550, "5.7.1 <gone@example.com> is on the suppression list\r\nINJECTED");
  used += s.Feed(std::string_view(in).substr(used));
  // The duplicate of Ann needs no check; DATA, then the message ends and is waited for.
  ASSERT_EQ(s.waiting(), ServerWait::kMessage);
  EXPECT_EQ(s.sender(), "Sender@shop.test");
  EXPECT_EQ(s.recipients(), std::vector<std::string>{"Ann@example.com"});
  EXPECT_EQ(s.body(), "Subject: hi\r\n\r\n.dotted\r\nbare lf\r\nbare\r\ncr\r\n");
  s.Resolve(250, "2.0.0 Ok: queued as 0001");
  used += s.Feed(std::string_view(in).substr(used));
  EXPECT_EQ(used, in.size());
  EXPECT_EQ(Take(s),
            "250 2.1.5 Ok\r\n"
            "550 5.7.1 <gone@example.com> is on the suppression list??INJECTED\r\n"
            "250 2.1.5 Ok (duplicate recipient, sent once)\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n"
            "250 2.0.0 Ok: queued as 0001\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(s.close_after_flush());
}

TEST(ServerSession, DataEndsOnlyAtALoneDot) {
  SmtpServerSession s = Authenticated();
  s.Feed("MAIL FROM:<>\r\nRCPT TO:<b@example.com>\r\n");
  s.Resolve(250, "2.1.5 Ok");
  // Fed byte by byte: ".\r.", " .", "..", "\r.\r" are content; the lone "." line ends it.
  std::string data = "DATA\r\na\r\n.\r.\r\n .\r\n..\r\nx\r.\ry\r\n.\r\n";
  for (char c : data) {
    ASSERT_EQ(s.waiting(), ServerWait::kNone);
    s.Feed(std::string_view(&c, 1));
  }
  ASSERT_EQ(s.waiting(), ServerWait::kMessage);
  EXPECT_EQ(s.sender(), "");
  EXPECT_EQ(s.body(), "a\r\n\r\n.\r\n .\r\n.\r\nx\r\n.\r\ny\r\n");
}

TEST(ServerSession, OversizedMessageIs552AndTheRestIsRead) {
  SmtpServerSession s = Authenticated();
  s.Feed("MAIL FROM:<a@shop.test> SIZE=1001\r\n");
  EXPECT_EQ(Take(s), "552 5.3.4 Message size exceeds the limit of 1000 bytes\r\n");
  s.Feed("MAIL FROM:<a@shop.test>\r\nRCPT TO:<b@example.com>\r\n");
  s.Resolve(250, "2.1.5 Ok");
  s.Feed("DATA\r\n");
  Take(s);
  std::string line(99, 'x');
  line += "\r\n";
  for (int i = 0; i < 20; ++i) s.Feed(line);
  s.Feed(std::string(5000, 'y'));  // a long line without end, past the limit
  s.Feed("\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(s.waiting(), ServerWait::kNone);
  EXPECT_EQ(Take(s), "552 5.3.4 Message size exceeds the limit of 1000 bytes\r\n250 2.0.0 Ok\r\n");
  // The transaction is over: a new one starts clean.
  s.Feed("RCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(Take(s), "503 5.5.1 Need MAIL command\r\n");
}

TEST(ServerSession, RecipientLimitAndBadAddresses) {
  SmtpServerSession s = Authenticated();
  s.Feed("MAIL FROM:<a@shop.test>\r\nRCPT TO:<not an address>\r\nRCPT TO:<>\r\nDATA\r\n");
  std::string out = Take(s);
  EXPECT_NE(out.find("501 5.1.3"), std::string::npos) << out;
  EXPECT_NE(out.find("554 5.5.1 No valid recipients\r\n"), std::string::npos) << out;
  for (int i = 0; i < 3; ++i) {
    s.Feed("RCPT TO:<r" + std::to_string(i) + "@example.com>\r\n");
    ASSERT_EQ(s.waiting(), ServerWait::kRecipient);
    s.Resolve(250, "2.1.5 Ok");
  }
  Take(s);
  s.Feed("RCPT TO:<r9@example.com>\r\n");
  EXPECT_EQ(Take(s), "452 4.5.3 Too many recipients\r\n");
  EXPECT_EQ(s.waiting(), ServerWait::kNone);
}

TEST(ServerSession, CommandLinesAreBoundedAndCleaned) {
  SmtpServerSession s(Options(), false);
  s.Feed(std::string(kMaxCommandLine + 10, 'A'));
  const char kLines[] = "AAAA\r\nNOOP\r\nNO\rOP\r\nNOOP\0x\r\nFOO\r\n";
  s.Feed(std::string_view(kLines, sizeof kLines - 1));
  EXPECT_EQ(Take(s),
            "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n"
            "500 5.5.2 Bare CR or NUL in command line\r\n"
            "500 5.5.2 Bare CR or NUL in command line\r\n"
            "502 5.5.2 Command not recognized\r\n");
}

TEST(ServerSession, AbortAndProgress) {
  SmtpServerSession s(Options(), false);
  uint64_t p = s.progress();
  s.Feed("NOO");
  EXPECT_EQ(s.progress(), p);
  s.Feed("P\r\n");
  EXPECT_EQ(s.progress(), p + 1);
  Take(s);
  s.Abort("4.4.2 Idle timeout");
  EXPECT_TRUE(s.close_after_flush());
  EXPECT_EQ(Take(s), "421 4.4.2 Idle timeout\r\n");
  EXPECT_EQ(s.Feed("NOOP\r\n"), 0u);
}

}  // namespace
}  // namespace salvo
