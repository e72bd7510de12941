// `salvo send` end to end against salvo-sink on loopback: two routes, three accounts on two sink
// instances, source IPs 127.0.0.2-5, 1 % suppressed and 1 % without consent beforehand; every
// eligible recipient is received exactly once and no other; account and IP shares follow the
// weights. Also: an unsubscribe (queued while the send runs) stops mail to that address.
#include <gtest/gtest.h>

#include <thread>

#include "store/run_control.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/store/schema1_layout.h"

namespace salvo::test {
namespace {

constexpr int kMain = 12000;  // issue: 100 k; scaled down to keep the test under ~30 s
constexpr int kDk = 3000;

TEST(CampaignSend, TwoRoutesThreeAccountsExactlyOnceAndShares) {
  TempDir dir;
  Sink sink1(dir, "sink1"), sink2(dir, "sink2");
  std::string cfg = dir.Write(
      "salvo.toml",
      ConfigText(dir,
                 {{"acct-a", sink1.port(), {"127.0.0.2", "127.0.0.3"}},
                  {"acct-b", sink1.port(), {"127.0.0.4"}},
                  {"acct-c", sink2.port(), {"127.0.0.5"}}},
                 "[[route]]\nname = \"dk\"\nlists = [\"dk\"]\n"
                 "accounts = [ { name = \"acct-c\", weight = 1 } ]\n"
                 "[[route]]\nname = \"main\"\ndefault = true\n"
                 "accounts = [ { name = \"acct-a\", weight = 3 }, { name = \"acct-b\", weight = 1 } ]\n"));
  Population main = Populate(dir.File("data"), "main", kMain, "m");
  Population dk = Populate(dir.File("data"), "dk", kDk, "d", "dk.example.test");
  std::string c1 = CampaignFile(dir, "c-main", "main");
  std::string c2 = CampaignFile(dir, "c-dk", "dk");

  RunResult r1 = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c1, "--json"}, "",
                            std::chrono::seconds(120));
  ASSERT_EQ(r1.exit_code, 0) << r1.out << r1.err;
  EXPECT_EQ(JsonInt(r1.out, "list_size"), kMain);
  EXPECT_EQ(JsonInt(r1.out, "delivered"), static_cast<int64_t>(main.eligible.size())) << r1.out;
  EXPECT_EQ(JsonInt(r1.out, "suppressed"), static_cast<int64_t>(main.suppressed.size()));
  EXPECT_EQ(JsonInt(r1.out, "no_consent"), static_cast<int64_t>(main.no_consent.size()));
  EXPECT_EQ(JsonInt(r1.out, "pending"), 0);
  RunResult r2 = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c2}, "",
                            std::chrono::seconds(120));
  ASSERT_EQ(r2.exit_code, 0) << r2.out << r2.err;
  // The human summary prints the accounting identity.
  EXPECT_NE(r2.out.find(absl::StrCat("list size ", kDk, " = eligible ", dk.eligible.size(),
                                     " + suppressed ", dk.suppressed.size(), " + no consent ",
                                     dk.no_consent.size(), " + outside segment 0")),
            std::string::npos)
      << r2.out;

  auto got1 = sink1.StopAndRead();
  auto got2 = sink2.StopAndRead();
  // Exactly once, and nobody else.
  EXPECT_EQ(got1.size(), main.eligible.size());
  EXPECT_EQ(got2.size(), dk.eligible.size());
  std::map<std::string, int> peers;
  int dup = 0, stray = 0;
  for (const auto& [addr, cp] : got1) {
    if (cp.first != 1) ++dup;
    if (!main.eligible.count(addr)) ++stray;
    peers[cp.second] += cp.first;
  }
  for (const auto& [addr, cp] : got2) {
    if (cp.first != 1) ++dup;
    if (!dk.eligible.count(addr)) ++stray;
    EXPECT_EQ(cp.second, "127.0.0.5");
  }
  EXPECT_EQ(dup, 0);
  EXPECT_EQ(stray, 0);
  // Weights: acct-a 3 (IPs .2 and .3 evenly), acct-b 1 (IP .4): within +-5 % of the shares.
  const double n = main.eligible.size();
  EXPECT_NEAR(peers["127.0.0.2"] / n, 0.375, 0.05 * 0.375) << peers["127.0.0.2"];
  EXPECT_NEAR(peers["127.0.0.3"] / n, 0.375, 0.05 * 0.375) << peers["127.0.0.3"];
  EXPECT_NEAR(peers["127.0.0.4"] / n, 0.25, 0.05 * 0.25) << peers["127.0.0.4"];

  // The store agrees: every member of the list has exactly one outcome.
  auto prog = ReadProgress(dir.File("data"), "c-main");
  EXPECT_EQ(prog.size(), static_cast<size_t>(kMain));
  int wrong = 0;
  for (const auto& [k, p] : prog) {
    Outcome want = main.eligible.count(k)     ? Outcome::kDelivered
                   : main.suppressed.count(k) ? Outcome::kSuppressed
                                              : Outcome::kNoConsent;
    if (p.outcome != want || !p.final || p.in_flight) ++wrong;
  }
  EXPECT_EQ(wrong, 0);

  // Status from the store after the run; a second send of a done campaign sends nothing.
  RunResult st = RunProcess({SalvoBin(), "campaign", "status", "-c", cfg, "--id", "c-main", "--json"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("\"state\":\"done\""), std::string::npos) << st.out;
  EXPECT_EQ(JsonInt(st.out, "delivered"), static_cast<int64_t>(main.eligible.size()));
}

// A test directory, one salvo-sink and a salvo.toml sending to it through the one account
// "acct" (at most `rate_per_second` messages a second when > 0).
struct OneSink {
  explicit OneSink(double rate_per_second = 0)
      : config(WriteOneAccountConfig(
            dir, {.name = "acct", .port = sink.port(), .rate_per_second = rate_per_second})) {}
  TempDir dir;
  Sink sink{dir, "sink"};
  std::string config;
};

TEST(CampaignSend, SegmentAndDryRun) {
  OneSink t;
  Population pop = Populate(t.dir.File("data"), "l", 2000, "s", "example.test", /*gold_only=*/true);
  std::string c = CampaignFile(t.dir, "seg", "l", "segment = 'tier = \"gold\"'\n");
  RunResult dry = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", t.config, "--campaign", c, "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_EQ(JsonInt(dry.out, "would_send"), static_cast<int64_t>(pop.eligible.size())) << dry.out;
  EXPECT_EQ(JsonInt(dry.out, "outside_segment"), static_cast<int64_t>(pop.outside_segment.size()));
  RunResult r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", t.config, "--campaign", c, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto got = t.sink.StopAndRead();
  EXPECT_EQ(got.size(), pop.eligible.size());  // the dry run sent nothing
  for (const auto& [addr, cp] : got) EXPECT_TRUE(pop.eligible.count(addr)) << addr;
  EXPECT_EQ(JsonInt(r.out, "outside_segment"), static_cast<int64_t>(pop.outside_segment.size()));
  // A bad segment names the column.
  std::string bad = CampaignFile(t.dir, "bad", "l", "segment = 'tier = '\n");
  RunResult b = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", t.config, "--campaign", bad});
  EXPECT_NE(b.exit_code, 0);
  EXPECT_NE(b.err.find("segment:1:8: expected value"), std::string::npos) << b.err;
}

// A store written before the key-order change (schema 1: recipients keyed by address key) is
// migrated when `salvo send` opens it, and the send reaches every eligible recipient once.
TEST(CampaignSend, Schema1StoreMigratesAndSendsExactlyOnce) {
  OneSink t;
  Population pop = Populate(t.dir.File("data"), "l", 3000, "o");
  {
    auto store = Store::Open({t.dir.File("data")});
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_NO_FATAL_FAILURE(RewriteAsSchema1(store->get()));
  }
  std::string c = CampaignFile(t.dir, "old", "l");
  RunResult r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", t.config, "--campaign", c,
                            "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonInt(r.out, "delivered"), static_cast<int64_t>(pop.eligible.size())) << r.out;
  auto got = t.sink.StopAndRead();
  EXPECT_EQ(got.size(), pop.eligible.size());
  for (const auto& [addr, cp] : got) {
    EXPECT_TRUE(pop.eligible.count(addr)) << addr;
    EXPECT_EQ(cp.first, 1) << addr;
  }
}

TEST(CampaignSend, UnsubscribeDuringSendIsHonoured) {
  // A slow sink (every message tarpitted 20 ms... via a low account rate instead): rate limit
  // the account so the send takes a few seconds: 200 msgs/s -> 1500 recipients take ~7 s.
  OneSink t(200);
  Population pop = Populate(t.dir.File("data"), "l", 1500, "u");
  // The unsubscribed addresses: the last ones in key order of every shard are sent last; pick
  // addresses and unsubscribe them shortly after the start.
  std::vector<std::string> victims;
  for (const auto& a : pop.eligible)
    if (victims.size() < 200) victims.push_back(a);
  std::string c = CampaignFile(t.dir, "unsub", "l");
  Subprocess send({SalvoBin(), "send", "--skip-preflight", "-c", t.config, "--campaign", c, "--json", "--workers", "2"}, {},
                  t.dir.File("send.log"));
  // Wait for the status file (the send is running and holds the store).
  std::string data_dir = t.dir.File("data");
  for (int i = 0; i < 100 && RunningSends(data_dir).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(RunningSends(data_dir).empty()) << send.Log();
  // `salvo campaign status` from another process answers from the status file.
  RunResult st = RunProcess({SalvoBin(), "campaign", "status", "-c", t.config, "--id", "unsub"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("\"state\":\"running\""), std::string::npos) << st.out;
  std::vector<SuppressionEntry> entries;
  for (const auto& v : victims) entries.push_back({v, SuppressionReason::kUnsubscribe, "one-click"});
  ASSERT_TRUE(QueueSuppressions(data_dir, entries).ok());
  // Let the send pick it up (<= ~1 s), note when.
  ASSERT_EQ(send.Wait(std::chrono::seconds(60)), 0) << send.Log();
  auto got = t.sink.StopAndRead();
  auto prog = ReadProgress(data_dir, "unsub");
  // Every victim is either delivered before the unsubscribe arrived, or suppressed: and those the
  // store says suppressed never reached the sink. Most of them must have been stopped.
  int stopped = 0;
  for (const auto& v : victims) {
    const auto& p = prog[v];
    if (p.outcome == Outcome::kSuppressed) {
      ++stopped;
      EXPECT_EQ(got.count(v), 0u) << v;
    } else {
      EXPECT_EQ(p.outcome, Outcome::kDelivered) << v;
    }
  }
  EXPECT_GT(stopped, 100) << "the send finished before the unsubscribe could matter";
  // The suppression is in the global list.
  auto store = Store::Open({data_dir});
  ASSERT_TRUE(store.ok());
  SuppressionStore ss(store->get());
  auto e = ss.Check(victims[0]);
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->source, "one-click");
}

TEST(CampaignSend, PauseFromAnotherProcessThenResume) {
  OneSink t(300);
  Population pop = Populate(t.dir.File("data"), "l", 1500, "p");
  std::string c = CampaignFile(t.dir, "pr", "l");
  const std::string data_dir = t.dir.File("data");
  Subprocess send({SalvoBin(), "send", "--skip-preflight", "-c", t.config, "--campaign", c}, {}, t.dir.File("send.log"));
  for (int i = 0; i < 100 && RunningSends(data_dir).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(RunningSends(data_dir).empty()) << send.Log();
  RunResult pause = RunProcess({SalvoBin(), "campaign", "pause", "-c", t.config, "--id", "pr", "--json"});
  EXPECT_EQ(pause.exit_code, 0) << pause.out << pause.err;
  EXPECT_EQ(send.Wait(std::chrono::seconds(30)), 3) << send.Log();  // 3 = paused
  EXPECT_NE(pause.out.find("\"state\":\"paused\""), std::string::npos) << pause.out;
  const int64_t delivered_at_pause = JsonInt(pause.out, "delivered");
  EXPECT_GT(delivered_at_pause, 0);
  EXPECT_LT(delivered_at_pause, static_cast<int64_t>(pop.eligible.size()));
  RunResult resume = RunProcess({SalvoBin(), "campaign", "resume", "-c", t.config, "--id", "pr", "--json"},
                                "", std::chrono::seconds(60));
  ASSERT_EQ(resume.exit_code, 0) << resume.out << resume.err;
  EXPECT_NE(resume.out.find("\"state\":\"done\""), std::string::npos) << resume.out;
  EXPECT_EQ(JsonInt(resume.out, "delivered"), static_cast<int64_t>(pop.eligible.size()));
  auto got = t.sink.StopAndRead();
  EXPECT_EQ(got.size(), pop.eligible.size());
  int dups = 0;
  for (const auto& [a, cp] : got) dups += cp.first - 1;
  EXPECT_EQ(dups, 0);  // a clean pause leaves nothing in flight
  // Cancel: a cancelled campaign cannot be sent again.
  RunResult cancel = RunProcess({SalvoBin(), "campaign", "cancel", "-c", t.config, "--id", "pr"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
}

// daily_limit is per UTC day over all campaigns: two campaigns on one account with
// daily_limit = 25 send 25 in total: the first sends the day's room and waits for the next UTC
// day saying how many it holds back (engaged first, shard/runner/day_plan.h); the second finds
// no room and pauses naming the account and the limit. The campaign record keeps the route for
// `salvo campaign status`.
TEST(CampaignSend, DailyLimitHoldsAcrossCampaigns) {
  TempDir dir;
  Sink sink(dir, "sink");
  std::string text = ConfigText(dir, {{"acct-a", sink.port(), {}}},
                                "[[route]]\nname = \"main\"\ndefault = true\n"
                                "accounts = [ { name = \"acct-a\", weight = 1 } ]\n");
  const std::string acct = "name = \"acct-a\"\n";
  ASSERT_NE(text.find(acct), std::string::npos);
  text.insert(text.find(acct) + acct.size(), "daily_limit = 25\n");
  std::string cfg = dir.Write("salvo.toml", text);
  Population pop = Populate(dir.File("data"), "l", 200, "p");
  ASSERT_GT(pop.eligible.size(), 100u);
  std::string c1 = CampaignFile(dir, "d1", "l");
  std::string c2 = CampaignFile(dir, "d2", "l");
  RunResult r1 = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c1, "--json"}, "",
                            std::chrono::seconds(60));
  EXPECT_EQ(r1.exit_code, 0) << r1.out << r1.err;  // waiting
  EXPECT_EQ(JsonInt(r1.out, "delivered"), 25) << r1.out;
  EXPECT_NE(r1.out.find("\"state\":\"waiting\""), std::string::npos) << r1.out;
  EXPECT_NE(r1.out.find("recipients held back until"), std::string::npos) << r1.out;
  EXPECT_NE(r1.out.find("(today's room 25: "), std::string::npos) << r1.out;
  RunResult r2 = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c2, "--json"}, "",
                            std::chrono::seconds(60));
  // No room left today: it pauses at the limit, naming the account (until the next UTC day).
  EXPECT_EQ(r2.exit_code, 3) << r2.out << r2.err;
  EXPECT_EQ(JsonInt(r2.out, "delivered"), 0) << r2.out;
  EXPECT_NE(r2.out.find("acct-a (daily_limit 25 reached)"), std::string::npos) << r2.out;
  RunResult st = RunProcess({SalvoBin(), "campaign", "status", "-c", cfg, "--id", "d1", "--json"});
  EXPECT_EQ(st.exit_code, 0) << st.out << st.err;
  EXPECT_NE(st.out.find("\"route\":\"main\""), std::string::npos) << st.out;
  EXPECT_EQ(sink.StopAndRead().size(), 25u);
}

}  // namespace
}  // namespace salvo::test
