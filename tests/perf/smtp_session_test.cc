// Unit tests of salvo-sink's SMTP state machine and option parsing (no sockets).
#include "perf/sink/smtp_session.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "perf/sink/sink_config.h"

namespace salvo::sink {
namespace {

SinkConfig Config(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--record", "/dev/null"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto c = ParseSinkArgs(args);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

struct Harness {
  explicit Harness(SinkConfig c) : cfg(std::move(c)), accounts(cfg), env(cfg, &accounts, 1) {
    session = std::make_unique<SmtpSession>(&env, "127.0.0.9");
    session->Greet(0);
    Take();
  }
  // Feeds `in` and returns (and clears) the replies.
  std::string Send(std::string_view in) {
    size_t used = session->Feed(in, 1);
    consumed = used;
    return Take();
  }
  std::string Take() {
    std::string o = session->out();
    session->out().clear();
    session->MarkFlushed(2);
    return o;
  }
  SinkConfig cfg;
  AccountCounters accounts;
  SessionEnv env;
  std::unique_ptr<SmtpSession> session;
  size_t consumed = 0;
};

TEST(SmtpSession, PipelinedTransactionRepliesInOrder) {
  Harness h(Config());
  std::string r = h.Send(
      "EHLO c\r\nMAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<x@y.test>\r\n"
      "RCPT TO:<z@y.test>\r\nDATA\r\n");
  EXPECT_NE(r.find("250-PIPELINING\r\n"), std::string::npos);
  EXPECT_NE(r.find("250-CHUNKING\r\n"), std::string::npos);
  EXPECT_NE(r.find("250-SMTPUTF8\r\n"), std::string::npos);
  EXPECT_EQ(r.find("STARTTLS"), std::string::npos);  // no certificate configured
  EXPECT_NE(r.find("250 ENHANCEDSTATUSCODES\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 "),
            std::string::npos)
      << r;
  EXPECT_EQ(h.Send("Subject: x\r\n\r\n..dot-stuffed\r\n.\r\nQUIT\r\n").substr(0, 20), "250 2.0.0 Ok: queued");
  EXPECT_TRUE(h.session->close_after_flush());
  EXPECT_EQ(h.env.stats.messages, 1u);
  EXPECT_EQ(h.env.stats.rcpt_accepted, 2u);
  EXPECT_EQ(h.env.recorder.size(), 2u);
}

TEST(SmtpSession, EndOfDataSplitAcrossEveryByteBoundary) {
  const std::string body = "line one\r\n.\r\n";
  const std::string msg = "From: a\r\n\r\nbody\r\n.x\r\n" + body;
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    Harness h(Config());
    h.Send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
    std::string r = h.Send(msg.substr(0, cut));
    r += h.Send(msg.substr(cut));
    EXPECT_EQ(h.env.stats.messages, 1u) << "cut " << cut;
    EXPECT_EQ(r.substr(0, 3), "250") << "cut " << cut;
  }
}

TEST(SmtpSession, EmptyMessageAndBareLf) {
  Harness h(Config());
  h.Send("HELO c\nMAIL FROM:<>\nRCPT TO:<x@y>\nDATA\n");
  EXPECT_EQ(h.Send(".\n").substr(0, 3), "250");
  EXPECT_EQ(h.env.stats.messages, 1u);
}

TEST(SmtpSession, BdatChunksAndLast) {
  Harness h(Config());
  h.Send("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n");
  EXPECT_EQ(h.Send("BDAT 5\r\nhel"), "");
  EXPECT_EQ(h.Send("lo"), "250 2.0.0 5 octets received\r\n");
  std::string r = h.Send("BDAT 3 LAST\r\nabcNOOP\r\n");
  EXPECT_EQ(r.substr(0, 20), "250 2.0.0 Ok: queued");
  EXPECT_NE(r.find("\r\n250 2.0.0 Ok\r\n"), std::string::npos);
  EXPECT_EQ(h.env.stats.messages, 1u);
  EXPECT_EQ(h.env.stats.message_bytes, 8u);
  // BDAT without a transaction: the chunk is still consumed, then refused.
  EXPECT_EQ(h.Send("BDAT 4 LAST\r\nxxxxNOOP\r\n"), "503 5.5.1 Bad sequence of commands\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(h.Send("BDAT nope\r\n").substr(0, 3), "501");
  EXPECT_TRUE(h.session->close_after_flush());
}

TEST(SmtpSession, LongLineIsBoundedAndRefused) {
  Harness h(Config());
  std::string junk(kMaxLine * 4, 'A');
  EXPECT_EQ(h.Send(junk), "");
  EXPECT_EQ(h.Send(junk), "");
  EXPECT_EQ(h.Send("\r\nNOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(SmtpSession, SequenceErrorsAndBadPaths) {
  Harness h(Config());
  EXPECT_EQ(h.Send("MAIL FROM:<a@b>\r\n").substr(0, 3), "503");
  h.Send("EHLO c\r\n");
  EXPECT_EQ(h.Send("RCPT TO:<x@y>\r\n").substr(0, 3), "503");
  EXPECT_EQ(h.Send("MAIL FROM:<a@b> SIZE=999999999999\r\n").substr(0, 3), "552");
  EXPECT_EQ(h.Send("MAIL FROM:<a@b>\r\n").substr(0, 3), "250");
  EXPECT_EQ(h.Send("MAIL FROM:<a@b>\r\n").substr(0, 3), "503");
  EXPECT_EQ(h.Send("DATA\r\n").substr(0, 3), "554");
  EXPECT_EQ(h.Send("RCPT TO:<a\tb@c>\r\n").substr(0, 3), "501");
  EXPECT_EQ(h.Send("RCPT TO:<a,b@c>\r\n").substr(0, 3), "501");
  EXPECT_EQ(h.Send("RCPT TO:<>\r\n").substr(0, 3), "501");
  EXPECT_EQ(h.Send("RCPT TO:<" + std::string(300, 'a') + "@c>\r\n").substr(0, 3), "501");
  EXPECT_EQ(h.Send("XYZZY\r\n").substr(0, 3), "502");
  EXPECT_EQ(h.Send("NO\rOP\r\n").substr(0, 3), "500");
  EXPECT_EQ(h.Send("RSET\r\nRCPT TO:<x@y>\r\n"), "250 2.0.0 Ok\r\n503 5.5.1 Need MAIL command\r\n");
  EXPECT_EQ(h.Send("STARTTLS\r\n").substr(0, 3), "502");
}

TEST(SmtpSession, FaultRcptPatternAnd421Closes) {
  Harness h(Config({"--fault-rcpt", "bad=550-5.1.1", "--fault-rcpt", "gone=421-4.7.28"}));
  std::string r = h.Send("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<ok@y>\r\nRCPT TO:<bad1@y>\r\n");
  EXPECT_NE(r.find("250 2.1.5 Ok\r\n550 5.1.1 "), std::string::npos) << r;
  r = h.Send("RCPT TO:<gone@y>\r\nRCPT TO:<never@y>\r\n");
  EXPECT_EQ(r.substr(0, 15), "421 4.7.28 Serv");
  EXPECT_EQ(r.find("never"), std::string::npos);
  EXPECT_TRUE(h.session->close_after_flush());
  EXPECT_LT(h.consumed, std::string("RCPT TO:<gone@y>\r\nRCPT TO:<never@y>\r\n").size());
}

TEST(SmtpSession, FaultRcptOnlyForTheFirstAttempts) {
  SinkConfig cfg = Config({"--fault-rcpt", "retry=450-4.2.1*2"});
  AccountCounters accounts(cfg);
  FaultAttempts attempts;
  SessionEnv env(cfg, &accounts, 1, &attempts);
  std::vector<std::string> codes;
  for (int i = 0; i < 4; ++i) {  // a new session each time: the count is per address, not per session
    SmtpSession s(&env, "127.0.0.9");
    s.Feed("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<retry-me@y>\r\nRCPT TO:<other@y>\r\n", 1);
    size_t mail_ok = s.out().find("250 2.1.0 Ok\r\n");
    ASSERT_NE(mail_ok, std::string::npos);
    codes.push_back(s.out().substr(mail_ok + 14, 3));  // the reply to RCPT TO:<retry-me@y>
    EXPECT_NE(s.out().find("250 2.1.5 Ok\r\n"), std::string::npos);
    s.MarkFlushed(2);
  }
  EXPECT_EQ(codes, (std::vector<std::string>{"450", "450", "250", "250"}));
}

TEST(SmtpSession, RandomFaultsFollowTheMix) {
  Harness h(Config({"--faults", "450-4.2.1:30%,552-5.2.2:20%", "--max-recipients", "100000"}));
  h.Send("EHLO c\r\nMAIL FROM:<a@b>\r\n");
  int n450 = 0, n552 = 0, n250 = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string r = h.Send("RCPT TO:<r@y>\r\n");
    n450 += r.rfind("450 4.2.1", 0) == 0;
    n552 += r.rfind("552 5.2.2", 0) == 0;
    n250 += r.rfind("250 ", 0) == 0;
  }
  EXPECT_EQ(n450 + n552 + n250, 4000);
  EXPECT_NEAR(n450, 1200, 150);
  EXPECT_NEAR(n552, 800, 150);
}

TEST(SmtpSession, DropInDataAndTarpit) {
  Harness h(Config({"--faults", "drop-in-data:100%"}));
  h.Send("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n");
  EXPECT_EQ(h.Send("DATA\r\n").substr(0, 3), "354");
  EXPECT_FALSE(h.session->drop_now());
  h.Send("Subject: x\r\n");
  EXPECT_TRUE(h.session->drop_now());
  EXPECT_EQ(h.env.stats.messages, 0u);

  Harness t(Config({"--faults", "tarpit:100%", "--tarpit-ms", "1234"}));
  t.Send("EHLO c\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ(t.Send("RCPT TO:<x@y>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(t.session->TakeDelayMs(), 1234u);
  EXPECT_EQ(t.session->TakeDelayMs(), 0u);
}


TEST(SmtpSession, AuthPlainLoginAndRequired) {
  Harness h(Config({"--auth", "alice:s3cret", "--auth", "bob:pw"}));
  std::string r = h.Send("EHLO c\r\n");
  EXPECT_NE(r.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(h.Send("MAIL FROM:<a@b>\r\n"), "530 5.7.0 Authentication required\r\n");
  // "\0alice\0wrong" and "\0alice\0s3cret"
  EXPECT_EQ(h.Send("AUTH PLAIN AGFsaWNlAHdyb25n\r\n").substr(0, 9), "535 5.7.8");
  EXPECT_EQ(h.Send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(h.Send("AGFsaWNlAHMzY3JldA==\r\n").substr(0, 9), "235 2.7.0");
  EXPECT_EQ(h.Send("MAIL FROM:<a@b>\r\n").substr(0, 3), "250");

  Harness l(Config({"--auth", "alice:s3cret", "--auth", "bob:pw"}));
  l.Send("EHLO c\r\n");
  EXPECT_EQ(l.Send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(l.Send("Ym9i\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(l.Send("cHc=\r\n").substr(0, 3), "235");
  EXPECT_EQ(l.Send("AUTH LOGIN\r\n").substr(0, 3), "503");
}

TEST(SmtpSession, AuthFailAfterAndCreditLimitPerAccount) {
  Harness h(Config({"--auth", "alice:s3cret", "--auth", "bob:pw", "--auth-fail-after", "alice=1",
                    "--credit-limit", "bob=2"}));
  auto send_one = [](Harness& x) {
    return x.Send("MAIL FROM:<a@b>\r\nRCPT TO:<r@y>\r\nDATA\r\nx\r\n.\r\n");
  };
  h.Send("EHLO c\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
  EXPECT_NE(send_one(h).find("250 2.0.0 Ok: queued"), std::string::npos);
  EXPECT_EQ(h.Send("MAIL FROM:<a@b>\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");

  // A new session for alice cannot even authenticate; bob still works (until his credit ends).
  SmtpSession s2(&h.env, "127.0.0.9");
  s2.Feed("EHLO c\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n", 1);
  EXPECT_NE(s2.out().find("535 5.7.8"), std::string::npos) << s2.out();
  SmtpSession s3(&h.env, "127.0.0.9");
  s3.Feed("EHLO c\r\nAUTH PLAIN AGJvYgBwdw==\r\n", 1);
  s3.out().clear();
  for (int i = 0; i < 2; ++i) {
    s3.Feed("MAIL FROM:<a@b>\r\nRCPT TO:<r@y>\r\nDATA\r\nx\r\n.\r\n", 1);
    EXPECT_NE(s3.out().find("250 2.0.0 Ok: queued"), std::string::npos) << s3.out();
    s3.out().clear();
  }
  s3.Feed("MAIL FROM:<a@b>\r\n", 1);
  EXPECT_EQ(s3.out(), "451 Authentication failed: Maximum credits exceeded\r\n");
  s2.MarkFlushed(3);
  s3.MarkFlushed(3);
}

TEST(SmtpSession, StartTlsStopsParsingAndResets) {
  Harness h(Config());
  h.env.tls_available = true;
  std::string r = h.Send("EHLO c\r\n");
  EXPECT_NE(r.find("250-STARTTLS\r\n"), std::string::npos);
  std::string in = "STARTTLS\r\nMAIL FROM:<injected@x>\r\n";
  EXPECT_EQ(h.Send(in), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(h.consumed, std::string("STARTTLS\r\n").size());
  EXPECT_TRUE(h.session->starttls_requested());
  h.session->OnTlsStarted();
  EXPECT_EQ(h.Send("MAIL FROM:<a@b>\r\n").substr(0, 3), "503");  // EHLO again first
  r = h.Send("EHLO c\r\n");
  EXPECT_EQ(r.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(h.Send("STARTTLS\r\n").substr(0, 3), "503");
}

TEST(SinkConfig, ParsesAndRejects) {
  auto c = ParseSinkArgs({"--listen", "127.0.0.1:2525", "--listen=[::1]:2526", "--threads", "3",
                          "--faults", "421-4.7.28:2%,450-4.2.1:1%,550-5.1.1:1%,552-5.2.2:1%,"
                          "drop-in-data:0.5%,tarpit:0.1%", "--seed", "9"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen.size(), 2u);
  EXPECT_EQ(c->listen[1].host, "::1");
  EXPECT_EQ(c->listen[1].port, 2526);
  EXPECT_EQ(c->threads, 3);
  ASSERT_EQ(c->faults.size(), 6u);
  EXPECT_EQ(c->faults[0].reply.code, 421);
  EXPECT_EQ(c->faults[0].reply.enhanced, "4.7.28");
  EXPECT_DOUBLE_EQ(c->faults[0].probability, 0.02);
  EXPECT_EQ(c->faults[4].kind, FaultSpec::Kind::kDropInData);
  EXPECT_EQ(c->faults[5].kind, FaultSpec::Kind::kTarpit);
  EXPECT_EQ(c->seed, 9u);

  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {},
           {"--listen", "127.0.0.1"},
           {"--listen", "127.0.0.1:99999"},
           {"--listen", "127.0.0.1:1", "--faults", "550-5.1.1:2"},
           {"--listen", "127.0.0.1:1", "--faults", "250:2%"},
           {"--listen", "127.0.0.1:1", "--faults", "550-4.1.1:2%"},
           {"--listen", "127.0.0.1:1", "--faults", "550:60%,450:60%"},
           {"--listen", "127.0.0.1:1", "--fault-rcpt", "x"},
           {"--listen", "127.0.0.1:1", "--fault-rcpt", "x=450*0"},
           {"--listen", "127.0.0.1:1", "--fault-rcpt", "x=450*y"},
           {"--listen", "127.0.0.1:1", "--auth", "nopass"},
           {"--listen", "127.0.0.1:1", "--tls-cert", "a"},
           {"--listen", "127.0.0.1:1", "--credit-limit", "bob=x"},
           {"--listen", "127.0.0.1:1", "--bogus"},
       }) {
    EXPECT_FALSE(ParseSinkArgs(bad).ok()) << (bad.empty() ? "" : bad.back());
  }
}

TEST(SinkConfig, ArrivalsTakesAFile) {
  auto c = ParseSinkArgs({"--listen", "127.0.0.1:1", "--arrivals", "/tmp/arr.tsv"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->arrivals_path, "/tmp/arr.tsv");
  EXPECT_TRUE(c->record_path.empty());
  auto inline_form = ParseSinkArgs({"--listen", "127.0.0.1:1", "--arrivals=a.tsv"});
  ASSERT_TRUE(inline_form.ok()) << inline_form.status();
  EXPECT_EQ(inline_form->arrivals_path, "a.tsv");
  auto missing = ParseSinkArgs({"--listen", "127.0.0.1:1", "--arrivals"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--arrivals needs a value"), std::string_view::npos)
      << missing.status();
  auto empty = ParseSinkArgs({"--listen", "127.0.0.1:1", "--arrivals="});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("--arrivals needs a file name"), std::string_view::npos)
      << empty.status();
}

// --arrivals alone (no --record): every recipient accepted at end of data gets a row with the
// wall-clock time of its end of data; refused recipients and unfinished messages get none.
TEST(SmtpSession, ArrivalsRecordEachAcceptedRecipientsEndOfData) {
  auto c = ParseSinkArgs({"--listen", "127.0.0.1:0", "--arrivals", "/dev/null",
                          "--fault-rcpt", "bad=550-5.1.1"});
  ASSERT_TRUE(c.ok()) << c.status();
  Harness h(*c);
  h.Send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nRCPT TO:<bad@y.test>\r\n"
         "RCPT TO:<z@y.test>\r\nDATA\r\n");
  EXPECT_EQ(h.env.arrivals.size(), 0u);
  EXPECT_EQ(h.Send("body\r\n.\r\n").substr(0, 3), "250");
  EXPECT_EQ(h.env.arrivals.size(), 2u);
  EXPECT_EQ(h.env.recorder.size(), 0u);  // no --record
  h.Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<w@y.test>\r\nDATA\r\nunfinished\r\n");
  EXPECT_EQ(h.env.arrivals.size(), 2u);

  // Written at exit, oldest first: "address<TAB>unix_us", the time from the realtime offset.
  const std::string path = ::testing::TempDir() + "/arrivals.tsv";
  ASSERT_TRUE(ArrivalLog::WriteTsv(path, {&h.env.arrivals}).ok());
  FILE* f = fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[256] = {0};
  std::string text(buf, fread(buf, 1, sizeof buf - 1, f));
  fclose(f);
  const std::string us = std::to_string((h.env.realtime_offset_ns + 1) / 1000);  // now_ns = 1
  EXPECT_EQ(text, "x@y.test\t" + us + "\nz@y.test\t" + us + "\n");
  EXPECT_GT(h.env.realtime_offset_ns, int64_t{1'600'000'000} * 1'000'000'000);  // a 2020s clock
}

TEST(LatencyHistogram, QuantilesWithinBucketError) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Add(v * 10);
  EXPECT_NEAR(static_cast<double>(h.Quantile(0.5)), 500000.0, 500000.0 * 0.13);
  EXPECT_NEAR(static_cast<double>(h.Quantile(0.99)), 990000.0, 990000.0 * 0.13);
  EXPECT_EQ(h.count(), 100000u);
  LatencyHistogram empty;
  EXPECT_EQ(empty.Quantile(0.5), 0u);
}

}  // namespace
}  // namespace salvo::sink
