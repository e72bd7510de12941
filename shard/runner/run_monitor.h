// shard/runner: watches a campaign run while its feeders work: the progress snapshot and its
// rate, the operator's control requests (pause, cancel, suppressions queued by the CLI), SIGINT,
// the status file and the progress callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "shard/campaign_runner.h"
#include "shard/runner/run_state.h"

namespace salvo {

class RunMonitor {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // *snap is the run's snapshot (id, list, route, ... set by the caller); Fill() updates the rest.
  RunMonitor(RunState* s, const RunnerOptions& options, CampaignProgress* snap, TimePoint start);

  // Called about every 100 ms while the feeders run: SIGINT at once; once a second the control
  // requests, the snapshot, the status file and options.on_progress.
  void Tick(TimePoint now);

  // Counts, rate, ETA, accounts and throttles of the snapshot as of `now`.
  void Fill(TimePoint now);

  // What the monitor cannot do (status file, control requests) does not stop the send: it is
  // said on stderr (the daemon's log) once per `what` ("while `doing`: ..."), and every time
  // counted in salvo_errors_total{component="runner", what}.
  void Warn(std::string_view what, std::string_view doing, const absl::Status& st);

  double rate() const { return rate_; }

 private:
  void TakeControlRequests();

  RunState* s_;
  const RunnerOptions& options_;
  CampaignProgress* snap_;
  TimePoint start_, last_tick_;
  int64_t last_verdicts_ = 0;
  double rate_ = 0;  // verdicts per second, smoothed
  std::vector<std::string> warned_;
};

}  // namespace salvo
