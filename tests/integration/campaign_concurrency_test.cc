// Campaigns that run at the same time in one `salvo serve`: a campaign id runs once at a time (a
// second `salvo send` or `campaign resume` of it is refused and changes nothing, every recipient
// gets exactly one message), and two different campaigns on one account share its connection
// pools (together at most max_connections connections to the server).
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"

namespace salvo::test {
namespace {

RunResult Salvo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", std::chrono::seconds(120));
}

std::unique_ptr<Subprocess> SalvoAsync(const TempDir& dir, const std::string& name,
                                       const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<Subprocess>(argv, std::map<std::string, std::string>{},
                                      dir.File(name + ".log"));
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

// `workers = 1` first (a top-level key), then the fixture's config and an [http] listener.
std::string ServeConfig(const TempDir& dir, const std::vector<AccountSpec>& accounts,
                        const std::string& account_extra = "") {
  std::string t = ConfigText(dir, accounts, kOneAccountRoute,
                             "[http]\nlisten = \"127.0.0.1:PORT\"\n");
  if (!account_extra.empty()) {
    size_t p = t.find("ehlo_name = \"test.example\"\n");
    t.insert(p, account_extra);
  }
  return "workers = 1\n" + t;
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

  auto first = SalvoAsync(dir, "first", {"send", "-c", serve.config(), "--campaign", campaign,
                                         "--json"});
  // Wait until the first run holds the campaign (its status file appears within ~1 s).
  const std::string status = dir.File("data/run/c1.status.json");
  for (int i = 0; i < 200 && !std::ifstream(status).good(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(std::ifstream(status).good()) << first->Log();

  auto second = Salvo({"send", "-c", serve.config(), "--campaign", campaign});
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
  auto again = Salvo({"send", "-c", serve.config(), "--campaign", campaign, "--json"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();

  auto got = sink.StopAndRead();
  EXPECT_EQ(got.size(), pop.eligible.size());
  int twice = 0, unexpected = 0;
  for (const auto& [addr, v] : got) {
    if (v.first != 1) ++twice;
    if (!pop.eligible.count(addr)) ++unexpected;
  }
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(unexpected, 0);
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
  auto first = SalvoAsync(dir, "a", {"send", "-c", serve.config(), "--campaign",
                                     CampaignFile(dir, "ca", "list-a"), "--json"});
  auto second = SalvoAsync(dir, "b", {"send", "-c", serve.config(), "--campaign",
                                      CampaignFile(dir, "cb", "list-b"), "--json"});
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

}  // namespace
}  // namespace salvo::test
