// The daemon keeps the calendar (tools/salvo/scheduler.h), against salvo-sink on loopback: a
// scheduled campaign starts when due with nobody attached, a kill -9 or a stop in the middle is resumed
// by the next daemon by itself, deferred recipients are retried by the daemon after the command
// that started the send has ended, and a campaign held back by its daily limit goes on by itself
// at the next UTC day (walked with SALVO_FAKE_NOW).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"

namespace salvo::test {
namespace {

// Schedules `campaign` (id `id`) on `serve` to start now and waits until its run has been going
// for about a second (from its status file, written when the run starts).
void StartScheduledRun(ServeProcess& serve, const TempDir& dir, const std::string& campaign,
                       const std::string& id) {
  auto r = Salvo({"campaign", "schedule", "--skip-preflight", "-c", serve.config(), "--campaign",
                  campaign, "--at", "now"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string status = dir.File("data/run/" + id + ".status.json");
  for (int i = 0; i < 200 && !std::ifstream(status).good(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(std::ifstream(status).good()) << serve.Log();
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

TEST(CampaignSchedule, StartsWhenDueWithOnlyTheDaemonRunning) {
  TempDir dir;
  Population pop = Populate(dir.File("data"), "news", 2000, "s");
  const auto sink_start = absl::Now();
  Sink sink(dir, "sink", {"--timeline", dir.File("timeline.tsv")});
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port(), {}, 4}}));
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string campaign = CampaignFile(dir, "sched", "news");

  const absl::Time at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 6);
  auto r = Salvo({"campaign", "schedule", "--skip-preflight", "-c", serve.config(), "--campaign", campaign, "--at",
                  Rfc3339(at)});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "campaign sched scheduled for " + Rfc3339(at))) << r.out;
  // Later edits of the campaign's files change nothing: the schedule keeps what it was given.
  dir.Write("sched.html", "<html><body>edited</body></html>");
  const std::string listed = ListEntry(serve.config(), "sched");
  EXPECT_TRUE(absl::StrContains(listed, "\"state\":\"scheduled\"")) << listed;
  EXPECT_TRUE(absl::StrContains(listed, absl::StrCat("\"next_action_at\":", absl::ToUnixSeconds(at))))
      << listed;

  const std::string done = WaitForState(serve.config(), "sched", "done", std::chrono::seconds(60));
  EXPECT_TRUE(absl::StrContains(done, absl::StrCat("\"delivered\":", pop.eligible.size()))) << done;
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  ExpectExactlyOnce(sink.StopAndRead(), pop);
  // No message before the scheduled second (the timeline samples every 250 ms).
  const double first = FirstMessageAt(dir.File("timeline.tsv"));
  ASSERT_GE(first, 0);
  EXPECT_GE(first + 0.25, absl::ToDoubleSeconds(at - sink_start)) << first;
  EXPECT_TRUE(absl::StrContains(serve.Log(), "campaign sched: starting (scheduled)")) << serve.Log();
}

TEST(CampaignSchedule, UnscheduleAndErrorsNameWhatIsWrong) {
  TempDir dir;
  Populate(dir.File("data"), "news", 10, "u");
  const std::string config = dir.Write("salvo.toml", ConfigText(dir, {{"acct", 9, {}, 1}},
                                                                kOneAccountRoute));
  const std::string campaign = CampaignFile(dir, "later", "news");
  auto bad = Salvo({"campaign", "schedule", "--skip-preflight", "-c", config, "--campaign", campaign, "--at",
                    "tomorrow 9am"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "--at \"tomorrow 9am\" is not \"now\" or an RFC 3339"))
      << bad.err;
  auto ok = Salvo({"campaign", "schedule", "--skip-preflight", "-c", config, "--campaign", campaign, "--at",
                   "2030-01-01T09:00:00+01:00"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(absl::StrContains(ok.out, "scheduled for 2030-01-01T08:00:00Z")) << ok.out;
  auto list = Salvo({"campaign", "list", "-c", config});
  EXPECT_TRUE(absl::StrContains(list.out, "later")) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "scheduled  2030-01-01T08:00:00Z")) << list.out;
  auto un = Salvo({"campaign", "unschedule", "-c", config, "--id", "later"});
  EXPECT_EQ(un.exit_code, 0) << un.err;
  EXPECT_EQ(ListEntry(config, "later"), "");
  auto again = Salvo({"campaign", "unschedule", "-c", config, "--id", "later"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err, "no campaign \"later\"")) << again.err;
}

// A scheduled campaign (20000 recipients, ~8 s at 2500/s) whose daemon ends about 2 s in, killed
// (true: SIGKILL) or stopped (SIGTERM); the next daemon, given no command, resumes it by itself and
// finishes it. A stop pauses the run cleanly: nothing is sent twice.
class CampaignScheduleInterrupted : public ::testing::TestWithParam<bool> {};

TEST_P(CampaignScheduleInterrupted, TheNextDaemonFinishesTheCampaign) {
  const bool kill = GetParam();
  const std::string id = kill ? "kill" : "stop";
  TempDir dir;
  Population pop = Populate(dir.File("data"), "news", 20000, id.substr(0, 1));
  Sink sink(dir, "sink");
  const std::string config_text =
      ServeConfig(dir, {{"acct", sink.port(), {}, 4}}, "rate_per_second = 2500\n");
  const std::string campaign = CampaignFile(dir, id, "news");
  {
    ServeProcess serve(dir, config_text);
    ASSERT_TRUE(serve.ready()) << serve.Log();
    ASSERT_NO_FATAL_FAILURE(StartScheduledRun(serve, dir, campaign, id));
    if (kill) {
      ASSERT_EQ(::kill(serve.pid(), SIGKILL), 0);
      serve.Stop();
    } else {
      EXPECT_EQ(serve.Stop(), 0) << serve.Log();
      EXPECT_TRUE(absl::StrContains(serve.Log(),
                                    "campaign stop paused; it resumes when salvo serve starts"))
          << serve.Log();
      // Recorded to resume at once (PauseEnd::kRestart), not by hand.
      const std::string paused = ListEntry(serve.config(), id);
      EXPECT_TRUE(absl::StrContains(paused, "\"state\":\"paused\"")) << paused;
      EXPECT_TRUE(absl::StrContains(paused, "\"next_action_at\":0")) << paused;
    }
  }
  ServeProcess again(dir, config_text);  // no other command: the daemon resumes it by itself
  ASSERT_TRUE(again.ready()) << again.Log();
  const std::string done = WaitForState(again.config(), id, "done", std::chrono::seconds(90));
  EXPECT_TRUE(absl::StrContains(done, absl::StrCat("\"delivered\":", pop.eligible.size()))) << done;
  auto status = Salvo({"campaign", "status", "-c", again.config(), "--id", id, "--json"});
  const int64_t in_flight = JsonInt(status.out, "in_flight_at_resume");
  EXPECT_GE(in_flight, 0) << status.out;
  EXPECT_EQ(again.Stop(), 0) << again.Log();
  EXPECT_TRUE(absl::StrContains(again.Log(), "campaign " + id + ": resuming")) << again.Log();
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.size(), pop.eligible.size());
  int64_t duplicates = 0;
  for (const auto& [addr, v] : got) duplicates += v.first - 1;
  EXPECT_LE(duplicates, kill ? in_flight : 0);
}

INSTANTIATE_TEST_SUITE_P(KillOrStop, CampaignScheduleInterrupted, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Kill" : "Stop";
                         });

TEST(CampaignSchedule, DeferredRecipientsAreRetriedByTheDaemonAfterTheCommandEnded) {
  TempDir dir;
  Population pop = Populate(dir.File("data"), "news", 300, "d");
  // Every recipient's first attempt is deferred.
  Sink sink(dir, "sink", {"--fault-rcpt", "@=451-4.3.0*1"});
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port(), {}, 4}}, "",
                                      "[sending]\nretry_base = \"3s\"\nretry_max = \"3s\"\n"
                                      "hold_retries = \"1s\"\n"));
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string campaign = CampaignFile(dir, "retry", "news");
  auto r = Salvo({"send", "--skip-preflight", "-c", serve.config(), "--campaign", campaign, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"state\":\"waiting\"")) << r.out;
  EXPECT_EQ(JsonInt(r.out, "deferred"), static_cast<int64_t>(pop.eligible.size())) << r.out;
  EXPECT_GT(JsonInt(r.out, "next_action_at"), 0) << r.out;
  // The command has ended; the daemon goes on by itself.
  const std::string done = WaitForState(serve.config(), "retry", "done", std::chrono::seconds(60));
  EXPECT_TRUE(absl::StrContains(done, absl::StrCat("\"delivered\":", pop.eligible.size()))) << done;
  EXPECT_TRUE(absl::StrContains(done, "\"deferred\":0")) << done;
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  ExpectExactlyOnce(sink.StopAndRead(), pop);
}

TEST(CampaignSchedule, ADailyLimitPauseEndsByItselfAtTheNextUtcDay) {
  TempDir dir;
  Population pop = Populate(dir.File("data"), "news", 300, "n");
  Sink sink(dir, "sink");
  // 10 s before midnight (UTC) on the daemon's clock.
  ServeProcess serve(dir, ServeConfig(dir, {{"acct", sink.port(), {}, 4}}, "daily_limit = 100\n"),
                     {{"SALVO_FAKE_NOW", "2026-12-07T23:59:50Z"}});
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string campaign = CampaignFile(dir, "daily", "news");
  auto r = Salvo({"send", "--skip-preflight", "-c", serve.config(), "--campaign", campaign, "--json"});
  // The limit binds: the day's 100 go out (engaged first), the rest wait for the next day.
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"state\":\"waiting\"")) << r.out;
  EXPECT_EQ(JsonInt(r.out, "delivered"), 100) << r.out;
  EXPECT_EQ(JsonInt(r.out, "next_action_at"), absl::ToUnixSeconds(absl::FromCivil(
                                                  absl::CivilSecond(2026, 12, 8), absl::UTCTimeZone())))
      << r.out;
  // At midnight the daemon resumes it: 100 more, then it waits until the day after.
  std::string e;
  for (int i = 0; i < 150; ++i) {
    e = ListEntry(serve.config(), "daily");
    if (absl::StrContains(e, "\"delivered\":200") && absl::StrContains(e, "\"state\":\"waiting\""))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(absl::StrContains(e, "\"delivered\":200")) << e << serve.Log();
  EXPECT_TRUE(absl::StrContains(e, absl::StrCat("\"next_action_at\":",
                                                absl::ToUnixSeconds(absl::FromCivil(
                                                    absl::CivilSecond(2026, 12, 9),
                                                    absl::UTCTimeZone())))))
      << e;
  // A pause by hand stays until `campaign resume`.
  auto p = Salvo({"campaign", "pause", "-c", serve.config(), "--id", "daily"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  e = ListEntry(serve.config(), "daily");
  EXPECT_TRUE(absl::StrContains(e, "\"next_action_at\":0")) << e;
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.size(), 200u);
}

}  // namespace
}  // namespace salvo::test
