// Unit tests of label handling and the Prometheus text exposition: escaping, sanitizing, domain
// bounding, histogram series, value formatting, and the salvo families.
#include "engine/metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/metrics/labels.h"
#include "engine/metrics/salvo_metrics.h"

namespace salvo::metrics {
namespace {

TEST(LabelsTest, EscapesBackslashQuoteNewline) {
  EXPECT_EQ(EscapeLabelValue(R"(a\b"c)" "\n" "d"), R"(a\\b\"c\nd)");
  EXPECT_EQ(EscapeHelp("x\\y\nz\"q"), "x\\\\y\\nz\"q");
}

TEST(LabelsTest, SanitizesOutsideText) {
  EXPECT_EQ(SanitizeLabelValue("plain"), "plain");
  EXPECT_EQ(SanitizeLabelValue("a\rb\tc\x01" "d\x7f"), "a?b?c?d?");
  EXPECT_EQ(SanitizeLabelValue("keep\nnewline"), "keep\nnewline");
  EXPECT_EQ(SanitizeLabelValue("caf\xc3\xa9"), "caf\xc3\xa9");     // valid UTF-8 kept
  EXPECT_EQ(SanitizeLabelValue("bad\xc3" "x\xff\xfe"), "bad?x??");  // invalid bytes replaced
  EXPECT_EQ(SanitizeLabelValue("\xc0\xaf"), "??");                  // overlong '/'
  EXPECT_EQ(SanitizeLabelValue("\xed\xa0\x80"), "???");             // surrogate
  const std::string longv(1000, 'x');
  EXPECT_EQ(SanitizeLabelValue(longv).size(), kMaxLabelValueBytes);
  // Never cut inside a multi-byte sequence.
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xe2\x82\xac";
  const std::string cut = SanitizeLabelValue(euros);
  EXPECT_LE(cut.size(), kMaxLabelValueBytes);
  EXPECT_EQ(cut.size() % 3, 0u);
  EXPECT_EQ(SanitizeLabelValue(cut), cut);
}

TEST(LabelsTest, DomainBucketing) {
  DomainBucketer b({"gmail.com", "Yahoo.COM.", "gmail.com", ""});
  EXPECT_EQ(b.top(), (std::vector<std::string>{"gmail.com", "yahoo.com"}));
  EXPECT_EQ(b.Bucket("gmail.com"), "gmail.com");
  EXPECT_EQ(b.Bucket("GMail.Com"), "gmail.com");
  EXPECT_EQ(b.Bucket("yahoo.com."), "yahoo.com");
  EXPECT_EQ(b.Bucket("example.org"), "other");
  EXPECT_EQ(b.Bucket("mail.gmail.com"), "other");
  EXPECT_EQ(b.Bucket(""), "other");
  EXPECT_EQ(DomainOf("Bob@Gmail.COM"), "Gmail.COM");
  EXPECT_EQ(DomainOf("\"a@b\"@x.org"), "x.org");
  EXPECT_EQ(DomainOf("nobody"), "");
}

TEST(ExpositionTest, FormatValue) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.001), "0.001");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  EXPECT_EQ(std::stod(FormatValue(1e300)), 1e300);
}

TEST(ExpositionTest, CountersGaugesAndEscapedLabels) {
  Registry r;
  CounterFamily* c = *r.AddCounter("t_messages_total", "Messages.\nSecond \\ line.",
                                   {"outcome", "campaign"});
  c->WithLabels({"delivered", "nov \"big\"\\sale\nx"}).Add(3);
  c->WithLabels({"bounced", "plain"}).Inc();
  GaugeFamily* g = *r.AddGauge("t_size", "Size.", {});
  g->WithLabels(std::span<const std::string_view>()).Set(1.5);
  EXPECT_EQ(RenderText(r),
            "# HELP t_messages_total Messages.\\nSecond \\\\ line.\n"
            "# TYPE t_messages_total counter\n"
            "t_messages_total{outcome=\"bounced\",campaign=\"plain\"} 1\n"
            "t_messages_total{outcome=\"delivered\",campaign=\"nov \\\"big\\\"\\\\sale\\nx\"} 3\n"
            "# HELP t_size Size.\n"
            "# TYPE t_size gauge\n"
            "t_size 1.5\n");
}

TEST(ExpositionTest, HistogramSeries) {
  Registry r;
  HistogramFamily* h = *r.AddHistogram("t_latency_seconds", "Latency.", {"account"}, {0.01, 0.1, 1});
  const Histogram a = h->WithLabels({"acct"});
  a.Observe(0.005);
  a.Observe(0.05);
  a.Observe(0.05);
  a.Observe(5);
  EXPECT_EQ(RenderText(r),
            "# HELP t_latency_seconds Latency.\n"
            "# TYPE t_latency_seconds histogram\n"
            "t_latency_seconds_bucket{account=\"acct\",le=\"0.01\"} 1\n"
            "t_latency_seconds_bucket{account=\"acct\",le=\"0.1\"} 3\n"
            "t_latency_seconds_bucket{account=\"acct\",le=\"1\"} 3\n"
            "t_latency_seconds_bucket{account=\"acct\",le=\"+Inf\"} 4\n"
            "t_latency_seconds_sum{account=\"acct\"} 5.105\n"
            "t_latency_seconds_count{account=\"acct\"} 4\n");
  // Without labels, `le` is the only label.
  Registry r2;
  HistogramFamily* h2 = *r2.AddHistogram("t_render_seconds", "R.", {}, {1});
  h2->WithLabels(std::span<const std::string_view>()).Observe(2);
  EXPECT_NE(RenderText(r2).find("t_render_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
}

TEST(SalvoMetricsTest, EveryFamilyRegisteredOnceWithConventions) {
  Registry r;
  SalvoMetrics m(r);
  SalvoMetrics again(r);  // same registrations: same families, no abort
  EXPECT_EQ(m.messages, again.messages);
  for (const FamilySnapshot& f : r.Snapshot()) {
    EXPECT_EQ(f.name.rfind("salvo_", 0), 0u) << f.name;
    const bool total = f.name.size() > 6 && f.name.substr(f.name.size() - 6) == "_total";
    EXPECT_EQ(total, f.type == MetricType::kCounter) << f.name;
    if (f.type == MetricType::kHistogram) {
      EXPECT_NE(f.name.find("_seconds"), std::string::npos) << f.name;
    }
  }
  EXPECT_EQ(m.messages->name(), "salvo_messages_total");
  EXPECT_EQ(m.messages->label_names(),
            (std::vector<std::string>{"outcome", "campaign", "route", "account", "source_ip"}));
}

TEST(SalvoMetricsTest, MessageCountersByOutcome) {
  Registry r;
  SalvoMetrics m(r);
  MessageCounters mc = m.Messages("nov", "bulk", "sg1", "127.0.0.2");
  {
    ScopedThreadWorker w(2);
    mc.For(Outcome::kDelivered).Add(5);
    mc.For(Outcome::kNoConsent).Inc();
    mc.For(Outcome::kOutsideSegment).Inc();  // not in the contract: dropped
  }
  mc.For(Outcome::kBounced).Inc();
  EXPECT_EQ(m.messages->Total("outcome", "delivered"), 5u);
  EXPECT_EQ(m.messages->Total("outcome", "no_consent"), 1u);
  EXPECT_EQ(m.messages->Total("outcome", "bounced"), 1u);
  EXPECT_EQ(m.messages->Total(), 7u);
  EXPECT_EQ(m.messages->children(), 6u);
  const std::string text = RenderText(r);
  EXPECT_NE(text.find("salvo_messages_total{outcome=\"delivered\",campaign=\"nov\",route=\"bulk\","
                      "account=\"sg1\",source_ip=\"127.0.0.2\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find("salvo_build_info{version=\""), std::string::npos);
}

TEST(SalvoMetricsTest, ReplyClassesAndDomains) {
  EXPECT_EQ(ReplyClassLabel(250), "2xx");
  EXPECT_EQ(ReplyClassLabel(354), "3xx");
  EXPECT_EQ(ReplyClassLabel(421), "4xx");
  EXPECT_EQ(ReplyClassLabel(550), "5xx");
  EXPECT_EQ(ReplyClassLabel(0), "none");
  EXPECT_EQ(ReplyClassLabel(999), "none");
  EXPECT_EQ(ReplyClassLabel(-250), "none");
  EXPECT_EQ(EnhancedClassLabel("5.1.1"), "5");
  EXPECT_EQ(EnhancedClassLabel("4.7.0"), "4");
  EXPECT_EQ(EnhancedClassLabel("2.0.0"), "2");
  EXPECT_EQ(EnhancedClassLabel(""), "none");
  EXPECT_EQ(EnhancedClassLabel("9.9.9"), "none");
  EXPECT_EQ(WorkerLabel(0), "0");
  EXPECT_EQ(WorkerLabel(63), "63");
  EXPECT_EQ(WorkerLabel(64), "other");

  Registry r;
  SalvoMetrics m(r);
  EXPECT_EQ(m.Domain("GMAIL.com"), "gmail.com");  // default top list
  EXPECT_EQ(m.Domain("example.org"), "other");
  MetricsConfig mc;
  mc.top_domains = {"example.org"};
  m.Configure(mc);
  EXPECT_EQ(m.Domain("example.org"), "example.org");
  EXPECT_EQ(m.Domain("gmail.com"), "other");
  SmtpReplyCounter(m, "sg1", 550, "5.1.1").Inc();
  SmtpReplyCounter(m, "sg1", 550, "5.1.1").Inc();
  SmtpReplyCounter(m, "sg1", 250, "").Inc();
  EXPECT_EQ(m.smtp_replies->WithLabels({"sg1", "5xx", "5"}).Value(), 2u);
  EXPECT_EQ(m.smtp_replies->WithLabels({"sg1", "2xx", "none"}).Value(), 1u);
}

TEST(SalvoMetricsTest, ProcessWideInstanceServesText) {
  Metrics().clicks->WithLabels({"exposition-test"}).Inc();
  const std::string text = MetricsText();
  EXPECT_NE(text.find("# TYPE salvo_messages_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("salvo_clicks_total{campaign=\"exposition-test\"} 1\n"), std::string::npos);
  EXPECT_EQ(&Metrics(), &Metrics());
}

}  // namespace
}  // namespace salvo::metrics
