// The campaign runner against misbehaving servers (salvo-sink --faults, --auth-fail-after,
// --credit-limit): every recipient ends in exactly one outcome, hard bounces land in global
// suppression, throttling is visible in status, and a failing account is paused while its
// traffic fails over to the route's other account.
#include <gtest/gtest.h>

#include "tests/integration/campaign_fixture.h"

namespace salvo::test {
namespace {

// A number of --json's output; -1 when absent or null.
double JsonNumber(const std::string& json, const std::string& key) {
  size_t p = json.find("\"" + key + "\":");
  if (p == std::string::npos || json.compare(p + key.size() + 3, 4, "null") == 0) return -1;
  return std::atof(json.c_str() + p + key.size() + 3);
}

const char* kFastRetry =
    "[sending]\nretry_base = \"200ms\"\nretry_max = \"1s\"\nretry_for = \"20s\"\n";

TEST(CampaignFaults, FaultMixEveryRecipientOneOutcome) {
  TempDir dir;
  Sink sink(dir, "sink",
            {"--faults", "421-4.7.28:0.2%,451-4.3.0:2%,550-5.1.1:2%,550-5.7.26:1%,drop-in-data:1%",
             "--seed", "7"});
  std::string cfg = dir.Write(
      "salvo.toml", ConfigText(dir, {{"acct", sink.port(), {"127.0.0.2"}}},
                               kOneAccountRoute,
                               std::string(kFastRetry) +
                                   "[[throttle]]\ndomains = [\"example.test\"]\n"
                                   "max_connections = 4\nrate_per_second = 2000.0\n"));
  const int n = 2000;
  Population pop = Populate(dir.File("data"), "l", n, "f");
  std::string c = CampaignFile(dir, "faults", "l");
  RunResult r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c, "--json"}, "",
                           std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto got = sink.StopAndRead();
  auto prog = ReadProgress(dir.File("data"), "faults");
  ASSERT_EQ(prog.size(), static_cast<size_t>(n));
  std::map<Outcome, int> by;
  int not_final = 0, in_flight = 0;
  for (const auto& [k, p] : prog) {
    by[p.outcome]++;
    if (!p.final) ++not_final;
    if (p.in_flight) ++in_flight;
    // The sink accepted it iff it is delivered (each accepted once).
    if (p.outcome == Outcome::kDelivered) {
      EXPECT_EQ(got.count(k), 1u) << k;
      if (got.count(k)) {
        EXPECT_EQ(got[k].first, 1) << k;
      }
    } else {
      EXPECT_EQ(got.count(k), 0u) << k << " " << OutcomeName(p.outcome) << " " << p.reply;
    }
  }
  EXPECT_EQ(not_final, 0);
  EXPECT_EQ(in_flight, 0);
  EXPECT_GT(by[Outcome::kBounced], 10);
  EXPECT_GT(by[Outcome::kFailed], 3);  // 5.7.26: failed, not suppressed
  EXPECT_GT(by[Outcome::kDelivered], n * 8 / 10);
  EXPECT_EQ(by[Outcome::kSuppressed], static_cast<int>(pop.suppressed.size()));
  EXPECT_EQ(by[Outcome::kNoConsent], static_cast<int>(pop.no_consent.size()));
  // The summary's identity holds.
  EXPECT_EQ(JsonInt(r.out, "eligible"),
            JsonInt(r.out, "delivered") + JsonInt(r.out, "bounced") + JsonInt(r.out, "failed") +
                JsonInt(r.out, "deferred"));
  EXPECT_EQ(JsonInt(r.out, "list_size"), JsonInt(r.out, "eligible") + JsonInt(r.out, "suppressed") +
                                             JsonInt(r.out, "no_consent") +
                                             JsonInt(r.out, "outside_segment"));
  // Throttling was seen and reported per account x IP x domain.
  EXPECT_GT(JsonInt(r.out, "throttle_events"), 0) << r.out;
  EXPECT_NE(r.out.find("\"domain\":\"example.test\""), std::string::npos) << r.out;
  // Hard bounces are in global suppression with reason hard_bounce, source smtp, the reply.
  auto store = Store::Open({dir.File("data")});
  ASSERT_TRUE(store.ok());
  SuppressionStore ss(store->get());
  int bounced_checked = 0;
  for (const auto& [k, p] : prog) {
    auto e = ss.Check(k);
    ASSERT_TRUE(e.ok());
    if (p.outcome == Outcome::kBounced) {
      ASSERT_TRUE(e->has_value()) << k;
      EXPECT_EQ((*e)->reason, SuppressionReason::kHardBounce);
      EXPECT_EQ((*e)->source, "smtp");
      EXPECT_NE((*e)->detail.find("5.1.1"), std::string::npos) << (*e)->detail;
      ++bounced_checked;
    } else if (p.outcome == Outcome::kFailed) {
      EXPECT_FALSE(e->has_value()) << k << " failed (policy) must not be suppressed";
    }
  }
  EXPECT_EQ(bounced_checked, by[Outcome::kBounced]);
  // Transaction latency and time to finish (retries included) are reported.
  EXPECT_GE(JsonInt(r.out, "transactions"), n * 8 / 10) << r.out;
  EXPECT_GT(JsonNumber(r.out, "latency_p99_ms"), 0) << r.out;
  EXPECT_GT(JsonNumber(r.out, "time_to_finish_s"), 0) << r.out;
}

// 5 % of the transactions wait 400 ms for their RCPT reply: p99 shows it, p50 does not.
TEST(CampaignFaults, TarpitShowsInTransactionLatencyP99) {
  TempDir dir;
  Sink sink(dir, "sink", {"--faults", "tarpit:5%", "--tarpit-ms", "400", "--seed", "3"});
  std::string cfg = dir.Write("salvo.toml", ConfigText(dir, {{"acct", sink.port(), {"127.0.0.2"}}},
                                                       kOneAccountRoute, kFastRetry));
  const int n = 400;
  Population pop = Populate(dir.File("data"), "l", n, "t");
  std::string c = CampaignFile(dir, "tarpit", "l");
  RunResult r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c,
                            "--json"}, "", std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  sink.StopAndRead();
  EXPECT_EQ(JsonInt(r.out, "transactions"), static_cast<int64_t>(pop.eligible.size())) << r.out;
  EXPECT_GE(JsonNumber(r.out, "latency_p99_ms"), 380) << r.out;
  EXPECT_LT(JsonNumber(r.out, "latency_p50_ms"), 200) << r.out;
  EXPECT_GE(JsonNumber(r.out, "latency_max_ms"), 380) << r.out;
  EXPECT_GE(JsonNumber(r.out, "time_to_finish_s"), 0.4) << r.out;
}

void FailoverCase(const std::string& flag) {
  TempDir dir;
  Sink good(dir, "good", {"--auth", "good:pw"});
  Sink bad(dir, "bad", {"--auth", "bad:pw", flag, "200"});
  std::string cfg = dir.Write(
      "salvo.toml",
      ConfigText(dir,
                 {{"acct-good", good.port(), {"127.0.0.2"}, 4, "good"},
                  {"acct-bad", bad.port(), {"127.0.0.3"}, 4, "bad"}},
                 "[[route]]\nname = \"r\"\ndefault = true\n"
                 "accounts = [ { name = \"acct-good\", weight = 1 }, { name = \"acct-bad\", weight = 3 } ]\n",
                 kFastRetry));
  const int n = 3000;
  Population pop = Populate(dir.File("data"), "l", n, "a");
  std::string c = CampaignFile(dir, "failover", "l");
  RunResult r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c, "--json"}, "",
                           std::chrono::seconds(120), {{"SALVO_TEST_PW", "pw"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonInt(r.out, "delivered"), static_cast<int64_t>(pop.eligible.size())) << r.out;
  // acct-bad is paused with the reason; the campaign completed on acct-good.
  EXPECT_NE(r.out.find("\"name\":\"acct-bad\",\"paused\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"state\":\"done\""), std::string::npos) << r.out;
  auto g = good.StopAndRead();
  auto b = bad.StopAndRead();
  EXPECT_EQ(b.size(), 200u);  // what the bad account took before it failed
  size_t total = 0;
  for (const auto& a : pop.eligible) {
    int cnt = (g.count(a) ? g[a].first : 0) + (b.count(a) ? b[a].first : 0);
    EXPECT_EQ(cnt, 1) << a;
    total += cnt;
  }
  EXPECT_EQ(total, pop.eligible.size());
}

TEST(CampaignFaults, AuthFailureMidCampaignFailsOver) { FailoverCase("--auth-fail-after"); }
TEST(CampaignFaults, OutOfCreditMidCampaignFailsOver) { FailoverCase("--credit-limit"); }

TEST(CampaignFaults, AllAccountsFailedPausesCampaignNamingThem) {
  TempDir dir;
  Sink bad(dir, "bad", {"--auth", "bad:pw", "--auth-fail-after", "50"});
  std::string cfg = dir.Write(
      "salvo.toml", ConfigText(dir, {{"acct-bad", bad.port(), {}, 2, "bad"}},
                               "[[route]]\nname = \"r\"\ndefault = true\n"
                               "accounts = [ { name = \"acct-bad\", weight = 1 } ]\n",
                               kFastRetry));
  Populate(dir.File("data"), "l", 500, "p");
  std::string c = CampaignFile(dir, "allbad", "l");
  RunResult r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c}, "",
                           std::chrono::seconds(60), {{"SALVO_TEST_PW", "pw"}});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("paused"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("acct-bad"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("account acct-bad: "), std::string::npos) << r.out;
  RunResult st = RunProcess({SalvoBin(), "campaign", "status", "-c", cfg, "--id", "allbad", "--json"});
  EXPECT_NE(st.out.find("\"state\":\"paused\""), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("acct-bad"), std::string::npos) << st.out;
  EXPECT_EQ(JsonInt(st.out, "delivered"), 50) << st.out;
}

}  // namespace
}  // namespace salvo::test
