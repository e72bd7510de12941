// Integration: the shard runtime (in-process, Worker API) moves the per-connection metric
// families by exactly what happened, against aiosmtpd with STARTTLS + AUTH
// (tests/integration/smtp_tls_server.py) and a closed port:
//   N delivered messages -> +N 2xx replies, +N transactions timed, +N * size sent bytes,
//   one connection opened (and closed again), one TLS handshake, no failure;
//   a bad password -> one auth failure and one connection error of kind "auth";
//   a certificate nobody trusts -> one handshake started, one failed, one error of kind "tls";
//   a closed port -> one connection error of kind "connect";
//   worker threads run with metrics::SetThreadWorker(i) and set their queue gauges.
#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/config/config.h"
#include "engine/metrics/salvo_metrics.h"
#include "engine/smtp/raw_message.h"
#include "gtest/gtest.h"
#include "shard/sender.h"
#include "tests/integration/one_worker.h"
#include "tests/integration/smtp_servers.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

constexpr char kPassword[] = "metrics-pw";

class MetricsShardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    cert_ = std::make_unique<TestCert>(MakeCert(*dir_, "server", "localhost", "IP:127.0.0.1,DNS:localhost"));
    const int port = FreePort();
    server_ = StartTlsServer(*dir_, port, *cert_, "starttls", "apikey", kPassword,
                             dir_->File("received.jsonl"));
    dir_->Write("good.key", std::string(kPassword) + "\n");
    dir_->Write("bad.key", "wrong\n");
    auto account = [&](const std::string& name, int p, const std::string& extra) {
      return absl::StrCat("[[account]]\nname = \"", name, "\"\nhost = \"127.0.0.1\"\nport = ", p,
                          "\nmax_connections = 1\n", extra, "\n");
    };
    const std::string toml = absl::StrCat(
        "[smtp.timeouts]\nconnect = \"5s\"\ngreeting = \"10s\"\nidle = \"1s\"\n",
        account("m-good", port, "username = \"apikey\"\npassword_file = \"good.key\"\n"
                                "ca_file = \"server.crt\""),
        account("m-badpw", port, "username = \"apikey\"\npassword_file = \"bad.key\"\n"
                                 "ca_file = \"server.crt\""),
        account("m-untrusted", port, "username = \"apikey\"\npassword_file = \"good.key\""),
        account("m-closed", FreePort(), "tls = \"none\""));
    config_ = ParseTestConfig(*dir_, toml);
  }
  static void TearDownTestSuite() {
    server_.reset();  // stopped before its directory goes
    cert_.reset();
    config_.reset();
    dir_.reset();
  }

  // Sends `n` messages through `account` on one worker; returns the reports. *worker_seen is
  // metrics::ThreadWorker() on the worker thread.
  std::vector<SendReport> Send(const std::string& account, int n, int* worker_seen = nullptr) {
    const AccountConfig* acct = config_->FindAccount(account);
    EXPECT_NE(acct, nullptr);
    std::vector<SendRequest> requests(n);
    for (int i = 0; i < n; ++i)
      requests[i] = {.id = static_cast<uint64_t>(i), .message = message_, .account = acct};
    return SendOnOneWorker(*config_, std::move(requests), std::chrono::seconds(30), [&] {
      if (worker_seen) *worker_seen = metrics::ThreadWorker();
    });
  }

  static uint64_t Errors(const std::string& account, const char* kind) {
    return metrics::Metrics().connection_errors->WithLabels({account, "", kind}).Value();
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TestCert> cert_;
  static inline std::unique_ptr<Subprocess> server_;
  static inline std::unique_ptr<Config> config_;
  std::shared_ptr<const RenderedMessage> message_ = std::make_shared<RenderedMessage>(
      MessageFromBytes("Subject: m\r\n\r\nbody\r\n", "sender@example.com", "rcpt@example.net"));
};

TEST_F(MetricsShardTest, DeliveriesMoveRepliesBytesTransactionsConnectionsAndTls) {
  auto& m = metrics::Metrics();
  const std::string a = "m-good";
  constexpr int kN = 3;
  int worker = -2;
  std::vector<SendReport> reports = Send(a, kN, &worker);
  for (const SendReport& r : reports)
    ASSERT_EQ(r.outcome.result, RcptResult::kDelivered) << r.outcome.failure;
  EXPECT_EQ(worker, 0) << "worker thread 0 must call metrics::SetThreadWorker(0)";
  EXPECT_EQ(metrics::SmtpReplyCounter(m, a, 250, "2.0.0").Value(), uint64_t{kN});
  EXPECT_EQ(m.sent_bytes->WithLabels({a, ""}).Value(), kN * message_->size);
  EXPECT_EQ(m.smtp_transaction_seconds->WithLabels({a}).Count(), uint64_t{kN});
  EXPECT_GT(m.smtp_transaction_seconds->WithLabels({a}).Sum(), 0.0);
  EXPECT_EQ(m.connections_opened->WithLabels({a, ""}).Value(), 1u);
  EXPECT_EQ(m.connections_open->WithLabels({a, ""}).Value(), 0.0) << "closed after the drain";
  EXPECT_EQ(m.tls_handshakes->WithLabels({a}).Value(), 1u);
  EXPECT_EQ(m.tls_handshake_failures->WithLabels({a}).Value(), 0u);
  EXPECT_EQ(m.auth_failures->WithLabels({a}).Value(), 0u);
  for (const char* kind : {"connect", "timeout", "tls", "auth", "protocol", "closed", "dns"})
    EXPECT_EQ(Errors(a, kind), 0u) << kind;
  // Stopped worker: its gauges read 0.
  EXPECT_EQ(m.queue_depth->WithLabels({metrics::WorkerLabel(0)}).Value(), 0.0);
  EXPECT_EQ(m.in_flight->WithLabels({metrics::WorkerLabel(0)}).Value(), 0.0);
}

TEST_F(MetricsShardTest, BadPasswordIsOneAuthFailure) {
  auto& m = metrics::Metrics();
  const std::string a = "m-badpw";
  std::vector<SendReport> reports = Send(a, 1);
  EXPECT_TRUE(reports[0].account_unusable);
  EXPECT_EQ(m.auth_failures->WithLabels({a}).Value(), 1u);
  EXPECT_EQ(Errors(a, "auth"), 1u);
  EXPECT_EQ(m.tls_handshake_failures->WithLabels({a}).Value(), 0u);
  EXPECT_EQ(m.sent_bytes->WithLabels({a, ""}).Value(), 0u);
}

TEST_F(MetricsShardTest, UntrustedCertificateIsOneHandshakeFailure) {
  auto& m = metrics::Metrics();
  const std::string a = "m-untrusted";
  std::vector<SendReport> reports = Send(a, 1);
  EXPECT_EQ(reports[0].outcome.result, RcptResult::kDeferred);
  EXPECT_EQ(m.tls_handshakes->WithLabels({a}).Value(), 1u);
  EXPECT_EQ(m.tls_handshake_failures->WithLabels({a}).Value(), 1u);
  EXPECT_EQ(Errors(a, "tls"), 1u);
  EXPECT_EQ(m.auth_failures->WithLabels({a}).Value(), 0u);
}

TEST_F(MetricsShardTest, ClosedPortIsOneConnectError) {
  auto& m = metrics::Metrics();
  const std::string a = "m-closed";
  std::vector<SendReport> reports = Send(a, 1);
  EXPECT_EQ(reports[0].outcome.result, RcptResult::kDeferred);
  EXPECT_EQ(m.connections_opened->WithLabels({a, ""}).Value(), 1u);
  EXPECT_EQ(Errors(a, "connect"), 1u) << reports[0].outcome.failure;
  EXPECT_EQ(m.connections_open->WithLabels({a, ""}).Value(), 0.0);
}

}  // namespace
}  // namespace salvo::test
