// Tests for engine/smtp/session: full scripted SMTP dialogs without sockets — EHLO/HELO fallback,
// STARTTLS + re-EHLO, AUTH PLAIN/LOGIN (incl. 535), PIPELINING batching, BDAT, RSET after a
// failed transaction, 421, 5xx at MAIL and at some RCPTs, timeouts naming the state, peer closed
// mid-DATA, CR/LF refused in commands, the next transaction pipelined behind the end of data
// (RFC 2920 §3.1). Every recipient must get exactly one outcome.
#include "engine/smtp/session.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "engine/smtp/raw_message.h"
#include "gtest/gtest.h"

namespace salvo {
namespace {

constexpr char kSinkEhlo[] = "250-sink.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 \r\n";
// What the client writes for Msg(), one command at a time without PIPELINING.
constexpr char kMailFrom[] = "MAIL FROM:<bounces+t@x.example>\r\n";
constexpr char kRcptTo[] = "RCPT TO:<b@y.example>\r\n";

SmtpSessionOptions PlainOptions() {
  SmtpSessionOptions o;
  o.ehlo_name = "client.example";
  o.tls = TlsMode::kNone;
  return o;
}

RenderedMessage Msg(std::string body = "Subject: t\r\n\r\nhello\r\n",
                    std::string to = "b@y.example") {
  return MessageFromBytes(body, "bounces+t@x.example", std::move(to));
}

SmtpSessionOptions NoPipeliningOptions() {
  SmtpSessionOptions o = PlainOptions();
  o.pipelining = false;
  return o;
}

SmtpSessionOptions StartTlsOptions() {
  SmtpSessionOptions o = PlainOptions();
  o.tls = TlsMode::kStartTls;
  return o;
}

SmtpSessionOptions AuthOptions(std::string username, std::string password,
                               TlsMode tls = TlsMode::kNone) {
  SmtpSessionOptions o = PlainOptions();
  o.tls = tls;
  o.username = std::move(username);
  o.password = std::move(password);
  return o;
}

// Drives one session: Client() returns (and marks written) what the client wrote since the last
// call; Server() feeds bytes; events accumulate in `events`.
class Dialog {
 public:
  explicit Dialog(SmtpSessionOptions o = PlainOptions()) {
    auto s = SmtpSession::Create(std::move(o));
    EXPECT_TRUE(s.ok()) << s.status();
    s_ = std::move(*s);
  }
  SmtpSession& s() { return *s_; }
  std::string Client() {
    std::string w = s_->OutputString();
    s_->OnWritten(w.size());
    Collect();
    return w;
  }
  void Server(std::string_view bytes) {
    s_->OnBytes(bytes);
    Collect();
  }
  void Collect() {
    std::vector<SmtpEvent> ev;
    s_->TakeEvents(&ev);
    for (auto& e : ev) events.push_back(std::move(e));
  }
  // Kinds of the events since the last call, e.g. "ready,message-done".
  std::string Kinds() {
    std::string k;
    for (size_t i = seen_; i < events.size(); ++i) {
      if (!k.empty()) k += ',';
      k += SmtpEventKindName(events[i].kind);
    }
    seen_ = events.size();
    return k;
  }
  const SmtpEvent* Last(SmtpEventKind kind) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == kind) return &*it;
    }
    return nullptr;
  }
  absl::StatusCode Send2(const RenderedMessage& m) { return s_->Send(m, 99).code(); }
  // Send(m, tag) with `m` kept alive by the dialog; false (the test fails) when it is refused.
  bool Send(RenderedMessage m = Msg(), uint64_t tag = 1) {
    const RenderedMessage& kept = messages_.emplace_back(std::move(m));
    absl::Status st = s_->Send(kept, tag);
    EXPECT_TRUE(st.ok()) << st;
    return st.ok();
  }
  // The same to `rcpts` (kept too) instead of the message's recipient.
  bool Send(RenderedMessage m, std::vector<std::string_view> rcpts, uint64_t tag) {
    const RenderedMessage& kept = messages_.emplace_back(std::move(m));
    absl::Status st = s_->Send(kept, recipients_.emplace_back(std::move(rcpts)), tag);
    EXPECT_TRUE(st.ok()) << st;
    return st.ok();
  }
  // The reason of the last `kind` event contains `part`.
  void ExpectReason(SmtpEventKind kind, std::string_view part) const {
    const SmtpEvent* e = Last(kind);
    ASSERT_NE(e, nullptr) << "no " << SmtpEventKindName(kind) << " event";
    EXPECT_NE(e->reason.find(part), std::string::npos) << e->reason;
  }
  // The first recipient's outcome of the last kMessageDone has `result` and reply `code`.
  void ExpectOutcome(RcptResult result, int code) const {
    const RcptOutcome* out = Outcome();
    if (out == nullptr) return;
    EXPECT_EQ(out->result, result);
    EXPECT_EQ(out->reply.code, code);
  }
  // Sends Msg() with `tag`; the client's next write must start with `prefix` (e.g. "RSET\r\n"
  // after a failed transaction, "MAIL " after a successful one).
  void ExpectNextWriteStarts(std::string_view prefix, uint64_t tag) {
    if (!Send(Msg(), tag)) return;
    EXPECT_EQ(Client().substr(0, prefix.size()), prefix);
  }
  // Sends `m`, takes what the client wrote unchecked and answers with `replies`.
  void Begin(std::string_view replies, RenderedMessage m = Msg(), uint64_t tag = 1) {
    if (!Send(std::move(m), tag)) return;
    Client();
    Server(replies);
  }
  // The first recipient's outcome of the last kMessageDone; null (the test fails) when none.
  const RcptOutcome* Outcome() const {
    const SmtpEvent* done = Last(SmtpEventKind::kMessageDone);
    EXPECT_NE(done, nullptr) << "no message-done event";
    if (done == nullptr || done->outcomes.empty()) return nullptr;
    return &done->outcomes[0];
  }
  // For each {command, reply} in turn: the client has written `command`, the server answers.
  void Steps(std::initializer_list<std::pair<std::string_view, std::string_view>> steps) {
    for (const auto& [command, reply] : steps) {
      EXPECT_EQ(Client(), command);
      Server(reply);
    }
  }
  // Greeting + EHLO with `ehlo` reply.
  void Open(std::string_view ehlo = kSinkEhlo) {
    Server("220 sink.example ESMTP\r\n");
    EXPECT_EQ(Client(), "EHLO client.example\r\n");
    Server(ehlo);
  }
  std::vector<SmtpEvent> events;

 private:
  std::unique_ptr<SmtpSession> s_;
  // What Send() sent: alive until the session is gone.
  std::deque<RenderedMessage> messages_;
  std::deque<std::vector<std::string_view>> recipients_;
  size_t seen_ = 0;
};

TEST(SmtpSession, PipelinedDeliveryWithSmtpSink) {
  Dialog d;
  EXPECT_EQ(d.s().state(), SmtpState::kGreeting);
  EXPECT_EQ(d.s().timeout(), absl::Minutes(5));
  d.Open();
  EXPECT_EQ(d.Kinds(), "ready");
  EXPECT_TRUE(d.s().capabilities().pipelining);
  EXPECT_EQ(d.s().state(), SmtpState::kIdle);
  ASSERT_TRUE(d.Send(Msg(), 7));
  // MAIL, RCPT and DATA in one write, as one iovec (commands are contiguous in the arena).
  EXPECT_EQ(d.s().output().size(), 1u);
  EXPECT_EQ(d.Client(), "MAIL FROM:<bounces+t@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kMail);
  d.Server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kData);
  d.Server("354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kDataBlock);
  EXPECT_EQ(d.s().timeout(), absl::Minutes(3));
  EXPECT_EQ(d.Client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kDataDone);
  EXPECT_EQ(d.s().timeout(), absl::Minutes(10));
  d.Server("250 2.0.0 Ok: queued as ABC\r\n");
  EXPECT_EQ(d.Kinds(), "message-done,ready");
  const SmtpEvent* done = d.Last(SmtpEventKind::kMessageDone);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->tag, 7u);
  ASSERT_EQ(done->outcomes.size(), 1u);
  EXPECT_EQ(done->outcomes[0].result, RcptResult::kDelivered);
  EXPECT_EQ(done->outcomes[0].reply.code, 250);
  EXPECT_EQ(done->outcomes[0].reply.enhanced, "2.0.0");
  EXPECT_EQ(done->outcomes[0].reply.text, "Ok: queued as ABC");
  // A second message on the same connection: no RSET after a success.
  ASSERT_TRUE(d.Send(Msg("x\r\n.hidden\r\n", "c@y.example"), 8));
  EXPECT_EQ(d.Client(), "MAIL FROM:<bounces+t@x.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n");
  d.Server("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.Client(), "x\r\n..hidden\r\n.\r\n");
  d.Server("250 ok\r\n");
  EXPECT_EQ(d.Kinds(), "message-done,ready");
  EXPECT_EQ(d.s().messages_sent(), 2u);
  ASSERT_TRUE(d.s().Quit().ok());
  EXPECT_EQ(d.Client(), "QUIT\r\n");
  d.Server("221 Bye\r\n");
  EXPECT_EQ(d.Kinds(), "close");
  EXPECT_TRUE(d.Last(SmtpEventKind::kClose)->graceful);
  EXPECT_EQ(d.s().state(), SmtpState::kClosed);
}

TEST(SmtpSession, HeloFallbackWithoutPipelining) {
  Dialog d;
  d.Server("220 old.example\r\n");
  EXPECT_EQ(d.Client(), "EHLO client.example\r\n");
  d.Server("502 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(d.Client(), "HELO client.example\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kHelo);
  d.Server("250 old.example\r\n");
  EXPECT_EQ(d.Kinds(), "ready");
  EXPECT_FALSE(d.s().capabilities().esmtp);
  RenderedMessage m = Msg();
  m.body_8bit = true;  // no 8BITMIME offered: no BODY= parameter
  ASSERT_TRUE(d.s().Send(m, 1).ok());
  d.Steps({{kMailFrom, "250 ok\r\n"}});  // one command at a time
  EXPECT_EQ(d.s().state(), SmtpState::kRcpt);
  d.Steps({{kRcptTo, "250 ok\r\n"},
           {"DATA\r\n", "354 go\r\n"},
           {"Subject: t\r\n\r\nhello\r\n.\r\n", "250 ok\r\n"}});
  EXPECT_EQ(d.Kinds(), "message-done,ready");
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->outcomes[0].result, RcptResult::kDelivered);
}

TEST(SmtpSession, EhloTemporaryFailureCloses) {
  Dialog d;
  d.Server("220 x\r\n");
  d.Client();
  d.Server("454 try later\r\n");
  EXPECT_EQ(d.Kinds(), "close");
  d.ExpectReason(SmtpEventKind::kClose, "EHLO refused: 454");
}

TEST(SmtpSession, StartTlsThenEhloAgainAndAuthPlain) {
  Dialog d(AuthOptions("apikey", "SG.secret-key", TlsMode::kStartTls));
  d.Server("220 smtp.example ESMTP\r\n");
  d.Client();
  d.Server("250-smtp.example\r\n250-STARTTLS\r\n250-CHUNKING\r\n250 AUTH LOGIN\r\n");
  EXPECT_EQ(d.Client(), "STARTTLS\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kStartTls);
  d.Server("220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(d.Kinds(), "start-tls");
  EXPECT_EQ(d.s().state(), SmtpState::kTlsHandshake);
  EXPECT_EQ(d.s().timeout(), absl::Minutes(2));
  EXPECT_EQ(d.Client(), "");
  d.s().OnTlsEstablished();
  EXPECT_TRUE(d.s().tls_active());
  EXPECT_EQ(d.Client(), "EHLO client.example\r\n");
  // Pre-TLS capabilities (CHUNKING, AUTH LOGIN only) are discarded.
  EXPECT_FALSE(d.s().capabilities().chunking);
  d.Server("250-smtp.example\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n"
           "250 ENHANCEDSTATUSCODES\r\n");
  const std::string auth = d.Client();
  EXPECT_EQ(auth, "AUTH PLAIN " + absl::Base64Escape(std::string("\0apikey\0SG.secret-key", 21)) +
                      "\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kAuth);
  d.Server("235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(d.Kinds(), "ready");
  EXPECT_TRUE(d.s().authenticated());
  ASSERT_TRUE(d.Send());
  EXPECT_EQ(d.Client(), "MAIL FROM:<bounces+t@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
}

TEST(SmtpSession, StartTlsInjectionIsRefused) {
  Dialog d(StartTlsOptions());
  d.Server("220 x\r\n");
  d.Client();
  d.Server("250-x\r\n250 STARTTLS\r\n");
  EXPECT_EQ(d.Client(), "STARTTLS\r\n");
  d.Server("220 go ahead\r\n250-injected\r\n");  // plaintext after the 220: CVE-2011-0411 class
  EXPECT_EQ(d.Kinds(), "close");
  d.ExpectReason(SmtpEventKind::kClose, "plaintext after");
}

TEST(SmtpSession, StartTlsRequiredButNotOffered) {
  Dialog d(StartTlsOptions());
  d.Open();
  EXPECT_EQ(d.Kinds(), "close");
  d.ExpectReason(SmtpEventKind::kClose, "does not offer STARTTLS");
}

TEST(SmtpSession, TlsHandshakeFailure) {
  Dialog d(StartTlsOptions());
  d.Server("220 x\r\n");
  d.Client();
  d.Server("250-x\r\n250 STARTTLS\r\n");
  d.Client();
  d.Server("220 go\r\n");
  d.s().OnConnectionError("TLS handshake failed: certificate verify failed");
  d.Collect();
  EXPECT_EQ(d.Kinds(), "start-tls,close");
  EXPECT_EQ(d.Last(SmtpEventKind::kClose)->reason,
            "TLS handshake failed: certificate verify failed");
}

TEST(SmtpSession, AuthLoginForSendGridApiKey) {
  Dialog d(AuthOptions("apikey", "SG.k", TlsMode::kImplicit));
  EXPECT_TRUE(d.s().tls_active());
  d.Open("250-x\r\n250 AUTH=LOGIN\r\n");
  EXPECT_EQ(d.Client(), "AUTH LOGIN\r\n");
  d.Server("334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(d.Client(), "YXBpa2V5\r\n");  // "apikey"
  d.Server("334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(d.Client(), absl::Base64Escape("SG.k") + "\r\n");
  d.Server("235 ok\r\n");
  EXPECT_EQ(d.Kinds(), "ready");
}

TEST(SmtpSession, AuthFailure535) {
  Dialog d(AuthOptions("apikey", "SG.wrong-secret"));
  d.Open("250-x\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n");
  d.Client();
  d.Server("535 5.7.8 Authentication failed: bad username / password\r\n");
  EXPECT_EQ(d.Kinds(), "auth-failed,close");
  const SmtpEvent* a = d.Last(SmtpEventKind::kAuthFailed);
  EXPECT_EQ(a->reply.code, 535);
  EXPECT_EQ(a->reply.enhanced, "5.7.8");
  EXPECT_NE(a->reason.find("authentication failed: 535 5.7.8"), std::string::npos);
  for (const auto& e : d.events) {
    EXPECT_EQ(e.reason.find("wrong-secret"), std::string::npos);
    EXPECT_EQ(e.reply.text.find("wrong-secret"), std::string::npos);
  }
}

TEST(SmtpSession, AuthNotOffered) {
  Dialog d(AuthOptions("u", "p"));
  d.Open("250-x\r\n250 AUTH CRAM-MD5\r\n");
  EXPECT_EQ(d.Kinds(), "auth-failed,close");
  d.ExpectReason(SmtpEventKind::kAuthFailed, "neither AUTH PLAIN nor LOGIN");
}

TEST(SmtpSession, BdatWithPipelining) {
  Dialog d;
  d.Open("250-x\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");
  RenderedMessage m = Msg("Subject: t\r\n\r\n.dot\nbare lf\r\n");
  m.body_8bit = true;
  ASSERT_TRUE(d.s().Send(m, 3).ok());
  const std::string body = "Subject: t\r\n\r\n.dot\r\nbare lf\r\n";  // BDAT: no dot-stuffing
  EXPECT_EQ(d.Client(), "MAIL FROM:<bounces+t@x.example> SIZE=" + std::to_string(m.size) +
                            " BODY=8BITMIME\r\nRCPT TO:<b@y.example>\r\nBDAT " +
                            std::to_string(body.size()) + " LAST\r\n" + body);
  EXPECT_EQ(d.s().state(), SmtpState::kMail);
  d.Server("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n");
  EXPECT_EQ(d.Kinds(), "ready,message-done,ready");
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->outcomes[0].result, RcptResult::kDelivered);
}

TEST(SmtpSession, ChunkingDisabledUsesData) {
  SmtpSessionOptions o = PlainOptions();
  o.chunking = false;
  o.pipelining = false;
  Dialog d(o);
  d.Open("250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
  ASSERT_TRUE(d.Send());
  EXPECT_EQ(d.Client(), "MAIL FROM:<bounces+t@x.example>\r\n");
}

TEST(SmtpSession, BdatWithoutPipelining) {
  Dialog d(NoPipeliningOptions());
  d.Open("250-x\r\n250 CHUNKING\r\n");
  ASSERT_TRUE(d.Send(Msg("a\r\n")));
  d.Steps({{kMailFrom, "250 ok\r\n"},
           {kRcptTo, "250 ok\r\n"},
           {"BDAT 3 LAST\r\na\r\n", "552 5.3.4 too big\r\n"}});
  d.ExpectOutcome(RcptResult::kRejected, 552);
}

TEST(SmtpSession, RsetOnlyAfterFailedTransaction) {
  Dialog d;
  d.Open();
  d.Begin(
      "250 ok\r\n550 5.1.1 <b@y.example>: Recipient address rejected\r\n"
      "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(d.Kinds(), "ready,message-done,ready");
  const SmtpEvent* done = d.Last(SmtpEventKind::kMessageDone);
  ASSERT_EQ(done->outcomes.size(), 1u);
  EXPECT_EQ(done->outcomes[0].result, RcptResult::kRejected);
  EXPECT_EQ(done->outcomes[0].reply.code, 550);
  EXPECT_EQ(done->outcomes[0].reply.enhanced, "5.1.1");
  EXPECT_FALSE(done->outcomes[0].connection_level);
  ASSERT_TRUE(d.Send(Msg(), 2));
  EXPECT_EQ(d.Client(),
            "RSET\r\nMAIL FROM:<bounces+t@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kRset);
  d.Server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  d.Client();
  d.Server("250 ok\r\n");
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->outcomes[0].result, RcptResult::kDelivered);
  d.ExpectNextWriteStarts("MAIL ", 3);  // no RSET after a success
}

TEST(SmtpSession, RsetWithoutPipeliningWaitsForReply) {
  Dialog d(NoPipeliningOptions());
  d.Open();
  d.Begin("250 ok\r\n");
  d.Client();
  d.Server("450 4.2.0 greylisted\r\n");  // the only recipient: no DATA
  EXPECT_EQ(d.Client(), "");
  const RcptOutcome* out = d.Outcome();
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->result, RcptResult::kDeferred);
  ASSERT_TRUE(d.Send(Msg(), 2));
  EXPECT_EQ(d.Client(), "RSET\r\n");
  d.Server("250 ok\r\n");
  EXPECT_EQ(d.Client(), "MAIL FROM:<bounces+t@x.example>\r\n");
}

TEST(SmtpSession, Greeting421Closes) {
  Dialog d;
  d.Server("421 4.3.2 Service not available, closing channel\r\n");
  EXPECT_EQ(d.Kinds(), "close");
  const SmtpEvent* c = d.Last(SmtpEventKind::kClose);
  EXPECT_EQ(c->reply.code, 421);
  EXPECT_NE(c->reason.find("greeting"), std::string::npos) << c->reason;
  EXPECT_EQ(d.Client(), "");
  EXPECT_FALSE(d.s().Send(Msg(), 1).ok());
}

TEST(SmtpSession, Greeting554Closes) {
  Dialog d;
  d.Server("554 5.7.1 no service for you\r\n");
  EXPECT_EQ(d.Kinds(), "close");
  d.ExpectReason(SmtpEventKind::kClose, "refused the session at greeting: 554");
}

TEST(SmtpSession, MailRejectedRejectsAllRecipients) {
  Dialog d;
  d.Open();
  ASSERT_TRUE(d.Send(Msg(), {"a@y.example", "b@y.example", "c@y.example"}, 5));
  EXPECT_EQ(d.Client(),
            "MAIL FROM:<bounces+t@x.example>\r\nRCPT TO:<a@y.example>\r\n"
            "RCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n");
  d.Server("550 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone), nullptr);  // replies still owed
  d.Server("503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n");
  const SmtpEvent* done = d.Last(SmtpEventKind::kMessageDone);
  ASSERT_NE(done, nullptr);
  ASSERT_EQ(done->outcomes.size(), 3u);
  for (const auto& o : done->outcomes) {
    EXPECT_EQ(o.result, RcptResult::kRejected);
    EXPECT_EQ(o.reply.code, 550);
    EXPECT_EQ(o.reply.text, "sender rejected");
  }
  EXPECT_EQ(d.s().state(), SmtpState::kIdle);
}

// One message, the server's `replies` to its first write: the recipient's outcome, the events
// and that nothing more is written.
struct TransactionCase {
  const char* what;
  SmtpSessionOptions options;
  const char* replies;
  const char* kinds;  // events since the greeting
  RcptResult result;
  bool connection_level;
  int code;
  std::vector<std::string> failure_parts;
};

TEST(SmtpSession, OneTransactionOutcomes) {
  const TransactionCase kCases[] = {
      {"MAIL refused for now, without PIPELINING", NoPipeliningOptions(),
       "451 4.3.0 try later\r\n", "ready,message-done,ready", RcptResult::kDeferred, false, 451,
       {}},
      {"DATA refused after an accepted recipient", PlainOptions(),
       "250 ok\r\n250 ok\r\n554 5.3.0 no data today\r\n", "ready,message-done,ready",
       RcptResult::kRejected, false, 554, {}},
      {"421 mid-transaction", PlainOptions(),
       "250 ok\r\n421 4.7.0 too many errors, closing\r\n", "ready,message-done,close",
       RcptResult::kDeferred, true, 421, {"RCPT reply"}},
      {"garbage instead of a reply", PlainOptions(), "HTTP/1.1 400 Bad Request\r\n",
       "ready,message-done,close", RcptResult::kDeferred, true, 0,
       {"garbage instead of an SMTP reply", "MAIL FROM reply"}},
  };
  for (const TransactionCase& c : kCases) {
    SCOPED_TRACE(c.what);
    Dialog d(c.options);
    d.Open();
    d.Begin(c.replies);
    EXPECT_EQ(d.Client(), "");
    EXPECT_EQ(d.Kinds(), c.kinds);
    const RcptOutcome* out = d.Outcome();
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(out->result, c.result);
    EXPECT_EQ(out->connection_level, c.connection_level);
    EXPECT_EQ(out->reply.code, c.code);
    for (const std::string& part : c.failure_parts)
      EXPECT_NE(out->failure.find(part), std::string::npos) << out->failure;
  }
}

TEST(SmtpSession, SomeRecipientsRefused) {
  Dialog d;
  d.Open();
  ASSERT_TRUE(d.Send(Msg(), {"ok@y.example", "gone@y.example", "grey@y.example"}, 9));
  d.Client();
  d.Server("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n450 4.2.0 greylisted\r\n354 go\r\n");
  EXPECT_EQ(d.Client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  d.Server("250 2.0.0 queued\r\n");
  const SmtpEvent* done = d.Last(SmtpEventKind::kMessageDone);
  ASSERT_NE(done, nullptr);
  ASSERT_EQ(done->outcomes.size(), 3u);
  EXPECT_EQ(done->outcomes[0].result, RcptResult::kDelivered);
  EXPECT_EQ(done->outcomes[1].result, RcptResult::kRejected);
  EXPECT_EQ(done->outcomes[1].reply.ToString(), "550 5.1.1 no such user");
  EXPECT_EQ(done->outcomes[2].result, RcptResult::kDeferred);
  EXPECT_EQ(done->outcomes[2].reply.code, 450);
}

TEST(SmtpSession, EndOfDataFailures) {
  for (auto [reply, want] : {std::pair{"552 5.3.4 message too big\r\n", RcptResult::kRejected},
                             std::pair{"451 4.3.0 queue full\r\n", RcptResult::kDeferred}}) {
    Dialog d;
    d.Open();
    d.Begin("250 ok\r\n250 ok\r\n354 go\r\n");
    d.Client();
    d.Server(reply);
    const RcptOutcome* out = d.Outcome();
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(out->result, want);
    d.ExpectNextWriteStarts("RSET\r\n", 2);
  }
}

TEST(SmtpSession, Data354WithNoValidRecipientSendsLoneDot) {
  Dialog d;
  d.Open();
  d.Begin("250 ok\r\n550 no\r\n354 go\r\n");  // a broken server asks for data anyway
  EXPECT_EQ(d.Client(), ".\r\n");             // the message is not sent
  d.Server("554 no valid recipients\r\n");
  d.ExpectOutcome(RcptResult::kRejected, 550);
}

TEST(SmtpSession, TimeoutsNameTheState) {
  Dialog d;
  d.Open();
  d.Begin("250 ok\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kRcpt);
  EXPECT_EQ(d.s().timeout(), absl::Minutes(5));
  d.s().OnTimeout();
  d.Collect();
  const RcptOutcome* out = d.Outcome();
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->result, RcptResult::kDeferred);
  EXPECT_TRUE(out->connection_level);
  EXPECT_EQ(out->failure, "timeout waiting for RCPT reply");
  EXPECT_EQ(d.Last(SmtpEventKind::kClose)->reason, "timeout waiting for RCPT reply");
  EXPECT_EQ(d.s().state(), SmtpState::kClosed);
  d.s().OnTimeout();  // nothing more after close
  d.Server("250 late\r\n");
  EXPECT_EQ(d.Kinds(), "ready,message-done,close");
}

TEST(SmtpSession, TimeoutWhileWritingDataAndAtGreeting) {
  Dialog d;
  d.Open();
  d.Begin("250 ok\r\n250 ok\r\n354 go\r\n");
  d.s().OnWritten(3);  // a partial write, then nothing
  EXPECT_EQ(d.s().state(), SmtpState::kDataBlock);
  d.s().OnTimeout();
  d.Collect();
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->outcomes[0].failure,
            "timeout writing message data");
  Dialog g;
  g.s().OnTimeout();
  g.Collect();
  EXPECT_EQ(g.Last(SmtpEventKind::kClose)->reason, "timeout waiting for greeting");
}

TEST(SmtpSession, IdleTimeoutSendsQuit) {
  Dialog d;
  d.Open();
  EXPECT_EQ(d.s().timeout(), absl::Seconds(60));
  d.s().OnTimeout();
  EXPECT_EQ(d.Client(), "QUIT\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kQuit);
  d.s().OnPeerClosed();
  d.Collect();
  EXPECT_TRUE(d.Last(SmtpEventKind::kClose)->graceful);
}

TEST(SmtpSession, PeerClosedMidData) {
  Dialog d;
  d.Open();
  d.Begin("250 ok\r\n250 ok\r\n354 go\r\n", Msg(std::string(5000, 'z') + "\r\n"), 4);
  d.s().OnWritten(1000);
  d.s().OnPeerClosed();
  d.Collect();
  EXPECT_EQ(d.s().output_bytes(), 0u);
  const SmtpEvent* done = d.Last(SmtpEventKind::kMessageDone);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->tag, 4u);
  EXPECT_EQ(done->outcomes[0].result, RcptResult::kDeferred);
  EXPECT_TRUE(done->outcomes[0].connection_level);
  EXPECT_EQ(done->outcomes[0].failure,
            "peer closed the connection while writing message data");
  EXPECT_EQ(d.Kinds(), "ready,message-done,close");
}

TEST(SmtpSession, HugeReplyLineClosesWithoutGrowing) {
  Dialog d;
  d.Server("220 x\r\n");
  d.Client();
  std::string chunk(1 << 16, 'A');
  d.Server("250-");
  for (int i = 0; i < 160 && !d.Last(SmtpEventKind::kClose); ++i) d.Server(chunk);  // ~10 MB
  ASSERT_NE(d.Last(SmtpEventKind::kClose), nullptr);
  d.ExpectReason(SmtpEventKind::kClose, "reply line too long");
}

TEST(SmtpSession, UnexpectedReplyWhileIdle) {
  Dialog d;
  d.Open();
  d.Server("250 surprise\r\n");
  EXPECT_EQ(d.Kinds(), "ready,close");
  Dialog e;
  e.Open();
  e.Server("421 4.4.2 idle timeout\r\n");
  e.ExpectReason(SmtpEventKind::kClose, "closed the idle connection");
}

TEST(SmtpSession, CrLfInCommandsIsRefusedNeverWritten) {
  Dialog d;
  d.Open();
  for (std::string bad : {std::string("b@y\r\nRSET"), std::string("b@y\nx"),
                          std::string("b@y\rx"), std::string("a>b@y"), std::string(),
                          std::string("b\0@y", 4)}) {
    RenderedMessage m = Msg("x\r\n", bad);
    absl::Status s = d.s().Send(m, 1);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(d.s().output_bytes(), 0u);
    EXPECT_EQ(d.s().state(), SmtpState::kIdle);
  }
  RenderedMessage bad_from = Msg();
  bad_from.envelope_from = "x@y\r\nDATA";
  EXPECT_FALSE(d.s().Send(bad_from, 1).ok());
  RenderedMessage good = Msg();
  EXPECT_TRUE(d.s().Send(good, 1).ok());
  EXPECT_FALSE(d.s().Send(good, 2).ok());  // not idle
  SmtpSessionOptions o = PlainOptions();
  o.ehlo_name = "evil\r\nMAIL FROM:<x>";
  EXPECT_FALSE(SmtpSession::Create(o).ok());
  o.ehlo_name = "";
  EXPECT_FALSE(SmtpSession::Create(o).ok());
  o = PlainOptions();
  o.username = "u";
  o.password = "p\r\nx";
  auto s = SmtpSession::Create(o);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().find("p\r\nx"), std::string::npos);
}

TEST(SmtpSession, SmtpUtf8AndNullSender) {
  Dialog d;
  d.Open();
  RenderedMessage m = MessageFromBytes("x\r\n", "", "j\xc3\xb6rg@y.example");
  EXPECT_EQ(d.s().Send(m, 1).code(), absl::StatusCode::kFailedPrecondition);
  Dialog u;
  u.Open("250-x\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n");
  ASSERT_TRUE(u.s().Send(m, 1).ok());
  EXPECT_EQ(u.Client(), "MAIL FROM:<> SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@y.example>\r\nDATA\r\n");
}

TEST(SmtpSession, OptionsFromAccount) {
  AccountConfig a;
  a.username = "apikey";
  a.tls = TlsMode::kImplicit;
  a.chunking = false;
  SmtpTimeouts t;
  t.rcpt = absl::Seconds(7);
  SmtpSessionOptions o = SmtpSessionOptions::ForAccount(a, "key", t, "host.example");
  EXPECT_EQ(o.ehlo_name, "host.example");
  EXPECT_EQ(o.username, "apikey");
  EXPECT_EQ(o.password, "key");
  EXPECT_FALSE(o.chunking);
  EXPECT_EQ(o.tls, TlsMode::kImplicit);
  EXPECT_EQ(TimeoutFor(o.timeouts, SmtpState::kRcpt), absl::Seconds(7));
  a.ehlo_name = "mta1.example.com";
  EXPECT_EQ(SmtpSessionOptions::ForAccount(a, "k", t, "h").ehlo_name, "mta1.example.com");
  // Every state has a timeout and a name.
  for (int i = 0; i < kSmtpStateCount; ++i) {
    auto s = static_cast<SmtpState>(i);
    EXPECT_GT(TimeoutFor(SmtpTimeouts(), s), absl::ZeroDuration());
    EXPECT_STRNE(SmtpStateName(s), "?");
  }
}

// --- the next transaction pipelined behind the end of data (pipeline_transactions) ---

SmtpSessionOptions NextOptions() {
  SmtpSessionOptions o = PlainOptions();
  o.pipeline_transactions = true;
  return o;
}

constexpr char kChunkingEhlo[] = "250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n";
constexpr char kEnvelope1[] = "MAIL FROM:<bounces+t@x.example>\r\nRCPT TO:<b@y.example>\r\n";
constexpr char kEnvelope2[] = "MAIL FROM:<bounces+t@x.example>\r\nRCPT TO:<c@y.example>\r\n";

// Two messages, the second pipelined behind the first one's end of data: opens `d`, sends Msg()
// (tag 1), accepts its envelope (DATA) and sends "second" to c@y.example (tag 2) behind it;
// returns what the client wrote then (the first one's body and end, the second's envelope).
// Leaves the "ready-next" event queued.
std::string StartPipelinedPair(Dialog& d) {
  d.Open();
  d.Kinds();
  d.Begin("250 ok\r\n250 ok\r\n354 go\r\n");
  d.Send(Msg("second\r\n", "c@y.example"), 2);
  return d.Client();
}

TEST(SmtpSessionNext, DataNextTransactionInTheSameWriteAsTheDot) {
  Dialog d(NextOptions());
  d.Open();
  EXPECT_EQ(d.Kinds(), "ready");
  RenderedMessage m1 = Msg();
  RenderedMessage m2 = Msg("second\r\n", "c@y.example");
  ASSERT_TRUE(d.s().Send(m1, 1).ok());
  EXPECT_FALSE(d.s().can_send());
  EXPECT_EQ(d.Client(), std::string(kEnvelope1) + "DATA\r\n");
  d.Server("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.Kinds(), "ready-next");
  EXPECT_TRUE(d.s().can_send());
  EXPECT_EQ(d.s().state(), SmtpState::kDataBlock);
  EXPECT_FALSE(d.s().Quit().ok());  // QUIT only once idle
  ASSERT_TRUE(d.s().Send(m2, 2).ok());
  EXPECT_FALSE(d.s().can_send());  // at most 2 transactions in flight
  EXPECT_EQ(d.s().transactions_in_flight(), 2u);
  EXPECT_EQ(d.s().Send(m2, 3).code(), absl::StatusCode::kFailedPrecondition);
  // One write: the first message's data and "." and the second's MAIL/RCPT/DATA (no RSET).
  EXPECT_EQ(d.Client(),
            "Subject: t\r\n\r\nhello\r\n.\r\n" + std::string(kEnvelope2) + "DATA\r\n");
  EXPECT_EQ(d.s().state(), SmtpState::kDataDone);
  d.Server("250 2.0.0 queued as A\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(d.Kinds(), "message-done,ready-next");
  const SmtpEvent* done = d.Last(SmtpEventKind::kMessageDone);
  EXPECT_EQ(done->tag, 1u);
  EXPECT_EQ(done->outcomes[0].result, RcptResult::kDelivered);
  EXPECT_EQ(done->outcomes[0].reply.text, "queued as A");
  EXPECT_EQ(d.Client(), "second\r\n.\r\n");  // nothing queued behind it: only its data
  d.Server("250 2.0.0 queued as B\r\n");
  EXPECT_EQ(d.Kinds(), "message-done,ready");
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->tag, 2u);
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->outcomes[0].reply.text, "queued as B");
  EXPECT_EQ(d.s().state(), SmtpState::kIdle);
  EXPECT_EQ(d.s().messages_sent(), 2u);
  ASSERT_TRUE(d.s().Quit().ok());
  EXPECT_EQ(d.Client(), "QUIT\r\n");
}

TEST(SmtpSessionNext, BdatNextTransactionOnceTheEnvelopeIsAccepted) {
  Dialog d(NextOptions());
  d.Open(kChunkingEhlo);
  d.Kinds();
  RenderedMessage m1 = Msg("a\r\n");
  RenderedMessage m2 = Msg("bb\r\n", "c@y.example");
  ASSERT_TRUE(d.s().Send(m1, 1).ok());
  EXPECT_EQ(d.Client(), std::string(kEnvelope1) + "BDAT 3 LAST\r\na\r\n");
  // BDAT LAST is queued, but the envelope's fate is unknown: a successor now could end up in
  // the first transaction if it is left open (all recipients refused), so not yet.
  EXPECT_FALSE(d.s().can_send());
  d.Server("250 ok\r\n");
  EXPECT_FALSE(d.s().can_send());
  d.Server("250 ok\r\n");
  EXPECT_EQ(d.Kinds(), "ready-next");
  ASSERT_TRUE(d.s().Send(m2, 2).ok());
  EXPECT_EQ(d.Client(), std::string(kEnvelope2) + "BDAT 4 LAST\r\nbb\r\n");
  d.Server("250 2.0.0 queued as A\r\n250 ok\r\n250 ok\r\n");
  EXPECT_EQ(d.Kinds(), "message-done,ready-next");
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->tag, 1u);
  ASSERT_TRUE(d.Send(Msg("c\r\n"), 3));
  EXPECT_EQ(d.Client(), std::string(kEnvelope1) + "BDAT 3 LAST\r\nc\r\n");
  d.Server("250 2.0.0 queued as B\r\n250 ok\r\n250 ok\r\n250 2.0.0 queued as C\r\n");
  EXPECT_EQ(d.Kinds(), "message-done,ready-next,message-done,ready");
  size_t n = 0;
  for (const auto& e : d.events) {
    if (e.kind != SmtpEventKind::kMessageDone) continue;
    EXPECT_EQ(e.tag, ++n);
    EXPECT_EQ(e.outcomes[0].result, RcptResult::kDelivered);
  }
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(d.s().state(), SmtpState::kIdle);
}

TEST(SmtpSessionNext, StaleReadyNextInTheSameRead) {
  // kReadyNext, then the message's end and kReady, in one read: the runner sends once.
  Dialog d(NextOptions());
  d.Open(kChunkingEhlo);
  d.Kinds();
  d.Begin("250 ok\r\n250 ok\r\n250 queued\r\n", Msg("a\r\n"));
  EXPECT_EQ(d.Kinds(), "ready-next,message-done,ready");
  EXPECT_TRUE(d.s().can_send());
  ASSERT_TRUE(d.Send(Msg(), 2));
  EXPECT_FALSE(d.s().can_send());  // the kReady above is stale now
  EXPECT_EQ(d.Client().substr(0, 5), "MAIL ");
}

TEST(SmtpSessionNext, FirstMessageFinalFailureDoesNotAffectTheSecond) {
  for (auto [reply, want] : {std::pair{"552 5.3.4 message too big\r\n", RcptResult::kRejected},
                             std::pair{"451 4.3.0 queue full\r\n", RcptResult::kDeferred}}) {
    Dialog d(NextOptions());
    EXPECT_EQ(StartPipelinedPair(d),
              "Subject: t\r\n\r\nhello\r\n.\r\n" + std::string(kEnvelope2) + "DATA\r\n");
    EXPECT_EQ(d.Kinds(), "ready-next");
    d.Server(reply);
    EXPECT_EQ(d.Kinds(), "message-done");
    const SmtpEvent* done = d.Last(SmtpEventKind::kMessageDone);
    EXPECT_EQ(done->tag, 1u);
    EXPECT_EQ(done->outcomes[0].result, want);
    EXPECT_FALSE(done->outcomes[0].connection_level);
    d.Server("250 ok\r\n250 ok\r\n354 go\r\n");
    EXPECT_EQ(d.Kinds(), "ready-next");
    EXPECT_EQ(d.Client(), "second\r\n.\r\n");
    d.Server("250 2.0.0 queued\r\n");
    EXPECT_EQ(d.Kinds(), "message-done,ready");
    done = d.Last(SmtpEventKind::kMessageDone);
    EXPECT_EQ(done->tag, 2u);
    EXPECT_EQ(done->outcomes[0].result, RcptResult::kDelivered);
    // The last transaction succeeded: no RSET before the next one.
    d.ExpectNextWriteStarts("MAIL ", 3);
  }
}

TEST(SmtpSessionNext, SecondMessageFinalFailureRsetsBeforeTheThird) {
  Dialog d(NextOptions());
  StartPipelinedPair(d);
  d.Server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  d.Client();
  d.Server("554 5.7.1 spam\r\n");
  EXPECT_EQ(d.Last(SmtpEventKind::kMessageDone)->outcomes[0].result, RcptResult::kRejected);
  d.ExpectNextWriteStarts("RSET\r\nMAIL ", 3);
}

TEST(SmtpSessionNext, Reply421AfterThePipelinedGroupFailsBoth) {
  Dialog d(NextOptions());
  StartPipelinedPair(d);
  d.Server("421 4.3.2 System shutting down\r\n");
  EXPECT_EQ(d.Kinds(), "ready-next,message-done,message-done,close");
  size_t n = 0;
  for (const auto& e : d.events) {
    if (e.kind != SmtpEventKind::kMessageDone) continue;
    EXPECT_EQ(e.tag, ++n);  // oldest first
    ASSERT_EQ(e.outcomes.size(), 1u);
    EXPECT_EQ(e.outcomes[0].result, RcptResult::kDeferred);
    EXPECT_TRUE(e.outcomes[0].connection_level);
    EXPECT_EQ(e.outcomes[0].reply.code, 421);
    EXPECT_NE(e.outcomes[0].failure.find("end of data reply"), std::string::npos)
        << e.outcomes[0].failure;
  }
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(d.s().state(), SmtpState::kClosed);
  EXPECT_FALSE(d.s().can_send());
}

TEST(SmtpSessionNext, DropOrTimeoutAfterThePipelinedGroupFailsBoth) {
  for (bool timeout : {false, true}) {
    Dialog d(NextOptions());
    StartPipelinedPair(d);
    d.Server("250 2.0.0 queued\r\n250 ok\r\n");  // first done, second's MAIL accepted
    if (timeout) {
      EXPECT_EQ(d.s().timeout(), absl::Minutes(5));  // waiting for the second's RCPT reply
      d.s().OnTimeout();
    } else {
      d.s().OnPeerClosed();
    }
    d.Collect();
    std::vector<const SmtpEvent*> done;
    for (const auto& e : d.events)
      if (e.kind == SmtpEventKind::kMessageDone) done.push_back(&e);
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[0]->outcomes[0].result, RcptResult::kDelivered);
    EXPECT_EQ(done[1]->tag, 2u);
    EXPECT_EQ(done[1]->outcomes[0].result, RcptResult::kDeferred);
    EXPECT_TRUE(done[1]->outcomes[0].connection_level);
    EXPECT_EQ(done[1]->outcomes[0].failure,
              timeout ? "timeout waiting for RCPT reply"
                      : "peer closed the connection while waiting for RCPT reply");
  }
}

TEST(SmtpSessionNext, NoSuccessorWhenTheTransactionNeedsRset) {
  // All recipients refused: DATA gets no 354, so nothing is pipelined; RSET first, as before.
  // A NextOptions() dialog opened with `ehlo` whose first message got `replies`.
  auto begin = [](std::string_view ehlo, std::string_view replies) {
    auto d = std::make_unique<Dialog>(NextOptions());
    d->Open(ehlo);
    d->Kinds();
    d->Begin(replies);
    return d;
  };
  // The transaction ended refused: the next message starts with RSET.
  auto expect_rset_next = [](Dialog& d) {
    EXPECT_EQ(d.Kinds(), "message-done,ready");
    d.ExpectNextWriteStarts("RSET\r\nMAIL ", 2);
  };
  expect_rset_next(
      *begin(kSinkEhlo, "250 ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no valid recipients\r\n"));
  // A broken server's 354 with no accepted recipient: the lone "." gets no successor.
  auto b = begin(kSinkEhlo, "250 ok\r\n550 no\r\n354 go\r\n");
  EXPECT_EQ(b->Kinds(), "");
  EXPECT_FALSE(b->s().can_send());
  // BDAT with every recipient refused (the server may keep the transaction open).
  auto c = begin(kChunkingEhlo, "250 ok\r\n550 5.1.1 unknown\r\n");
  EXPECT_EQ(c->Kinds(), "");
  EXPECT_FALSE(c->s().can_send());
  c->Server("554 5.5.1 no valid recipients\r\n");
  expect_rset_next(*c);
}

TEST(SmtpSessionNext, ServerWithoutPipeliningIsUnchanged) {
  Dialog d(NextOptions());
  d.Open("250-x\r\n250 8BITMIME\r\n");
  d.Kinds();
  ASSERT_TRUE(d.Send());
  d.Steps({{kMailFrom, "250 ok\r\n"}, {kRcptTo, "250 ok\r\n"}, {"DATA\r\n", "354 go\r\n"}});
  EXPECT_FALSE(d.s().can_send());
  EXPECT_EQ(d.Send2(Msg()), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(d.Client(), "Subject: t\r\n\r\nhello\r\n.\r\n");
  d.Server("250 ok\r\n");
  EXPECT_EQ(d.Kinds(), "message-done,ready");
  // The account option off: a PIPELINING server, but one transaction at a time.
  SmtpSessionOptions o = NextOptions();
  o.pipelining = false;
  Dialog e(o);
  e.Open();
  e.Kinds();
  ASSERT_TRUE(e.Send());
  e.Steps({{kMailFrom, "250 ok\r\n"}});
  e.Client();
  e.Server("250 ok\r\n");
  e.Client();
  e.Server("354 go\r\n");
  EXPECT_EQ(e.Kinds(), "");
  EXPECT_FALSE(e.s().can_send());
}

// A scripted server that answers everything it has been sent (MAIL/RCPT 250, DATA 354 then the
// data up to "." 250, BDAT n LAST 250 after n bytes). Counts round trips (one per client write
// answered) for `n` messages, each sent as soon as the session can take it.
struct RoundTrips {
  size_t writes = 0;
  size_t done = 0;
};
RoundTrips RunSink(SmtpSessionOptions o, std::string_view ehlo, size_t n) {
  Dialog d(std::move(o));
  d.Open(ehlo);
  RenderedMessage m = Msg(std::string(3000, 'z') + "\r\n.dot\r\n");
  size_t sent = 0;
  RoundTrips rt;
  bool in_data = false;
  size_t bdat_left = 0;
  std::string pending;  // client bytes not yet parsed by the "server"
  for (int guard = 0; guard < 1000 && rt.done < n; ++guard) {
    while (sent < n && d.s().can_send()) {
      EXPECT_TRUE(d.s().Send(m, ++sent).ok());
      d.Collect();
    }
    std::string w = d.Client();
    if (w.empty()) break;
    ++rt.writes;
    pending += w;
    std::string replies;
    for (;;) {
      if (bdat_left > 0) {
        const size_t k = std::min(bdat_left, pending.size());
        pending.erase(0, k);
        bdat_left -= k;
        if (bdat_left > 0) break;
        replies += "250 2.0.0 queued\r\n";
        continue;
      }
      const size_t eol = pending.find("\r\n");
      if (eol == std::string::npos) break;
      const std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 2);
      if (in_data) {
        if (line == ".") {
          in_data = false;
          replies += "250 2.0.0 queued\r\n";
        }
      } else if (line == "DATA") {
        in_data = true;
        replies += "354 go\r\n";
      } else if (line.rfind("BDAT ", 0) == 0) {
        bdat_left = std::stoul(line.substr(5));
      } else {
        replies += "250 ok\r\n";
      }
    }
    d.Server(replies);
  }
  for (const auto& e : d.events) {
    if (e.kind != SmtpEventKind::kMessageDone) continue;
    ++rt.done;
    EXPECT_EQ(e.outcomes[0].result, RcptResult::kDelivered);
  }
  return rt;
}

TEST(SmtpSessionNext, RoundTripsPerMessage) {
  constexpr size_t kN = 20;
  const RoundTrips before = RunSink(PlainOptions(), kSinkEhlo, kN);
  const RoundTrips after = RunSink(NextOptions(), kSinkEhlo, kN);
  EXPECT_EQ(before.done, kN);
  EXPECT_EQ(after.done, kN);
  EXPECT_EQ(before.writes, 2 * kN);  // MAIL/RCPT/DATA -> 354; data -> 250
  EXPECT_EQ(after.writes, kN + 1);   // data "." MAIL/RCPT/DATA -> 250 250 250 354
  const RoundTrips bdat_before = RunSink(PlainOptions(), kChunkingEhlo, kN);
  const RoundTrips bdat_after = RunSink(NextOptions(), kChunkingEhlo, kN);
  EXPECT_EQ(bdat_before.writes, kN);
  EXPECT_EQ(bdat_after.done, kN);
  // This sink answers a whole write at once (like Postfix): no gain with BDAT, and no loss.
  EXPECT_EQ(bdat_after.writes, kN);
  std::printf("round trips for %zu messages: DATA %zu -> %zu, BDAT %zu -> %zu\n", kN,
              before.writes, after.writes, bdat_before.writes, bdat_after.writes);
}

}  // namespace
}  // namespace salvo
