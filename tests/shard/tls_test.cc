// shard/tls.h: TLS over memory BIOs. A TlsSession client handshakes with an OpenSSL server
// (also on memory BIOs) presenting a self-signed certificate made in the test; the client's
// context comes from TlsContextCache with the certificate as ca_file. Checked: the handshake
// completes and data round-trips both ways (also in pieces and in bulk); SNI is sent for names
// and not for IP literals; a wrong host name or IP, an expired certificate, a certificate not
// in the trust store and garbage from the peer fail the handshake with a plain-words reason;
// tls_verify = false accepts them; close_notify reads as OutOfRange; the context cache returns
// one context per (ca_file, verify) and names an unreadable ca_file.
#include "shard/tls.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <string>

#include "absl/strings/match.h"
#include "tests/shard/tls_test_util.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

// The server end: an OpenSSL server on memory BIOs.
class MemServer {
 public:
  explicit MemServer(SSL_CTX* ctx) : ssl_(SSL_new(ctx)) {
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_, rbio_, wbio_);
    SSL_set_accept_state(ssl_);
  }
  ~MemServer() { SSL_free(ssl_); }
  void Feed(const std::string& bytes) {
    if (!bytes.empty()) BIO_write(rbio_, bytes.data(), static_cast<int>(bytes.size()));
  }
  std::string TakeOutput() {
    std::string out(BIO_ctrl_pending(wbio_), '\0');
    if (out.empty()) return out;
    const int n = BIO_read(wbio_, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }
  bool Step() {  // true once the handshake is done
    if (SSL_is_init_finished(ssl_)) return true;
    ERR_clear_error();
    return SSL_do_handshake(ssl_) == 1;
  }
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  void Write(const std::string& s) {
    const int n = static_cast<int>(s.size());
    ASSERT_EQ(SSL_write(ssl_, s.data(), n), n);
  }
  SSL* ssl() { return ssl_; }

 private:
  SSL* ssl_;
  BIO* rbio_;
  BIO* wbio_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::MakeSelfSignedCert("mail.test", "DNS:mail.test,DNS:*.wild.test,IP:127.0.0.1",
                                         &cert_));
    server_ctx_ = test::MakeServerCtx(cert_);
    ASSERT_NE(server_ctx_, nullptr);
    ca_file_ = dir_.Write("ca.pem", cert_.pem);
  }
  void TearDown() override { SSL_CTX_free(server_ctx_); }

  AccountConfig Account(bool verify, std::string ca_file) {
    AccountConfig a;
    a.name = "acct";
    a.tls_verify = verify;
    a.ca_file = std::move(ca_file);
    return a;
  }
  SSL_CTX* ClientCtx(bool verify = true) {
    auto ctx = cache_.Get(Account(verify, ca_file_));
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    return ctx.ok() ? *ctx : nullptr;
  }

  // Moves bytes both ways until the client finishes (or fails) and the server has seen it.
  absl::Status Handshake(TlsSession& client, MemServer& server) {
    for (int round = 0; round < 20; ++round) {
      absl::StatusOr<TlsSession::Progress> p = client.Handshake();
      std::string c2s;
      client.TakeOutput(&c2s);
      server.Feed(c2s);
      bool server_done = server.Step();
      std::string s2c = server.TakeOutput();
      if (!s2c.empty()) client.FeedCiphertext(s2c);
      if (!p.ok()) return p.status();
      if (*p == TlsSession::Progress::kDone && server_done) return absl::OkStatus();
    }
    return absl::DeadlineExceededError("handshake made no progress");
  }
  // Handshake() of a new client (context `client_ctx`, server name `host`) with a new server
  // presenting `server_ctx`; *established: whether the client ended established.
  absl::Status HandshakeNew(SSL_CTX* client_ctx, const std::string& host, bool verify,
                            SSL_CTX* server_ctx, bool* established = nullptr) {
    TlsSession client;
    absl::Status st = client.Init(client_ctx, host, verify);
    if (!st.ok()) return st;
    MemServer server(server_ctx);
    st = Handshake(client, server);
    if (established != nullptr) *established = client.established();
    return st;
  }

  test::TempDir dir_;
  test::TestCert cert_;
  SSL_CTX* server_ctx_ = nullptr;
  std::string ca_file_;
  TlsContextCache cache_;
};

TEST_F(TlsTest, HandshakeAndDataBothWays) {
  TlsSession client;
  ASSERT_TRUE(client.Init(ClientCtx(), "mail.test", true).ok());
  EXPECT_FALSE(client.established());
  EXPECT_EQ(client.Describe(), "");
  MemServer server(server_ctx_);
  ASSERT_TRUE(Handshake(client, server).ok());
  EXPECT_TRUE(client.established());
  EXPECT_TRUE(absl::StartsWith(client.Describe(), "TLSv1.3 TLS_")) << client.Describe();
  const char* sni = SSL_get_servername(server.ssl(), TLSEXT_NAMETYPE_host_name);
  ASSERT_NE(sni, nullptr);
  EXPECT_STREQ(sni, "mail.test");

  // Client -> server.
  ASSERT_TRUE(client.WritePlain("EHLO client.test\r\n").ok());
  std::string c2s;
  EXPECT_TRUE(client.TakeOutput(&c2s));
  EXPECT_EQ(c2s.find("EHLO"), std::string::npos);  // encrypted
  EXPECT_FALSE(client.TakeOutput(&c2s));            // nothing more pending
  server.Feed(c2s);
  EXPECT_EQ(server.ReadAll(), "EHLO client.test\r\n");

  // Server -> client, fed one byte at a time: nothing is lost or duplicated.
  server.Write("250-mail.test\r\n250 PIPELINING\r\n");
  const std::string s2c = server.TakeOutput();
  std::string plain;
  for (char c : s2c) {
    client.FeedCiphertext(std::string_view(&c, 1));
    ASSERT_TRUE(client.ReadPlain(&plain).ok());
  }
  EXPECT_EQ(plain, "250-mail.test\r\n250 PIPELINING\r\n");

  // A large message body in one WritePlain (several TLS records).
  std::string body(300 * 1024, 'x');
  for (size_t i = 0; i < body.size(); i += 997) body[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(client.WritePlain(body).ok());
  c2s.clear();
  ASSERT_TRUE(client.TakeOutput(&c2s));
  server.Feed(c2s);
  EXPECT_EQ(server.ReadAll(), body);
}

TEST_F(TlsTest, IpLiteralIsSentWithoutSni) {
  TlsSession client;
  ASSERT_TRUE(client.Init(ClientCtx(), "127.0.0.1", true).ok());
  MemServer server(server_ctx_);
  ASSERT_TRUE(Handshake(client, server).ok());
  EXPECT_EQ(SSL_get_servername(server.ssl(), TLSEXT_NAMETYPE_host_name), nullptr);
}

// The names a client accepts from the test certificate (mail.test, *.wild.test, IP 127.0.0.1).
TEST_F(TlsTest, TheNameIsVerifiedAgainstTheCertificate) {
  const struct {
    const char* host;
    bool verify;
    const char* error;  // "": the handshake succeeds
  } kCases[] = {
      {"127.0.0.1", true, ""},  // IP literals against the IP SAN
      {"127.0.0.2", true, "certificate verify failed: IP address mismatch"},
      {"other.test", true, "certificate verify failed: hostname mismatch"},
      {"mx1.wild.test", true, ""},  // a wildcard covers one label only
      {"a.mx1.wild.test", true, "certificate verify failed: hostname mismatch"},
      {"other.test", false, ""},  // verification off accepts a wrong name
  };
  for (const auto& c : kCases) {
    bool established = false;
    absl::Status st =
        HandshakeNew(ClientCtx(c.verify), c.host, c.verify, server_ctx_, &established);
    EXPECT_EQ(st.message(), c.error) << c.host;
    EXPECT_TRUE(st.ok() || absl::IsUnavailable(st)) << st;
    EXPECT_EQ(established, st.ok()) << c.host;
  }
}

TEST_F(TlsTest, CertificateNotInTheTrustStoreFails) {
  // The system CA store (no ca_file) does not know the test's self-signed certificate.
  auto ctx = cache_.Get(Account(true, ""));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_EQ(HandshakeNew(*ctx, "mail.test", true, server_ctx_).message(),
            "certificate verify failed: self-signed certificate");
}

TEST_F(TlsTest, ExpiredCertificateFails) {
  test::TestCert old;
  ASSERT_TRUE(test::MakeSelfSignedCert("mail.test", "DNS:mail.test", &old, -10 * 86400, -86400));
  SSL_CTX* server_ctx = test::MakeServerCtx(old);
  ASSERT_NE(server_ctx, nullptr);
  auto ctx = cache_.Get(Account(true, dir_.Write("old.pem", old.pem)));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_EQ(HandshakeNew(*ctx, "mail.test", true, server_ctx).message(),
            "certificate verify failed: certificate has expired");
  SSL_CTX_free(server_ctx);
}

TEST_F(TlsTest, GarbageFromThePeerFailsTheHandshake) {
  TlsSession client;
  ASSERT_TRUE(client.Init(ClientCtx(), "mail.test", true).ok());
  auto p = client.Handshake();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, TlsSession::Progress::kWantRead);
  std::string hello;
  EXPECT_TRUE(client.TakeOutput(&hello));  // the ClientHello
  client.FeedCiphertext("220 mail.test ESMTP not TLS at all\r\n");
  p = client.Handshake();
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StartsWith(p.status().message(), "TLS handshake failed: ")) << p.status();
}

TEST_F(TlsTest, CloseNotifyReadsAsOutOfRange) {
  TlsSession client;
  ASSERT_TRUE(client.Init(ClientCtx(), "mail.test", true).ok());
  MemServer server(server_ctx_);
  ASSERT_TRUE(Handshake(client, server).ok());
  server.Write("221 bye\r\n");
  SSL_shutdown(server.ssl());
  client.FeedCiphertext(server.TakeOutput());
  std::string plain;
  absl::Status st = client.ReadPlain(&plain);
  EXPECT_EQ(plain, "221 bye\r\n");  // data before the close is delivered
  EXPECT_TRUE(absl::IsOutOfRange(st)) << st;
}

TEST_F(TlsTest, ContextCacheKeysOnCaFileAndVerify) {
  auto a = cache_.Get(Account(true, ca_file_));
  auto b = cache_.Get(Account(true, ca_file_));
  auto c = cache_.Get(Account(false, ca_file_));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(SSL_CTX_get_verify_mode(*a), SSL_VERIFY_PEER);
  EXPECT_EQ(SSL_CTX_get_verify_mode(*c), SSL_VERIFY_NONE);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(*a), TLS1_2_VERSION);

  auto missing = cache_.Get(Account(true, dir_.File("nope.pem")));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(missing.status()));
  EXPECT_TRUE(absl::StrContains(missing.status().message(),
                                "account \"acct\": cannot load ca_file " + dir_.File("nope.pem")))
      << missing.status();
  auto not_pem = cache_.Get(Account(true, dir_.Write("junk.pem", "not a certificate\n")));
  EXPECT_TRUE(absl::IsFailedPrecondition(not_pem.status())) << not_pem.status();
}

TEST(IsIpLiteralTest, V4AndV6OnlyWithoutPortsOrBrackets) {
  for (const char* ip : {"192.0.2.1", "2001:db8::1", "::1"}) EXPECT_TRUE(IsIpLiteral(ip)) << ip;
  for (const char* other : {"[::1]", "192.0.2.1:25", "mail.example.com", ""})
    EXPECT_FALSE(IsIpLiteral(other)) << other;
}

}  // namespace
}  // namespace salvo
