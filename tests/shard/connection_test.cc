// shard/connection.h: SmtpConnection on a real RingLoop against a small scripted SMTP server
// the test runs on 127.0.0.1 (plain, STARTTLS or implicit TLS with a certificate made in the
// test). The owner sends the prepared messages when the connection is ready and QUITs after.
// Checked, from both ends: the commands and message bytes the server got (dot-stuffed body,
// pipelined envelope), the outcome of every recipient (250 delivered, 550 rejected with its
// enhanced code, a drop after DATA deferred at connection level), AUTH refused, a silent server
// timing out in the greeting, connection refused, STARTTLS / implicit TLS (with a verified
// certificate, a wrong host name, or no TLS context), and exactly one OnConnectionClosed
// (graceful only after QUIT).
#include "shard/connection.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/shard/loopback_test_util.h"
#include "tests/shard/tls_test_util.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using test::Recorder;

// --- the server ---

struct ServerScript {
  std::string greeting = "220 mx.test ESMTP\r\n";  // "" = say nothing, wait for the client to go
  bool offer_starttls = false;
  bool implicit_tls = false;
  SSL_CTX* tls_ctx = nullptr;
  bool offer_auth = false;
  std::string auth_reply = "235 2.7.0 ok\r\n";
  std::map<std::string, std::string> rcpt_replies;  // address -> reply (default 250)
  std::string data_end_reply = "250 2.0.0 queued as 18\r\n";
  bool drop_after_data = false;  // close instead of answering the end of data
};

// A script whose server answers RCPT TO:<address> with `reply` (the others with 250).
ServerScript RcptReply(const std::string& address, const std::string& reply) {
  ServerScript s;
  s.rcpt_replies[address] = reply;
  return s;
}

// One connection's SMTP server on a thread: replies to each command line in order (so
// pipelined commands work) and records what it got.
class SmtpServer {
 public:
  explicit SmtpServer(ServerScript script) : script_(std::move(script)) {
    test::ListenOn(&listener_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SmtpServer() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return listener_.port; }
  // After Join().
  const std::vector<std::string>& commands() const { return commands_; }
  const std::string& message() const { return message_; }
  bool tls_used() const { return tls_used_; }

 private:
  bool Send(const std::string& s) {
    const int n = static_cast<int>(s.size());
    if (ssl_) return SSL_write(ssl_, s.data(), n) == n;
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // One line without its CRLF; false on EOF / error / timeout.
  bool ReadLine(std::string* line) {
    while (true) {
      size_t nl = buf_.find("\r\n");
      if (nl != std::string::npos) {
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        return true;
      }
      char tmp[4096];
      int n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp)
                   : static_cast<int>(::recv(fd_, tmp, sizeof tmp, 0));
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  bool StartTls() {
    if (!script_.tls_ctx) return false;
    ssl_ = SSL_new(script_.tls_ctx);
    SSL_set_fd(ssl_, fd_);
    tls_used_ = SSL_accept(ssl_) == 1;
    return tls_used_;
  }
  void Serve() {
    fd_ = test::AcceptOne(listener_.fd);
    if (fd_ < 0) return;
    timeval tv{5, 0};  // never hang the test: reads give up after 5 s
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    Converse();
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
      ERR_clear_error();
    }
    close(fd_);
  }
  void Converse() {
    if (script_.implicit_tls && !StartTls()) return;
    std::string line;
    if (script_.greeting.empty()) {
      while (ReadLine(&line)) commands_.push_back(line);  // until the client gives up
      return;
    }
    if (!Send(script_.greeting)) return;
    while (ReadLine(&line)) {
      commands_.push_back(line);
      const std::string verb = line.substr(0, 4);
      if (verb == "EHLO") {
        std::string r = "250-mx.test\r\n";
        if (script_.offer_starttls && !ssl_) r += "250-STARTTLS\r\n";
        if (script_.offer_auth) r += "250-AUTH PLAIN LOGIN\r\n";
        Send(r + "250-PIPELINING\r\n250 8BITMIME\r\n");
      } else if (verb == "STAR") {
        Send("220 2.0.0 go ahead\r\n");
        if (!StartTls()) return;
      } else if (verb == "AUTH") {
        Send(script_.auth_reply);
      } else if (verb == "MAIL" || verb == "RSET") {
        Send("250 2.1.0 ok\r\n");
      } else if (verb == "RCPT") {
        size_t lt = line.find('<'), gt = line.find('>');
        std::string addr = line.substr(lt + 1, gt - lt - 1);
        auto it = script_.rcpt_replies.find(addr);
        Send(it != script_.rcpt_replies.end() ? it->second : "250 2.1.5 ok\r\n");
      } else if (verb == "DATA") {
        Send("354 go ahead\r\n");
        while (ReadLine(&line) && line != ".") absl::StrAppend(&message_, line, "\r\n");
        if (script_.drop_after_data) return;
        Send(script_.data_end_reply);
      } else if (verb == "QUIT") {
        Send("221 2.0.0 bye\r\n");
        return;
      } else {
        Send("500 5.5.1 unknown command\r\n");
      }
    }
  }

  ServerScript script_;
  test::Listener listener_;
  std::thread thread_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buf_;
  std::vector<std::string> commands_;
  std::string message_;
  bool tls_used_ = false;
};

// --- the owner (the pool's role), on the loop thread ---

class TestOwner : public ConnectionOwner {
 public:
  explicit TestOwner(Recorder* rec) : rec_(rec) {}
  // Messages sent one after the other when the connection is ready; QUIT after the last.
  std::vector<const RenderedMessage*> to_send;
  std::vector<std::string_view> rcpts;  // when set: every message goes to these recipients

  void OnConnectionReady(SmtpConnection* c) override {
    rec_->Add("ready");
    if (!c->idle()) return;
    if (next_ < to_send.size()) {
      const uint64_t tag = 100 + next_;
      absl::Status st = rcpts.empty() ? c->Send(*to_send[next_], tag)
                                      : c->Send(*to_send[next_], rcpts, tag);
      ++next_;
      if (!st.ok()) rec_->Add("send error " + st.ToString());
      return;
    }
    c->Quit();
  }
  void OnMessageDone(SmtpConnection*, uint64_t tag, const RcptOutcome& o) override {
    const char* result = o.result == RcptResult::kDelivered  ? "delivered"
                         : o.result == RcptResult::kRejected ? "rejected"
                                                             : "deferred";
    rec_->Add(absl::StrCat("done ", tag, " ", result, " ", o.reply.code,
                           o.reply.enhanced.empty() ? "" : " " + o.reply.enhanced,
                           o.connection_level ? " (" + o.failure + ")" : ""));
  }
  void OnAuthFailed(SmtpConnection*, const std::string& reason) override {
    rec_->Add("auth failed: " + reason);
  }
  void OnConnectionClosed(SmtpConnection* c, const std::string& reason, bool graceful) override {
    rec_->Add(absl::StrCat("closed ", graceful ? "graceful" : "failed", ": ", reason,
                           " (messages ", c->messages(), ")"));
  }

 private:
  Recorder* rec_;
  size_t next_ = 0;
};

RenderedMessage Message(const std::string& to, const std::vector<std::string_view>& segments) {
  RenderedMessage m;
  m.envelope_from = "bounces+t@bounce.example.com";
  m.recipient = to;
  m.segments = segments;
  for (auto s : segments) m.size += s.size();
  return m;
}

constexpr std::string_view kHeaders =
    "From: a@example.com\r\nTo: b@example.net\r\nSubject: t\r\n\r\n";
constexpr std::string_view kBody = "Hello\r\n.leading dot\r\nBye\r\n";

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // the server's SSL_write to a client that went away
    ASSERT_TRUE(loop_.Start(256).ok());
    params_.host = "mail.test";
    params_.session.ehlo_name = "client.test";
    params_.session.tls = TlsMode::kNone;
    params_.session.chunking = false;
    params_.session.pipeline_transactions = false;
  }
  void TearDown() override {
    loop_.StopAndJoin();
    SSL_CTX_free(server_ctx_);
  }
  // Starts a connection to 127.0.0.1:port; it deletes itself after OnConnectionClosed.
  void StartConnection(int port) {
    ResolvedAddress to;
    ASSERT_TRUE(ParseIpLiteral("127.0.0.1", static_cast<uint16_t>(port), &to));
    loop_.Post([this, to] { (new SmtpConnection(&loop_, &owner_, &params_, 1))->Start(to); });
  }
  std::vector<std::string> RunUntilClosed(int port) {
    StartConnection(port);
    EXPECT_NE(rec_.WaitFor("closed"), "") << "no OnConnectionClosed";
    std::promise<void> flushed;  // anything still queued on the loop runs first
    loop_.Post([&] { flushed.set_value(); });
    flushed.get_future().wait();
    return rec_.events();
  }
  // Queues a message (kHeaders, kBody) to `to` for the connection to send.
  void QueueMessage(const std::string& to) {
    messages_.push_back(Message(to, {kHeaders, kBody}));
    owner_.to_send.push_back(&messages_.back());
  }
  // The same against `server`, joined when the connection has closed.
  std::vector<std::string> RunUntilClosed(SmtpServer& server) {
    std::vector<std::string> ev = RunUntilClosed(server.port());
    server.Join();
    return ev;
  }
  void UseTls(const std::string& cert_name) {
    ASSERT_NO_FATAL_FAILURE(test::MakeTrustedPair(cert_name, dir_, &client_ctxs_, &cert_,
                                                  &server_ctx_, &params_.tls_ctx));
  }
  // A server presenting a certificate for `cert_name`, with STARTTLS or implicit TLS as `mode`
  // says, and the connection set to use `mode`.
  std::unique_ptr<SmtpServer> TlsServer(const std::string& cert_name, TlsMode mode) {
    UseTls(cert_name);
    ServerScript script;
    script.offer_starttls = mode == TlsMode::kStartTls;
    script.implicit_tls = mode == TlsMode::kImplicit;
    script.tls_ctx = server_ctx_;
    params_.session.tls = mode;
    return std::make_unique<SmtpServer>(script);
  }

  RingLoop loop_;
  Recorder rec_;
  TestOwner owner_{&rec_};
  ConnectionParams params_;
  test::TempDir dir_;
  test::TestCert cert_;
  SSL_CTX* server_ctx_ = nullptr;
  TlsContextCache client_ctxs_;
  std::deque<RenderedMessage> messages_;  // what QueueMessage queued (addresses stay valid)
};

TEST_F(ConnectionTest, DeliversAndQuits) {
  SmtpServer server({});
  QueueMessage("b@example.net");
  std::vector<std::string> ev = RunUntilClosed(server);
  EXPECT_EQ(ev, (std::vector<std::string>{"ready", "done 100 delivered 250 2.0.0", "ready",
                                          "closed graceful: QUIT (messages 1)"}))
      << testing::PrintToString(ev);
  EXPECT_EQ(server.commands(),
            (std::vector<std::string>{"EHLO client.test",
                                      "MAIL FROM:<bounces+t@bounce.example.com>",
                                      "RCPT TO:<b@example.net>", "DATA", "QUIT"}))
      << testing::PrintToString(server.commands());
  // Dot-stuffed on the wire; the server's reading undid nothing else.
  EXPECT_EQ(server.message(), std::string(kHeaders) + "Hello\r\n..leading dot\r\nBye\r\n");
}

TEST_F(ConnectionTest, TwoMessagesOnOneConnectionAndARejectedRecipient) {
  SmtpServer server(
      RcptReply("gone@example.net", "550 5.1.1 <gone@example.net>: user unknown\r\n"));
  QueueMessage("b@example.net");
  QueueMessage("gone@example.net");
  std::vector<std::string> ev = RunUntilClosed(server);
  EXPECT_EQ(ev, (std::vector<std::string>{"ready", "done 100 delivered 250 2.0.0", "ready",
                                          "done 101 rejected 550 5.1.1", "ready",
                                          "closed graceful: QUIT (messages 2)"}))
      << testing::PrintToString(ev);
  // DATA was pipelined behind the refused RCPT: after the 354 the client sends only the "."
  // (no message content goes out without an accepted recipient).
  EXPECT_EQ(std::count(server.commands().begin(), server.commands().end(), "DATA"), 2)
      << testing::PrintToString(server.commands());
  EXPECT_EQ(server.message(), std::string(kHeaders) + "Hello\r\n..leading dot\r\nBye\r\n");
}

TEST_F(ConnectionTest, SeveralRecipientsGetOneOutcomeEach) {
  SmtpServer server(RcptReply("full@example.net", "452 4.2.2 mailbox full\r\n"));
  QueueMessage("b@example.net");
  owner_.rcpts = {"b@example.net", "full@example.net", "c@example.org"};
  std::vector<std::string> ev = RunUntilClosed(server);
  EXPECT_EQ(ev, (std::vector<std::string>{"ready", "done 100 delivered 250 2.0.0",
                                          "done 100 deferred 452 4.2.2",
                                          "done 100 delivered 250 2.0.0", "ready",
                                          "closed graceful: QUIT (messages 1)"}))
      << testing::PrintToString(ev);
}

TEST_F(ConnectionTest, DropAfterDataDefersAtConnectionLevel) {
  ServerScript script;
  script.drop_after_data = true;
  SmtpServer server(script);
  QueueMessage("b@example.net");
  std::vector<std::string> ev = RunUntilClosed(server);
  ASSERT_EQ(ev.size(), 3u) << testing::PrintToString(ev);
  EXPECT_EQ(ev[0], "ready");
  EXPECT_TRUE(absl::StartsWith(ev[1], "done 100 deferred 0 (")) << ev[1];
  EXPECT_TRUE(absl::StrContains(ev[1], "closed")) << ev[1];
  EXPECT_TRUE(absl::StartsWith(ev[2], "closed failed: ")) << ev[2];
  EXPECT_EQ(server.message(), std::string(kHeaders) + "Hello\r\n..leading dot\r\nBye\r\n");
}

TEST_F(ConnectionTest, AuthRefused) {
  ServerScript script;
  script.offer_auth = true;
  script.auth_reply = "535 5.7.8 Authentication credentials invalid\r\n";
  SmtpServer server(script);
  params_.session.username = "user";
  params_.session.password = "wrong-password";
  std::vector<std::string> ev = RunUntilClosed(server);
  ASSERT_EQ(ev.size(), 2u) << testing::PrintToString(ev);
  EXPECT_EQ(ev[0], "auth failed: authentication failed: 535 5.7.8 Authentication credentials "
                   "invalid");
  EXPECT_TRUE(absl::StartsWith(ev[1], "closed failed: authentication failed: 535")) << ev[1];
  ASSERT_GE(server.commands().size(), 2u);
  EXPECT_TRUE(absl::StartsWith(server.commands()[1], "AUTH ")) << server.commands()[1];
  for (const std::string& c : server.commands())
    EXPECT_FALSE(absl::StrContains(c, "wrong-password")) << "password in clear: " << c;
}

TEST_F(ConnectionTest, SilentServerTimesOutInTheGreeting) {
  ServerScript script;
  script.greeting = "";
  SmtpServer server(script);
  params_.session.timeouts.greeting = absl::Milliseconds(200);
  std::vector<std::string> ev = RunUntilClosed(server);
  EXPECT_EQ(ev, std::vector<std::string>{
                    "closed failed: timeout waiting for greeting (messages 0)"});
}

TEST_F(ConnectionTest, ConnectionRefused) {
  test::Listener l;
  test::ListenOn(&l, "127.0.0.1", /*do_listen=*/false);
  std::vector<std::string> ev = RunUntilClosed(l.port);
  EXPECT_EQ(ev, std::vector<std::string>{absl::StrCat(
                    "closed failed: cannot connect to 127.0.0.1:", l.port,
                    ": Connection refused (messages 0)")});
}

TEST_F(ConnectionTest, StartTlsThenDeliversOverTls) {
  std::unique_ptr<SmtpServer> server = TlsServer("mail.test", TlsMode::kStartTls);
  QueueMessage("b@example.net");
  std::vector<std::string> ev = RunUntilClosed(*server);
  EXPECT_TRUE(server->tls_used());
  EXPECT_EQ(ev, (std::vector<std::string>{"ready", "done 100 delivered 250 2.0.0", "ready",
                                          "closed graceful: QUIT (messages 1)"}))
      << testing::PrintToString(ev);
  ASSERT_GE(server->commands().size(), 3u);
  EXPECT_EQ(server->commands()[0], "EHLO client.test");
  EXPECT_EQ(server->commands()[1], "STARTTLS");
  EXPECT_EQ(server->commands()[2], "EHLO client.test");  // again, over TLS
  EXPECT_EQ(server->message(), std::string(kHeaders) + "Hello\r\n..leading dot\r\nBye\r\n");
}

TEST_F(ConnectionTest, StartTlsWithoutATlsContextCloses) {
  ServerScript script;
  script.offer_starttls = true;
  SmtpServer server(script);
  params_.session.tls = TlsMode::kStartTls;
  params_.tls_ctx = nullptr;
  std::vector<std::string> ev = RunUntilClosed(server);
  EXPECT_EQ(ev, std::vector<std::string>{"closed failed: TLS is not configured (messages 0)"});
}

TEST_F(ConnectionTest, StartTlsRequiredButNotOffered) {
  SmtpServer server({});
  params_.session.tls = TlsMode::kStartTls;
  std::vector<std::string> ev = RunUntilClosed(server);
  ASSERT_EQ(ev.size(), 1u) << testing::PrintToString(ev);
  EXPECT_TRUE(absl::StartsWith(ev[0], "closed failed: server does not offer STARTTLS")) << ev[0];
}

TEST_F(ConnectionTest, ImplicitTlsDelivers) {
  std::unique_ptr<SmtpServer> server = TlsServer("mail.test", TlsMode::kImplicit);
  QueueMessage("b@example.net");
  std::vector<std::string> ev = RunUntilClosed(*server);
  EXPECT_TRUE(server->tls_used());
  EXPECT_EQ(ev.back(), "closed graceful: QUIT (messages 1)");
  EXPECT_NE(std::find(ev.begin(), ev.end(), "done 100 delivered 250 2.0.0"), ev.end())
      << testing::PrintToString(ev);
}

TEST_F(ConnectionTest, ImplicitTlsWithTheWrongHostNameFails) {
  // The server's certificate names another host.
  std::unique_ptr<SmtpServer> server = TlsServer("other.test", TlsMode::kImplicit);
  std::vector<std::string> ev = RunUntilClosed(*server);
  EXPECT_EQ(ev, std::vector<std::string>{"closed failed: TLS handshake failed: certificate verify "
                                         "failed: hostname mismatch (messages 0)"});
  EXPECT_FALSE(server->tls_used());
}

}  // namespace
}  // namespace salvo
