// shard/runner/run_monitor.h: control requests stop the run, the status file and the progress
// callback follow it, SIGINT pauses it, and what cannot be done is said once and counted.
#include "shard/runner/run_monitor.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/metrics/salvo_metrics.h"
#include "store/run_control.h"
#include "tests/shard/runner/run_fixture.h"

namespace salvo {
namespace {

using std::chrono::seconds;

TEST(RunMonitor, ControlRequestsStatusFileAndProgressOncePerSecond) {
  test::RunFixture f;
  RunnerOptions options;
  int progress_calls = 0;
  options.on_progress = [&](const CampaignProgress& p) {
    progress_calls++;
    EXPECT_EQ(p.id, "c");
  };
  CampaignProgress snap;
  snap.id = "c";
  snap.list_size = 10;
  const auto t0 = std::chrono::steady_clock::now();
  RunMonitor m(f.s.get(), options, &snap, t0);
  m.Tick(t0 + std::chrono::milliseconds(500));
  EXPECT_EQ(progress_calls, 0);  // less than a second: nothing yet
  f.s->verdicts = 4;
  f.s->count[static_cast<int>(Outcome::kDelivered)] = 4;
  m.Tick(t0 + seconds(2));
  EXPECT_EQ(progress_calls, 1);
  EXPECT_DOUBLE_EQ(m.rate(), 2.0);  // 4 verdicts in 2 s
  EXPECT_EQ(snap.state, "running");
  EXPECT_EQ(snap.delivered, 4u);
  EXPECT_DOUBLE_EQ(snap.eta_s, 3.0);  // 6 left at 2/s
  auto status = ReadStatusFile(f.dir.path(), "c");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_NE(status->find("\"delivered\":4"), std::string::npos) << *status;

  ASSERT_TRUE(RequestCampaignControl(f.dir.path(), "c", "pause", "paused for the weekend").ok());
  m.Tick(t0 + seconds(3));
  EXPECT_EQ(f.s->stop_kind(), StopKind::kPause);
  EXPECT_EQ(f.s->stop_reason, "paused for the weekend");
  EXPECT_EQ(snap.state, "stopping");
}

TEST(RunMonitor, InterruptPausesAtOnce) {
  test::RunFixture f;
  std::atomic<bool> interrupt{false};
  RunnerOptions options;
  options.interrupt = &interrupt;
  CampaignProgress snap;
  const auto t0 = std::chrono::steady_clock::now();
  RunMonitor m(f.s.get(), options, &snap, t0);
  m.Tick(t0);
  EXPECT_EQ(f.s->stop_kind(), StopKind::kNone);
  interrupt = true;
  m.Tick(t0 + std::chrono::milliseconds(100));
  EXPECT_EQ(f.s->stop_kind(), StopKind::kPause);
  EXPECT_NE(f.s->stop_reason.find("SIGINT"), std::string::npos);
}

TEST(RunMonitor, AStatusFileThatCannotBeWrittenIsCountedNotFatal) {
  test::RunFixture f;
  // The run directory is a file: every status write fails.
  std::filesystem::remove_all(f.dir.path() + "/run");
  f.dir.Write("run", "not a directory");
  const metrics::Counter errors = metrics::Metrics().errors->WithLabels({"runner", "status_file"});
  const uint64_t before = errors.Value();
  RunnerOptions options;
  CampaignProgress snap;
  const auto t0 = std::chrono::steady_clock::now();
  RunMonitor m(f.s.get(), options, &snap, t0);
  m.Tick(t0 + seconds(1));
  m.Tick(t0 + seconds(2));
  EXPECT_EQ(errors.Value(), before + 2);
  EXPECT_EQ(f.s->stop_kind(), StopKind::kNone);  // the send goes on
}

}  // namespace
}  // namespace salvo
