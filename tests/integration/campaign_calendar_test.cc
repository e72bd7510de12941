// Issue 16's calendar against salvo-sink on loopback, the daemon's time from SALVO_FAKE_NOW:
// a warm-up account sends to the engaged recipients first and goes on by itself the next UTC
// day (a second daemon started with a later fake clock), and a send window closed now and
// opening 3 s later holds everything until it opens; a source IP's warm-up caps that IP and
// its count is stored; per-recipient zones hold those whose window is closed.
//
// The clicks that make recipients "engaged" are written with the event store API
// (EventStore::AppendBatch), the call the daemon's click endpoint makes through its batcher
// (tools/salvo/event_batcher.cc) with the same fields (kind "click", source "tracking", the
// address key): going through /c/TOKEN would need a first campaign's signed links.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "store/event_store.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"

namespace salvo::test {
namespace {

int64_t UnixOf(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

std::string Address(int i) { return absl::StrCat("w", i, "@example.test"); }

// The 1,000 recipients of the warm-up test: recipient i opted in i minutes after
// 2026-01-01T00:00Z (a higher i is more recent); every 6th below 900 (150) clicked in a mail
// of another campaign two days before the send.
std::set<int> PopulateEngaged(const std::string& data_dir, int64_t click_at_us) {
  std::set<int> clicked;
  auto store = Store::Open({data_dir});
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return clicked;
  std::vector<Recipient> batch;
  std::vector<StoredEvent> clicks;
  for (int i = 0; i < 1000; ++i) {
    Recipient r;
    r.address = Address(i);
    r.key = r.address;
    r.shard = ShardOf(r.key);
    r.consent.opted_in_at = FormatUnixTime(UnixOf(2026, 1, 1) + 60 * i);
    r.consent.source = "test";
    batch.push_back(std::move(r));
    if (i < 900 && i % 6 == 1) {
      clicked.insert(i);
      StoredEvent e;
      e.kind = "click";
      e.source = "tracking";
      e.campaign_id = "november";
      e.address = Address(i);
      e.detail = "https://shop.example.test/a";
      e.at_us = click_at_us;
      clicks.push_back(std::move(e));
    }
  }
  EXPECT_TRUE(RecipientStore(store->get()).Upsert("news", batch).ok());
  EXPECT_TRUE(EventStore(store->get()).AppendBatch(clicks).ok());
  return clicked;
}

// Recipient numbers delivered in campaign `id`.
std::set<int> Delivered(const std::string& data_dir, const std::string& id) {
  std::set<int> out;
  for (const auto& [key, p] : ReadProgress(data_dir, id))
    if (p.outcome == Outcome::kDelivered) out.insert(std::atoi(key.c_str() + 1));
  return out;
}

TEST(CampaignCalendar, WarmupSendsTheEngagedFirstAndGoesOnTheNextUtcDay) {
  TempDir dir;
  const std::set<int> clicked = PopulateEngaged(
      dir.File("data"), (UnixOf(2026, 12, 1, 10) - 2 * 86400) * int64_t{1'000'000});
  ASSERT_EQ(clicked.size(), 150u);
  Sink sink(dir, "sink");
  const std::string config = ServeConfig(
      dir, {{"acct", sink.port(), {}, 4}}, "",
      "[sending]\nengaged_days = 30\n"
      "[[warmup]]\naccount = \"acct\"\nstart = \"2026-12-01\"\ndaily = [100, 200]\n");
  const std::string campaign = CampaignFile(dir, "warm", "news");
  std::set<int> day1;
  {
    ServeProcess serve(dir, config, {{"SALVO_FAKE_NOW", "2026-12-01T10:00:00Z"}});
    ASSERT_TRUE(serve.ready()) << serve.Log();
    auto r = Salvo({"send", "--skip-preflight", "-c", serve.config(), "--campaign", campaign, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(absl::StrContains(r.out, "\"state\":\"waiting\"")) << r.out;
    EXPECT_EQ(JsonInt(r.out, "delivered"), 100) << r.out;
    EXPECT_EQ(JsonInt(r.out, "held_back"), 900) << r.out;
    EXPECT_EQ(JsonInt(r.out, "next_action_at"), UnixOf(2026, 12, 2)) << r.out;
    EXPECT_TRUE(absl::StrContains(
        r.out, "daily caps: 900 recipients held back until 2026-12-02T00:00:00Z (today's room "
               "100: 100 engaged in the last 30 days, 0 by opt-in date)"))
        << r.out;
    const std::string listed = ListEntry(serve.config(), "warm");
    EXPECT_TRUE(absl::StrContains(listed, "\"state\":\"waiting\"")) << listed;
    EXPECT_TRUE(absl::StrContains(listed, "900 recipients held back")) << listed;
    EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  }
  day1 = Delivered(dir.File("data"), "warm");
  ASSERT_EQ(day1.size(), 100u);
  for (int i : day1) EXPECT_TRUE(clicked.count(i)) << "day 1 sent to w" << i << ", not engaged";

  {
    // The next day: the daemon resumes the waiting campaign by itself.
    ServeProcess serve(dir, config, {{"SALVO_FAKE_NOW", "2026-12-02T10:00:00Z"}});
    ASSERT_TRUE(serve.ready()) << serve.Log();
    std::string e;
    for (int i = 0; i < 300; ++i) {
      e = ListEntry(serve.config(), "warm");
      if (absl::StrContains(e, "\"delivered\":300") && absl::StrContains(e, "\"state\":\"waiting\""))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_TRUE(absl::StrContains(e, "\"delivered\":300")) << e << serve.Log();
    EXPECT_TRUE(absl::StrContains(e, absl::StrCat("\"next_action_at\":", UnixOf(2026, 12, 3))))
        << e;
    EXPECT_TRUE(absl::StrContains(e, "700 recipients held back")) << e;
    EXPECT_EQ(serve.Stop(), 0) << serve.Log();
    EXPECT_TRUE(absl::StrContains(serve.Log(), "campaign warm: resuming")) << serve.Log();
  }
  const std::set<int> both = Delivered(dir.File("data"), "warm");
  ASSERT_EQ(both.size(), 300u);
  std::vector<int> day2;
  for (int i : both)
    if (!day1.count(i)) day2.push_back(i);
  ASSERT_EQ(day2.size(), 200u);
  // The 50 engaged left first, then the 150 most recently opted-in of the rest.
  std::vector<int> expected;
  for (int i : clicked)
    if (!day1.count(i)) expected.push_back(i);
  EXPECT_EQ(expected.size(), 50u);
  for (int i = 999; i >= 0 && expected.size() < 200; --i)
    if (!clicked.count(i)) expected.push_back(i);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(day2, expected);
  // Every message once, and only to those 300.
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.size(), 300u);
  for (const auto& [addr, v] : got) {
    EXPECT_EQ(v.first, 1) << addr;
    EXPECT_TRUE(both.count(std::atoi(addr.c_str() + 1))) << addr;
  }
}

TEST(CampaignCalendar, NothingIsSentBeforeTheWindowOpensAndEverythingAfter) {
  TempDir dir;
  Population pop = Populate(dir.File("data"), "news", 500, "o");
  const auto sink_start = absl::Now();
  Sink sink(dir, "sink", {"--timeline", dir.File("timeline.tsv")});
  // Monday 2026-12-07, 3 s before 10:00 in Copenhagen (09:00Z) on the daemon's clock.
  const auto launched = absl::Now();
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port(), {}, 4}}),
                     {{"SALVO_FAKE_NOW", "2026-12-07T08:59:57Z"}});
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string campaign = CampaignFile(
      dir, "win", "news",
      "window = { days = \"mon-fri\", from = \"10:00\", to = \"17:00\", tz = \"Europe/Copenhagen\" }\n");
  auto r = Salvo({"send", "--skip-preflight", "-c", serve.config(), "--campaign", campaign, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"state\":\"waiting\"")) << r.out;
  EXPECT_EQ(JsonInt(r.out, "delivered"), 0) << r.out;
  EXPECT_EQ(JsonInt(r.out, "next_action_at"), UnixOf(2026, 12, 7, 9)) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "outside the send window (mon,tue,wed,thu,fri "
                                       "10:00-17:00 Europe/Copenhagen); reopens at "
                                       "2026-12-07T09:00:00Z"))
      << r.out;
  const std::string done = WaitForState(serve.config(), "win", "done", std::chrono::seconds(60));
  EXPECT_TRUE(absl::StrContains(done, absl::StrCat("\"delivered\":", pop.eligible.size()))) << done;
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  ExpectExactlyOnce(sink.StopAndRead(), pop);
  // The daemon's clock read 08:59:57Z at the earliest when it was launched: its 09:00:00Z is at
  // least 3 s after that (the timeline samples every 250 ms).
  const double first = FirstMessageAt(dir.File("timeline.tsv"));
  ASSERT_GE(first, 0);
  EXPECT_GE(first + 0.25, absl::ToDoubleSeconds(launched - sink_start) + 3.0) << first;
}

TEST(CampaignCalendar, ASourceIpWarmupCapsTheIpAndItsCountIsStored) {
  TempDir dir;
  Population pop = Populate(dir.File("data"), "news", 100, "i");
  Sink sink(dir, "sink");
  const std::string config = dir.Write(
      "salvo.toml",
      ConfigText(dir, {{"acct", sink.port(), {"127.0.0.1"}, 2}}, kOneAccountRoute,
                 "[[warmup]]\nsource_ip = \"127.0.0.1\"\nstart = \"2026-12-01\"\n"
                 "daily = [30]\n"));
  const std::string campaign = CampaignFile(dir, "ipw", "news");
  auto r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", config, "--campaign", campaign, "--json"}, "",
                      std::chrono::seconds(120), {{"SALVO_FAKE_NOW", "2026-12-01T10:00:00Z"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"state\":\"waiting\"")) << r.out;
  EXPECT_EQ(JsonInt(r.out, "delivered"), 30) << r.out;
  const int64_t left = static_cast<int64_t>(pop.eligible.size()) - 30;
  EXPECT_EQ(JsonInt(r.out, "held_back"), left) << r.out;
  auto store = Store::Open({dir.File("data")});
  ASSERT_TRUE(store.ok()) << store.status();
  auto n = CampaignStore(store->get()).GetDailyCount("ip:127.0.0.1", "2026-12-01");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 30u);
  EXPECT_EQ(sink.StopAndRead().size(), 30u);
}

TEST(CampaignCalendar, PerRecipientZonesHoldThoseWhoseWindowIsClosed) {
  TempDir dir;
  {
    auto store = Store::Open({dir.File("data")});
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<Recipient> rs;
    const char* zones[] = {"Asia/Tokyo", "Europe/London", "Not/AZone", ""};
    for (int i = 0; i < 40; ++i) {
      Recipient r;
      r.address = absl::StrCat("z", i, "@example.test");
      r.key = r.address;
      r.shard = ShardOf(r.key);
      r.consent.opted_in_at = "2026-01-01T00:00:00Z";
      if (zones[i % 4][0]) r.fields = {{"timezone", zones[i % 4]}};
      rs.push_back(std::move(r));
    }
    ASSERT_TRUE(RecipientStore(store->get()).Upsert("news", rs).ok());
  }
  Sink sink(dir, "sink");
  const std::string config = WriteOneAccountConfig(dir, {"acct", sink.port(), {}, 2});
  // 12:00Z: open in London and in UTC (the fallback), 21:00 in Tokyo (opens at 00:00Z).
  const std::string campaign = CampaignFile(
      dir, "tz", "news",
      "window = { days = \"daily\", from = \"09:00\", to = \"17:00\", tz = \"UTC\" }\n"
      "per_recipient_tz = \"timezone\"\n");
  auto r = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", config, "--campaign", campaign, "--json"}, "",
                      std::chrono::seconds(120), {{"SALVO_FAKE_NOW", "2026-12-07T12:00:00Z"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"state\":\"waiting\"")) << r.out;
  EXPECT_EQ(JsonInt(r.out, "delivered"), 30) << r.out;
  EXPECT_EQ(JsonInt(r.out, "held_back"), 10) << r.out;
  EXPECT_EQ(JsonInt(r.out, "next_action_at"), UnixOf(2026, 12, 8)) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "outside the recipients' send windows")) << r.out;
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.size(), 30u);
  for (const auto& [addr, v] : got) EXPECT_NE(std::atoi(addr.c_str() + 1) % 4, 0) << addr;
}

}  // namespace
}  // namespace salvo::test
