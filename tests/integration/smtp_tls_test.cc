// Integration: `salvo smtp-check` and `salvo send-one` (the binary) against aiosmtpd with
// STARTTLS / implicit TLS and AUTH PLAIN + LOGIN: good credentials deliver; bad credentials,
// an untrusted or mismatched certificate, a closed port and a server without STARTTLS fail
// with plain words; tls_verify = false is honoured (and warned about); secrets never printed.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/smtp_servers.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

constexpr char kPassword[] = "s3cr3t-K3Y-do-not-print";

class SmtpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = MakeCert(dir_, "server", "localhost", "IP:127.0.0.1,DNS:localhost");
    other_ = MakeCert(dir_, "other", "other.example", "DNS:other.example");
    port_ = FreePort();
    record_ = dir_.File("received.jsonl");
    server_ = StartTlsServer(dir_, port_, cert_, "starttls", "apikey", kPassword, record_);
    implicit_port_ = FreePort();
    implicit_ = StartTlsServer(dir_, implicit_port_, cert_, "implicit", "apikey", kPassword,
                               record_);
    dir_.Write("secrets/good.key", std::string(kPassword) + "\n");
    dir_.Write("secrets/bad.key", "wrong-password\n");
    dir_.Write("message.eml",
               "From: a@example.com\nTo: b@example.net\nSubject: hello\n\nbody line\n.\nend\n");
  }

  // One [[account]] block.
  std::string Account(const std::string& name, int port, const std::string& extra) {
    return absl::StrCat("[[account]]\nname = \"", name, "\"\nhost = \"127.0.0.1\"\nport = ",
                        port, "\n", extra, "\n");
  }

  std::string WriteConfig() {
    std::string toml = absl::StrCat(
        "[smtp.timeouts]\nconnect = \"5s\"\ngreeting = \"10s\"\n",
        Account("good", port_, "username = \"apikey\"\npassword_file = \"secrets/good.key\"\n"
                               "ca_file = \"server.crt\""),
        Account("badpw", port_, "username = \"apikey\"\npassword_file = \"secrets/bad.key\"\n"
                                "ca_file = \"server.crt\""),
        Account("untrusted", port_, "username = \"apikey\"\npassword_file = \"secrets/good.key\""),
        Account("noverify", port_, "username = \"apikey\"\npassword_file = \"secrets/good.key\"\n"
                                   "tls_verify = false"),
        Account("mismatch", port_, "username = \"apikey\"\npassword_file = \"secrets/good.key\"\n"
                                   "ca_file = \"other.crt\""),
        Account("implicit", implicit_port_,
                "tls = \"implicit\"\nusername = \"apikey\"\npassword_file = \"secrets/good.key\"\n"
                "ca_file = \"server.crt\""),
        Account("closed", FreePort(), "tls = \"none\""));
    return dir_.Write("salvo.toml", toml);
  }

  RunResult Salvo(const std::vector<std::string>& args) {
    std::vector<std::string> argv{SalvoBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunProcess(argv, "", std::chrono::seconds(30));
    EXPECT_FALSE(absl::StrContains(r.out, kPassword)) << r.out;
    EXPECT_FALSE(absl::StrContains(r.err, kPassword)) << r.err;
    return r;
  }

  RunResult Check(const std::string& account) {
    return Salvo({"smtp-check", "-c", WriteConfig(), "--account", account});
  }
  RunResult SendOne(const std::string& account, const std::string& to) {
    return Salvo({"send-one", "-c", WriteConfig(), "--account", account, "--from",
                  "sender@example.com", "--to", to, "--file", dir_.File("message.eml")});
  }

  TempDir dir_;
  TestCert cert_, other_;
  int port_ = 0, implicit_port_ = 0;
  std::string record_;
  std::unique_ptr<Subprocess> server_, implicit_;
};

TEST_F(SmtpTlsTest, CheckGoodAccountPrintsCapabilities) {
  RunResult r = Check("good");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(MissingParts(r.out, {"capabilities:", "PLAIN", "LOGIN", "tls: TLS", "OK:"}), "")
      << r.out;
}

TEST_F(SmtpTlsTest, SendOneDeliversOverStartTls) {
  RunResult r = SendOne("good", "rcpt-starttls@example.net");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "delivered:")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "250")) << r.out;
  std::vector<std::string> got = RecordLines(record_);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(absl::StrContains(got[0], "rcpt-starttls@example.net")) << got[0];
  EXPECT_TRUE(absl::StrContains(got[0], "sender@example.com")) << got[0];
}

TEST_F(SmtpTlsTest, SendOneDeliversOverImplicitTls) {
  RunResult c = Check("implicit");
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  RunResult r = SendOne("implicit", "rcpt-implicit@example.net");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "delivered:")) << r.out;
  std::vector<std::string> got = RecordLines(record_);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(absl::StrContains(got[0], "rcpt-implicit@example.net")) << got[0];
}

TEST_F(SmtpTlsTest, BadPasswordIsAClearAuthFailure) {
  RunResult c = Check("badpw");
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_EQ(MissingParts(c.out, {"wrong username or password", "535"}), "") << c.out;
  RunResult r = SendOne("badpw", "rcpt@example.net");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "deferred:")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "account unusable: authentication failed")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "wrong-password")) << r.out;
  EXPECT_TRUE(RecordLines(record_).empty());
}

TEST_F(SmtpTlsTest, UntrustedCertificateFailsUnlessVerificationIsOff) {
  RunResult c = Check("untrusted");
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_EQ(MissingParts(c.out, {"certificate not trusted", "self-signed certificate"}), "")
      << c.out;
  RunResult r = SendOne("untrusted", "rcpt@example.net");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(absl::StartsWith(r.out, "deferred:")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "certificate")) << r.out;
  EXPECT_TRUE(RecordLines(record_).empty());

  RunResult ok = Check("noverify");
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_TRUE(absl::StrContains(ok.err, "tls_verify = false")) << ok.err;
  RunResult sent = SendOne("noverify", "rcpt-noverify@example.net");
  EXPECT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_EQ(RecordLines(record_).size(), 1u);
}

TEST_F(SmtpTlsTest, HostnameMismatchIsNamed) {
  RunResult c = Check("mismatch");
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_TRUE(absl::StrContains(c.out, "certificate not trusted")) << c.out;
  EXPECT_TRUE(absl::StrContains(c.out, "mismatch")) << c.out;
}

TEST_F(SmtpTlsTest, ClosedPortAndMissingStartTls) {
  RunResult c = Check("closed");
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_TRUE(absl::StrContains(c.out, "port closed")) << c.out;

  // smtp-sink offers no STARTTLS; the account requires it.
  int port = FreePort();
  Subprocess sink({"/usr/sbin/smtp-sink", "-u", "root", absl::StrCat("127.0.0.1:", port), "16"});
  ASSERT_TRUE(WaitForPort("127.0.0.1", port, std::chrono::seconds(10)));
  std::string cfg = dir_.Write("nostarttls.toml", Account("plain", port, "tls = \"starttls\""));
  RunResult r = Salvo({"smtp-check", "-c", cfg, "--account", "plain"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "no STARTTLS offered")) << r.out;
}

TEST_F(SmtpTlsTest, UnknownAccountIsAUsageError) {
  RunResult r = Check("nope");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "no [[account]] named \"nope\"")) << r.err;
}

}  // namespace
}  // namespace salvo::test
