// `salvo send` exports metrics while it runs: GET /metrics on [metrics] listen is scraped during a
// send against salvo-sink on loopback; salvo_messages_total{outcome="delivered"} moves between
// scrapes, the scraped text passes `promtool check metrics`, and the --metrics-file written at
// exit holds exactly the final summary's delivered / suppressed / no_consent counts.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"

namespace salvo::test {
namespace {

// Sum of salvo_messages_total samples with outcome="<outcome>" (-1 when the family is absent).
int64_t MessagesTotal(const std::string& text, const std::string& outcome) {
  if (text.find("# TYPE salvo_messages_total counter") == std::string::npos) return -1;
  int64_t sum = 0;
  const std::string needle = "outcome=\"" + outcome + "\"";
  for (const std::string& line : std::vector<std::string>(absl::StrSplit(text, '\n'))) {
    if (line.rfind("salvo_messages_total{", 0) != 0) continue;
    if (line.find(needle) == std::string::npos) continue;
    sum += std::atoll(line.c_str() + line.rfind(' ') + 1);
  }
  return sum;
}

TEST(MetricsSend, ScrapedCountersMoveAndEndEqualToTheSummary) {
  TempDir dir;
  // Slow replies now and then, so the send lasts long enough to be scraped several times.
  Sink sink(dir, "sink", {"--faults", "tarpit:1%", "--tarpit-ms", "100"});
  const int mport = FreePort();
  const std::string cfg = dir.Write(
      "salvo.toml",
      ConfigText(dir, {{"acct-a", sink.port(), {}, 2}},
                 "[[route]]\nname = \"main\"\ndefault = true\n"
                 "accounts = [ { name = \"acct-a\", weight = 1 } ]\n",
                 absl::StrCat("[metrics]\nlisten = \"127.0.0.1:", mport, "\"\n")));
  constexpr int kN = 6000;
  Population pop = Populate(dir.File("data"), "main", kN, "m");
  const std::string campaign = CampaignFile(dir, "c-metrics", "main");
  const std::string mfile = dir.File("salvo.prom");

  Subprocess send({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", campaign, "--json",
                   "--metrics-file", mfile},
                  {}, dir.File("send.log"));
  std::vector<int64_t> seen;  // distinct delivered values scraped during the run
  std::string scraped;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (send.Running() && std::chrono::steady_clock::now() < deadline) {
    const std::string body = HttpDo(mport, "GET", "/metrics").body;  // "" until it listens
    const int64_t d = MessagesTotal(body, "delivered");
    if (d >= 0) {
      scraped = body;
      if (seen.empty() || seen.back() != d) seen.push_back(d);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(send.Wait(std::chrono::seconds(30)), 0) << send.Log();
  const std::string log = send.Log();
  const int64_t delivered = JsonInt(log, "delivered");
  ASSERT_EQ(delivered, static_cast<int64_t>(pop.eligible.size())) << log;

  // Moving counters: several distinct values while running, never decreasing, never above final.
  ASSERT_FALSE(scraped.empty()) << "never scraped /metrics on port " << mport << "\n" << log;
  EXPECT_GE(seen.size(), 3u) << "delivered did not move between scrapes";
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GT(seen[i], seen[i - 1]);
  EXPECT_LE(seen.back(), delivered);

  const RunResult check =
      RunProcess({"/usr/bin/promtool", "check", "metrics"}, scraped, std::chrono::seconds(60));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // The file written at exit equals the final summary.
  const std::string final_text = ReadFile(mfile);
  EXPECT_EQ(MessagesTotal(final_text, "delivered"), delivered) << final_text.substr(0, 3000);
  EXPECT_EQ(MessagesTotal(final_text, "suppressed"), JsonInt(log, "suppressed"));
  EXPECT_EQ(MessagesTotal(final_text, "no_consent"), JsonInt(log, "no_consent"));
  EXPECT_NE(final_text.find("campaign=\"c-metrics\",route=\"main\",account=\"acct-a\""),
            std::string::npos);
  (void)sink.StopAndRead();
}

}  // namespace
}  // namespace salvo::test
