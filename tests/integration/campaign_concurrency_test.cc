// Campaigns that run at the same time in one `salvo serve`: a campaign id runs once at a time (a
// second `salvo send` or `campaign resume` of it is refused and changes nothing, every recipient
// gets exactly one message), two different campaigns on one account share its connection
// pools (together at most max_connections connections to the server), and a campaign and the
// queue's delivery loop share a [[throttle]]'s connection cap.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"
#include "tests/integration/smtp_servers.h"

namespace salvo::test {
namespace {


// Starts `salvo send` of campaign `id_a` (over list-a) and `id_b` (over list-b) through `serve`
// at the same time; logs in dir/a.log and dir/b.log.
std::pair<std::unique_ptr<Subprocess>, std::unique_ptr<Subprocess>> SendBothLists(
    const TempDir& dir, const ServeProcess& serve, const std::string& id_a,
    const std::string& id_b) {
  auto send = [&](const std::string& log, const std::string& id, const std::string& list) {
    return SalvoAsync(dir, log,
                      {"send", "--skip-preflight", "-c", serve.config(), "--campaign", CampaignFile(dir, id, list),
                       "--json"});
  };
  return {send("a", id_a, "list-a"), send("b", id_b, "list-b")};
}

// Established TCP connections whose local port is `port` (the server side of each connection).
int ServerConnections(int port) {
  int n = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream f(table);
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::vector<std::string> c = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (c.size() < 4 || c[3] != "01") continue;  // 01 = ESTABLISHED
      size_t colon = c[1].rfind(':');
      if (colon == std::string::npos) continue;
      if (std::stoi(c[1].substr(colon + 1), nullptr, 16) == port) ++n;
    }
  }
  return n;
}

TEST(CampaignConcurrency, SameCampaignTwiceThroughServeIsRefusedAndSendsOnce) {
  TempDir dir;
  Population pop = Populate(dir.File("data"), "news", 20000, "u");
  Sink sink(dir, "sink");
  // 5,000 msgs/s: the first send runs about 4 s, long enough to try the second one meanwhile.
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port(), {}, 4}},
                                      "rate_per_second = 5000\n"));
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string campaign = CampaignFile(dir, "c1", "news");

  auto first = SalvoAsync(dir, "first", {"send", "--skip-preflight", "-c", serve.config(), "--campaign", campaign,
                                         "--json"});
  // Wait until the first run holds the campaign (its status file appears within ~1 s).
  const std::string status = dir.File("data/run/c1.status.json");
  for (int i = 0; i < 200 && !std::ifstream(status).good(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(std::ifstream(status).good()) << first->Log();

  auto second = Salvo({"send", "--skip-preflight", "-c", serve.config(), "--campaign", campaign});
  EXPECT_EQ(second.exit_code, 1) << second.out << second.err;
  EXPECT_TRUE(absl::StrContains(second.err, "campaign c1 is already running (since "))
      << second.err;
  EXPECT_TRUE(absl::StrContains(second.err, absl::StrCat(", pid ", serve.pid(), ")")))
      << second.err;
  auto resume = Salvo({"campaign", "resume", "-c", serve.config(), "--id", "c1"});
  EXPECT_EQ(resume.exit_code, 1) << resume.out << resume.err;
  EXPECT_TRUE(absl::StrContains(resume.err, "campaign c1 is already running")) << resume.err;

  ASSERT_EQ(first->Wait(std::chrono::seconds(90)), 0) << first->Log();
  EXPECT_EQ(JsonInt(first->Log(), "delivered"), static_cast<int64_t>(pop.eligible.size()))
      << first->Log();
  // Once finished, the campaign can be asked again: it is done, nothing more is sent.
  auto again = Salvo({"send", "--skip-preflight", "-c", serve.config(), "--campaign", campaign, "--json"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();

  ExpectExactlyOnce(sink.StopAndRead(), pop);
}

TEST(CampaignConcurrency, TwoCampaignsShareTheAccountsConnections) {
  TempDir dir;
  Population a = Populate(dir.File("data"), "list-a", 1000, "a");
  Population b = Populate(dir.File("data"), "list-b", 1000, "b");
  // Every RCPT answered after 5 ms: each campaign alone would keep all its connections busy.
  Sink sink(dir, "sink", {"--faults", "tarpit:100%", "--tarpit-ms", "5"});
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port(), {}, 2}}));
  ASSERT_TRUE(serve.ready()) << serve.Log();

  std::atomic<bool> stop{false};
  std::atomic<int> most{0};
  std::thread sampler([&] {
    while (!stop.load()) {
      int n = ServerConnections(sink.port());
      if (n > most.load()) most = n;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  auto [first, second] = SendBothLists(dir, serve, "ca", "cb");
  const int rc1 = first->Wait(std::chrono::seconds(90));
  const int rc2 = second->Wait(std::chrono::seconds(90));
  stop = true;
  sampler.join();
  ASSERT_EQ(rc1, 0) << first->Log();
  ASSERT_EQ(rc2, 0) << second->Log();
  EXPECT_EQ(JsonInt(first->Log(), "delivered"), static_cast<int64_t>(a.eligible.size()));
  EXPECT_EQ(JsonInt(second->Log(), "delivered"), static_cast<int64_t>(b.eligible.size()));
  // One worker, max_connections = 2: the two campaigns together never hold more than 2.
  EXPECT_GE(most.load(), 1);
  EXPECT_LE(most.load(), 2);
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.size(), a.eligible.size() + b.eligible.size());
}

// rate_per_second is the account's, not each campaign's: two campaigns sending through one
// `salvo serve` on an account with rate_per_second = 200 are measured together at the sink.
TEST(CampaignConcurrency, TwoCampaignsShareTheAccountsRate) {
  TempDir dir;
  Population a = Populate(dir.File("data"), "list-a", 1000, "a");
  Population b = Populate(dir.File("data"), "list-b", 1000, "b");
  const std::string timeline = dir.File("timeline.tsv");
  Sink sink(dir, "sink", {"--timeline", timeline});
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port(), {}, 4}},
                                      "rate_per_second = 200\n"));
  ASSERT_TRUE(serve.ready()) << serve.Log();
  auto [first, second] = SendBothLists(dir, serve, "ra", "rb");
  ASSERT_EQ(first->Wait(std::chrono::seconds(60)), 0) << first->Log();
  ASSERT_EQ(second->Wait(std::chrono::seconds(60)), 0) << second->Log();
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  const size_t total = a.eligible.size() + b.eligible.size();
  EXPECT_EQ(sink.StopAndRead().size(), total);
  // From the first message to the last, sampled every 250 ms by the sink.
  double t0 = -1, c0 = 0, t1 = -1;
  for (const std::string& line : RecordLines(timeline)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f.size() != 2) continue;
    const double t = std::stod(f[0]), c = std::stod(f[1]);
    if (t0 < 0 && c > 0) t0 = t, c0 = c;
    if (t1 < 0 && c >= static_cast<double>(total)) t1 = t;
  }
  ASSERT_GT(t0, 0);
  ASSERT_GT(t1, t0);
  const double rate = (static_cast<double>(total) - c0) / (t1 - t0);
  std::printf("two campaigns together: %.1f msgs/s over %.2f s\n", rate, t1 - t0);
  EXPECT_LE(rate, 210) << "together " << rate << " msgs/s";  // 200 + 5 %
  EXPECT_GE(rate, 150) << "together " << rate << " msgs/s";
}

// daily_limit is reached exactly once across two campaigns running together, and holds after
// the daemon restarts the same day.
TEST(CampaignConcurrency, DailyLimitIsSharedAndHoldsAcrossARestart) {
  TempDir dir;
  Populate(dir.File("data"), "list-a", 4000, "a");
  Populate(dir.File("data"), "list-b", 4000, "b");
  Sink sink(dir, "sink");
  const std::string config = ServeConfig(dir, {{"acct", sink.port(), {}, 4}}, "daily_limit = 5000\n");
  {
    ServeProcess serve(dir, config);
    ASSERT_TRUE(serve.ready()) << serve.Log();
    auto [first, second] = SendBothLists(dir, serve, "da", "db");
    const int rc1 = first->Wait(std::chrono::seconds(60));
    const int rc2 = second->Wait(std::chrono::seconds(60));
    // One of them may finish its list within the limit; together they stop at the limit.
    EXPECT_TRUE(rc1 == 3 || rc2 == 3) << first->Log() << second->Log();
    EXPECT_EQ(JsonInt(first->Log(), "delivered") + JsonInt(second->Log(), "delivered"), 5000)
        << first->Log() << second->Log();
    EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  }
  ServeProcess again(dir, config);  // same day, new process: the count comes from the store
  ASSERT_TRUE(again.ready()) << again.Log();
  RunResult third = Salvo({"send", "--skip-preflight", "-c", again.config(), "--campaign",
                           CampaignFile(dir, "dc", "list-a"), "--json"});
  EXPECT_EQ(third.exit_code, 3) << third.out << third.err;
  EXPECT_EQ(JsonInt(third.out, "delivered"), 0) << third.out;
  EXPECT_TRUE(absl::StrContains(third.out, "acct (daily_limit 5000 reached)")) << third.out;
  RunResult list = Salvo({"account", "list", "-c", again.config(), "--json"});
  EXPECT_TRUE(absl::StrContains(list.out, "\"today\":5000,\"daily_limit\":5000")) << list.out;
  EXPECT_EQ(again.Stop(), 0) << again.Log();
  auto got = sink.StopAndRead();
  size_t messages = 0;
  for (const auto& [addr, v] : got) messages += v.first;
  EXPECT_EQ(messages, 5000u);
}

// A [[throttle]] holds for the campaigns and the queue's delivery loop together: with
// max_connections = 1 to slow.test and every RCPT held 250 ms by the sink, a campaign and
// `salvo inject` sending to slow.test at the same time reach the sink one message at a time
// (before, the campaign and the queue each had the one connection).
TEST(CampaignConcurrency, ACampaignAndTheQueueShareAThrottle) {
  TempDir dir;
  Population camp = Populate(dir.File("data"), "list-a", 12, "c", "slow.test");
  const std::string arrivals = dir.File("arrivals.tsv");
  Sink sink(dir, "sink", {"--arrivals", arrivals, "--faults", "tarpit:100%", "--tarpit-ms", "250"});
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port()}}, "",
                                      "[[throttle]]\ndomains = [\"slow.test\"]\n"
                                      "max_connections = 1\n"));
  ASSERT_TRUE(serve.ready()) << serve.Log();
  auto send = SalvoAsync(dir, "a",
                         {"send", "--skip-preflight", "-c", serve.config(), "--campaign",
                          CampaignFile(dir, "ta", "list-a"), "--json"});
  const std::string msg =
      dir.Write("msg.eml", "From: Shop <shop@example.test>\nSubject: Order\n\nThanks.\n");
  std::vector<std::string> inject = {SalvoBin(), "inject", "-c", serve.config(), "--from",
                                     "shop@example.test", "--file", msg, "--route", "r"};
  std::set<std::string> queued;
  for (int i = 0; i < 12; ++i) {
    queued.insert(absl::StrCat("q", i, "@slow.test"));
    inject.push_back("--to");
    inject.push_back(absl::StrCat("q", i, "@slow.test"));
  }
  RunResult r = RunProcess(inject, "", std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(send->Wait(std::chrono::seconds(120)), 0) << send->Log();
  // The queue's last messages may still be on their way.
  auto delivered = [&] {
    RunResult l = RunProcess({SalvoBin(), "queue", "list", "-c", serve.config(), "--state",
                              "delivered", "--json"},
                             "", std::chrono::seconds(30));
    size_t n = 0;
    for (size_t p = l.out.find("\"id\":"); p != std::string::npos; p = l.out.find("\"id\":", p + 1))
      ++n;
    return n;
  };
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (delivered() < queued.size() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  Population all = camp;
  all.eligible.insert(queued.begin(), queued.end());
  ExpectExactlyOnce(sink.StopAndRead(), all);
  // End of data, oldest first: each message had the one connection to itself, so each ends at
  // least a held RCPT (250 ms) after the one before.
  std::vector<std::pair<int64_t, std::string>> got;
  for (const std::string& line : RecordLines(arrivals)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f.size() == 2) got.emplace_back(std::stoll(f[1]), f[0]);
  }
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), all.eligible.size());
  int64_t shortest = INT64_MAX;
  for (size_t i = 1; i < got.size(); ++i) shortest = std::min(shortest, got[i].first - got[i - 1].first);
  EXPECT_GE(shortest, 200'000) << "two messages to slow.test were in flight at once";
  // The two senders did run at the same time (else the check above proves nothing).
  auto span = [&](char first) {
    int64_t lo = INT64_MAX, hi = 0;
    for (const auto& [t, a] : got)
      if (a[0] == first) lo = std::min(lo, t), hi = std::max(hi, t);
    return std::make_pair(lo, hi);
  };
  const auto [c_lo, c_hi] = span('c');
  const auto [q_lo, q_hi] = span('q');
  EXPECT_TRUE(c_lo < q_hi && q_lo < c_hi) << "the campaign and the queue did not overlap";
}

}  // namespace
}  // namespace salvo::test
