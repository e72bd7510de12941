// shard/stream.h: RingStream on a real RingLoop against loopback sockets the test owns. Checked:
// connect (peer name, refused, timeout with a full accept queue, source address bound / wrong
// family / not local); writes of views and copies arrive in order, also thousands of pieces
// (more than one sendmsg's iovecs) and writes queued while a send is in flight; received bytes
// are handed on as they are; the peer's close and Close() end in exactly one OnFinished with
// nothing after it and the socket closed; STARTTLS-style upgrade with a certificate made in the
// test: data both ways encrypted, close_notify reported, a wrong host name refused.
#include "shard/stream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
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

using test::AcceptOne;
using test::kWait;
using test::Listener;
using test::ListenOn;
using test::Readable;
using test::ReadN;
using test::Recorder;
using test::WriteAll;

class TestStream : public RingStream {
 public:
  TestStream(RingLoop* loop, Recorder* rec) : RingStream(loop), rec_(rec) {}

 protected:
  void OnConnected(absl::Status st) override {
    rec_->Add(st.ok() ? "connected" : absl::StrCat("connect error ", st.ToString()));
  }
  void OnTlsReady(absl::Status st) override {
    rec_->Add(st.ok() ? "tls ready" : absl::StrCat("tls error ", st.message()));
  }
  void OnData(std::string_view bytes) override { rec_->AddData(bytes); }
  void OnWritten() override { rec_->Add("written"); }
  void OnStreamError(std::string reason) override { rec_->Add("stream error " + reason); }
  void OnFinished() override { rec_->Add("finished"); }

 private:
  Recorder* rec_;
};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Start(256).ok());
    stream_ = std::make_unique<TestStream>(&loop_, &rec_);
  }
  void TearDown() override {
    loop_.StopAndJoin();  // the ring goes away before the stream
    stream_.reset();
  }
  // Runs `fn` on the loop thread and waits for it.
  void OnLoop(std::function<void()> fn) {
    std::promise<void> done;
    loop_.Post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  void Connect(int port, const std::string& source = "",
               absl::Duration timeout = absl::Seconds(5)) {
    ResolvedAddress to;
    ASSERT_TRUE(ParseIpLiteral("127.0.0.1", static_cast<uint16_t>(port), &to));
    OnLoop([&] { stream_->Connect(to, source, timeout); });
  }
  // Connects the stream to `l`, a new listener on 127.0.0.1, and returns the accepted socket
  // (its peer address in *peer) once the stream says it is connected; -1 (a test failure) if not.
  int ConnectAccepted(Listener* l, std::string* peer = nullptr) {
    ListenOn(l);
    Connect(l->port);
    int s = AcceptOne(l->fd, peer);
    EXPECT_GE(s, 0);
    if (s < 0) return -1;
    const std::string connected = rec_.WaitFor("connect");
    EXPECT_EQ(connected, "connected");
    if (connected == "connected") return s;
    close(s);
    return -1;
  }
  // Close() and wait for OnFinished.
  void CloseAndFinish() {
    OnLoop([&] { stream_->Close(); });
    EXPECT_EQ(rec_.WaitFor("finished"), "finished");
  }

  RingLoop loop_;
  Recorder rec_;
  std::unique_ptr<TestStream> stream_;
};

// Connections that fill the accept queue of a listener with backlog 0: Linux then drops further
// SYNs, so a connect to it hangs.
std::vector<int> FillAcceptQueue(int port) {
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    (void)!connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(c);
  }
  return fillers;
}

TEST_F(StreamTest, WritesArriveInOrderAndReceivedBytesAreHandedOn) {
  const int fds_before = test::CountOpenFds();
  Listener l;
  std::string peer;
  int s = ConnectAccepted(&l, &peer);
  ASSERT_GE(s, 0);
  EXPECT_EQ(stream_->peer(), absl::StrCat("127.0.0.1:", l.port));
  EXPECT_EQ(peer, "127.0.0.1");

  static const char kConst[] = "MAIL FROM:<a@example.com>\r\n";
  OnLoop([&] {
    EXPECT_TRUE(stream_->write_idle());
    std::string temp = "RCPT TO:<b@example.com>\r\n";
    stream_->Write(kConst, false);      // a view: must stay valid (static)
    stream_->Write(temp, true);         // a copy: `temp` dies right after
    stream_->Write("DATA\r\n", true);   // merged with the previous copy
    stream_->Write("", true);           // nothing
    EXPECT_FALSE(stream_->write_idle());
    stream_->Flush();
  });
  const std::string expected = std::string(kConst) + "RCPT TO:<b@example.com>\r\nDATA\r\n";
  EXPECT_EQ(ReadN(s, expected.size()), expected);
  EXPECT_EQ(rec_.WaitFor("written"), "written");

  WriteAll(s, "250 ok\r\n");
  WriteAll(s, "354 go ahead\r\n");
  EXPECT_EQ(rec_.WaitForData(22), "250 ok\r\n354 go ahead\r\n");

  close(s);  // the peer goes away
  EXPECT_EQ(rec_.WaitFor("stream error"), "stream error peer closed the connection");
  CloseAndFinish();
  OnLoop([] {});  // let anything stray run
  std::vector<std::string> ev = rec_.events();
  EXPECT_EQ(ev, (std::vector<std::string>{"connected", "written",
                                          "stream error peer closed the connection",
                                          "finished"}));
  close(l.fd);
  l.fd = -1;
  EXPECT_EQ(test::CountOpenFds(), fds_before);  // the stream's socket is closed
}

TEST_F(StreamTest, ThousandsOfPiecesAndWritesQueuedDuringASend) {
  Listener l;
  int s = ConnectAccepted(&l);
  ASSERT_GE(s, 0);
  // 2000 views of 4 KiB (8 MB: far more than the socket buffer, and more iovecs than one
  // sendmsg takes), then more while that send is still in flight.
  std::string source(4096 * 2000, '\0');
  for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<char>('a' + (i * 7) % 26);
  OnLoop([&] {
    for (size_t i = 0; i < 2000; ++i)
      stream_->Write(std::string_view(source).substr(i * 4096, 4096), false);
    stream_->Flush();
  });
  OnLoop([&] {
    stream_->Write("TAIL-1\r\n", true);
    stream_->Flush();  // a send is in flight: queued behind it
    stream_->Write("TAIL-2\r\n", true);
    stream_->Flush();
  });
  const std::string got = ReadN(s, source.size() + 16);
  ASSERT_EQ(got.size(), source.size() + 16);
  EXPECT_TRUE(got.compare(0, source.size(), source) == 0) << "body bytes differ";
  EXPECT_EQ(got.substr(source.size()), "TAIL-1\r\nTAIL-2\r\n");
  EXPECT_EQ(rec_.WaitFor("written"), "written");
  close(s);
  CloseAndFinish();
}

TEST_F(StreamTest, ConnectionRefused) {
  Listener l;
  ListenOn(&l, "127.0.0.1", /*do_listen=*/false);  // the port is ours, but nobody listens
  Connect(l.port);
  EXPECT_EQ(rec_.WaitFor("connect"),
            absl::StrCat("connect error UNAVAILABLE: cannot connect to 127.0.0.1:", l.port,
                         ": Connection refused"));
  CloseAndFinish();
}

TEST_F(StreamTest, ConnectTimeoutWhenNobodyAnswers) {
  // A listener whose accept queue is full drops further SYNs: the connect hangs.
  Listener l;
  ListenOn(&l, "127.0.0.1", true, /*backlog=*/0);
  std::vector<int> fillers = FillAcceptQueue(l.port);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the handshakes settle
  Connect(l.port, "", absl::Milliseconds(200));
  EXPECT_EQ(rec_.WaitFor("connect"),
            absl::StrCat("connect error DEADLINE_EXCEEDED: timeout connecting to 127.0.0.1:",
                         l.port));
  CloseAndFinish();
  for (int c : fillers) close(c);
}

TEST_F(StreamTest, CloseWhileConnectingEndsWithoutACallback) {
  Listener l;
  ListenOn(&l, "127.0.0.1", true, 0);
  std::vector<int> fillers = FillAcceptQueue(l.port);
  Connect(l.port, "", absl::Seconds(30));
  OnLoop([&] {
    stream_->Close();
    stream_->Close();  // idempotent
    EXPECT_TRUE(stream_->closing());
  });
  EXPECT_EQ(rec_.WaitFor("finished"), "finished");
  OnLoop([] {});
  EXPECT_EQ(rec_.events(), std::vector<std::string>{"finished"});
  for (int c : fillers) close(c);
}

TEST_F(StreamTest, SourceAddressIsBound) {
  Listener l;
  ListenOn(&l, "0.0.0.0");
  ResolvedAddress to;
  ASSERT_TRUE(ParseIpLiteral("127.0.0.1", static_cast<uint16_t>(l.port), &to));
  OnLoop([&] { stream_->Connect(to, "127.0.0.2", absl::Seconds(5)); });
  std::string peer;
  int s = AcceptOne(l.fd, &peer);
  ASSERT_GE(s, 0);
  EXPECT_EQ(rec_.WaitFor("connect"), "connected");
  EXPECT_EQ(peer, "127.0.0.2");
  close(s);
  CloseAndFinish();
}

TEST_F(StreamTest, SourceAddressOfTheWrongFamilyOrNotLocal) {
  Listener l;
  ListenOn(&l);
  Connect(l.port, "::1");
  EXPECT_EQ(rec_.WaitFor("connect"),
            absl::StrCat("connect error INVALID_ARGUMENT: source address ::1 is not an IP address "
                         "of the same family as 127.0.0.1:",
                         l.port));
  CloseAndFinish();

  Recorder rec2;
  auto other = std::make_unique<TestStream>(&loop_, &rec2);
  ResolvedAddress to;
  ASSERT_TRUE(ParseIpLiteral("127.0.0.1", static_cast<uint16_t>(l.port), &to));
  OnLoop([&] { other->Connect(to, "198.51.100.1", absl::Seconds(5)); });  // TEST-NET-2
  EXPECT_EQ(rec2.WaitFor("connect"),
            "connect error UNAVAILABLE: cannot bind source address 198.51.100.1: Cannot assign "
            "requested address");
  OnLoop([&] { other->Close(); });
  EXPECT_EQ(rec2.WaitFor("finished"), "finished");
  OnLoop([&] { other.reset(); });
}

TEST_F(StreamTest, CloseOfAnIdleConnectionClosesTheSocket) {
  Listener l;
  int s = ConnectAccepted(&l);
  ASSERT_GE(s, 0);
  CloseAndFinish();  // a recv is armed: it is cancelled
  ASSERT_TRUE(Readable(s, kWait));
  char c;
  EXPECT_EQ(read(s, &c, 1), 0);  // EOF: the socket was closed
  close(s);
  OnLoop([&] { stream_->Write("late", true); stream_->Flush(); });  // ignored after Close
  EXPECT_EQ(rec_.events(), (std::vector<std::string>{"connected", "finished"}));
}

// --- TLS on the stream ---

class StreamTlsTest : public StreamTest {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // the server's SSL_write / alert to a client that went away
    StreamTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(
        test::MakeTrustedPair("mail.test", dir_, &cache_, &cert_, &server_ctx_, &client_ctx_));
  }
  void TearDown() override {
    StreamTest::TearDown();
    if (server_.joinable()) server_.join();
    SSL_CTX_free(server_ctx_);
  }
  // A TLS server on the accepted socket `fd`: answers one line with "echo: LINE", then sends
  // close_notify. Records whether the handshake worked.
  void ServeTls(int fd) {
    server_ = std::thread([this, fd] {
      SSL* ssl = SSL_new(server_ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        server_handshake_ok_ = true;
        std::string line;
        char c;
        while (SSL_read(ssl, &c, 1) == 1) {
          line.push_back(c);
          if (c == '\n') break;
        }
        std::string reply = "echo: " + line;
        SSL_write(ssl, reply.data(), static_cast<int>(reply.size()));
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      ERR_clear_error();
      close(fd);
    });
  }

  test::TempDir dir_;
  test::TestCert cert_;
  SSL_CTX* server_ctx_ = nullptr;
  TlsContextCache cache_;  // used on the test thread only (the loop thread just reads the ctx)
  SSL_CTX* client_ctx_ = nullptr;
  std::thread server_;
  std::atomic<bool> server_handshake_ok_{false};
};

TEST_F(StreamTlsTest, UpgradeThenDataBothWaysAndCloseNotify) {
  Listener l;
  int s = ConnectAccepted(&l);
  ASSERT_GE(s, 0);
  ServeTls(s);
  OnLoop([&] {
    EXPECT_FALSE(stream_->tls_active());
    stream_->StartTls(client_ctx_, "mail.test", true);
  });
  ASSERT_EQ(rec_.WaitFor("tls"), "tls ready");
  OnLoop([&] {
    EXPECT_TRUE(stream_->tls_active());
    EXPECT_TRUE(absl::StartsWith(stream_->TlsDescription(), "TLSv1.")) << stream_->TlsDescription();
    stream_->Write("EHLO client.test\r\n", false);
    stream_->Flush();
  });
  EXPECT_EQ(rec_.WaitForData(24), "echo: EHLO client.test\r\n");
  EXPECT_TRUE(server_handshake_ok_.load());
  EXPECT_EQ(rec_.WaitFor("stream error"), "stream error peer closed the TLS session");
  CloseAndFinish();
}

TEST_F(StreamTlsTest, WrongHostNameIsRefused) {
  Listener l;
  int s = ConnectAccepted(&l);
  ASSERT_GE(s, 0);
  ServeTls(s);
  OnLoop([&] { stream_->StartTls(client_ctx_, "smtp.other.test", true); });
  EXPECT_EQ(rec_.WaitFor("tls"), "tls error certificate verify failed: hostname mismatch");
  CloseAndFinish();
  EXPECT_FALSE(server_handshake_ok_.load());
}

}  // namespace
}  // namespace salvo
