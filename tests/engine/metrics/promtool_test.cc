// Integration check of the exposition with an independent parser and linter: Prometheus'
// `promtool check metrics` (Debian package prometheus) must accept the text of a registry in
// which every salvo family has children, including label values with quotes, backslashes,
// newlines, invalid UTF-8 and a folded ("other") overflow.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/metrics/exposition.h"
#include "engine/metrics/salvo_metrics.h"
#include "tests/testlib/testlib.h"

namespace salvo::metrics {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

test::RunResult Check(const std::string& text) {
  return test::RunProcess({kPromtool, "check", "metrics"}, text, std::chrono::seconds(60));
}

// Gives every salvo family at least one child with awkward label values.
void FillEverything(SalvoMetrics& m) {
  ScopedThreadWorker w(1);
  const std::string nasty = "nov \"big\" \\ sale\nline2 \xff\xfe caf\xc3\xa9";
  MessageCounters mc = m.Messages(nasty, "bulk", "sg-1", "127.0.0.2");
  for (Outcome o : {Outcome::kDelivered, Outcome::kDeferred, Outcome::kBounced, Outcome::kFailed,
                    Outcome::kSuppressed, Outcome::kNoConsent}) {
    mc.For(o).Add(3);
  }
  for (int i = 0; i < 10100; ++i) {  // over the cap: folds into campaign="other"...
    m.messages->WithLabels({"delivered", "c" + std::to_string(i), "r", "a", "ip"}).Inc();
  }
  SmtpReplyCounter(m, "sg-1", 250, "2.0.0").Inc();
  SmtpReplyCounter(m, "sg-1", 550, "5.1.1").Inc();
  SmtpReplyCounter(m, "sg-1", 0, "").Inc();
  m.connections_open->WithLabels({"sg-1", "127.0.0.2"}).Inc();
  m.connections_opened->WithLabels({"sg-1", "127.0.0.2"}).Inc();
  m.connection_errors->WithLabels({"sg-1", "127.0.0.2", "timeout"}).Inc();
  m.tls_handshakes->WithLabels({"sg-1"}).Add(2);
  m.tls_handshake_failures->WithLabels({"sg-1"}).Inc();
  m.auth_failures->WithLabels({"sg-1"}).Inc();
  m.throttle_events->WithLabels({"sg-1", m.Domain("GMAIL.COM")}).Inc();
  m.backoff_events->WithLabels({"sg-1", m.Domain("example.org")}).Inc();
  m.accounts_paused->WithLabels({"sg-1", "auth"}).Set(1);
  m.queue_depth->WithLabels({WorkerLabel(0)}).Set(512);
  m.in_flight->WithLabels({WorkerLabel(0)}).Set(20);
  const Histogram lat = m.smtp_transaction_seconds->WithLabels({"sg-1"});
  for (double v : {0.0005, 0.003, 0.2, 7.0, 100.0}) lat.Observe(v);
  m.render_seconds->WithLabels(std::span<const std::string_view>()).Observe(0.00003);
  m.dkim_sign_seconds->WithLabels({"rsa-sha256"}).Observe(0.0002);
  m.sent_bytes->WithLabels({"sg-1", "127.0.0.2"}).Add(21000);
  m.webhook_events->WithLabels({"sendgrid", "hard_bounce"}).Inc();
  m.account_webhook_events->WithLabels({"sg-1", "sendgrid", "complaint"}).Inc();
  m.webhook_rejected->WithLabels({"mailgun", "signature"}).Inc();
  m.clicks->WithLabels({nasty}).Inc();
  m.opens->WithLabels({nasty}).Inc();
  m.unsubscribes->WithLabels({nasty, "one_click"}).Inc();
  m.suppression_list_size->WithLabels(std::span<const std::string_view>()).Set(12345);
  m.queue_messages->WithLabels({"deferred"}).Set(3);
  m.errors->WithLabels({"runner", "status_file"}).Inc();
}

TEST(PromtoolTest, EverySalvoFamilyPassesCheckMetrics) {
  Registry r;
  SalvoMetrics m(r);
  FillEverything(m);
  const auto snap = r.Snapshot();
  for (const FamilySnapshot& f : snap) {
    EXPECT_FALSE(f.children.empty()) << f.name << " has no child: fill it in FillEverything";
  }
  EXPECT_GT(m.messages->folded(), 0u);
  const std::string text = RenderText(snap);
  const test::RunResult res = Check(text);
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err << "\n--- text (head) ---\n"
                              << text.substr(0, 4000);
  EXPECT_EQ(res.err, "") << res.err;
}

TEST(PromtoolTest, ProcessWideTextPasses) {
  Metrics().opens->WithLabels({"promtool-test"}).Inc();
  const test::RunResult res = Check(MetricsText());
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
}

// The check is able to fail: broken text is refused (so the tests above mean something).
TEST(PromtoolTest, RefusesBrokenText) {
  EXPECT_NE(Check("# TYPE x_total counter\nx_total{a=\"unterminated} 1\n").exit_code, 0);
  EXPECT_NE(Check("# HELP x h\n# TYPE x counter\nx 1\n").exit_code, 0);  // lint: no _total
}

}  // namespace
}  // namespace salvo::metrics
