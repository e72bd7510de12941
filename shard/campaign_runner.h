// The campaign runner: sends one campaign to its list through its route's accounts and source
// IPs, one feeder thread per SMTP worker (shard/runner/feeder.h: scan in key order in batches,
// never the whole list in memory; segment, consent, global suppression at send time; egress by
// shard/runner/egress_chooser.h; render on the shared board, shard/runner/render_board.h; "attempt
// started" markers with the accounts' daily counts; submit). Reports come back on the worker
// thread; the decision for each (engine/policy/outcome.h) is carried out by
// shard/runner/decision_applier.h. shard/runner/run_monitor.h follows the run (progress, status
// file, control requests, SIGINT). Everything in memory is bounded: a window of in-flight
// messages and a bounded delay heap.
//
// Trust: config and campaign are validated upstream; recipient data and server replies are
// outside input (only stored sanitized and classified).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/campaign.h"
#include "engine/config/config.h"
#include "engine/mime/compiled_campaign.h"
#include "store/run_control.h"
#include "store/store.h"

namespace salvo {

struct AccountHealth {
  std::string name;
  bool paused = false;
  std::string reason;     // why it was paused (plain words, the server's reply)
  uint64_t attempts = 0;  // messages handed to it this run
};

struct ThrottleInfo {
  std::string account, source_ip, domain;
  uint64_t events = 0;    // throttling replies seen
  double rate = 0;        // msgs/s per worker after the last cut (0: unlimited again)
};

// CPU time of one run per message handed to an account (µs), by stage: where a send's CPU goes.
// smtp: the SMTP workers' threads (shared with other campaigns of the process, if any); other:
// the rest of the process's CPU during the run (feeding between threads, RocksDB's background
// flushes and compactions, the monitor). Set at the end of a run that sent something.
struct StageCpuUs {
  bool set = false;
  uint64_t messages = 0;
  double scan = 0, decide = 0, render = 0, sign = 0, smtp = 0, progress = 0, other = 0;
  double total = 0;  // the process's CPU during the run
};

// A snapshot of a campaign, as `salvo campaign status` and the progress line show it.
struct CampaignProgress {
  std::string id, list, route;
  std::string state;         // running | paused | cancelled | done | waiting | dry-run
  std::string pause_reason;
  // waiting: when the daemon goes on (unix seconds); paused: when the pause ends by itself (0:
  // only by hand, `campaign resume`).
  int64_t next_action_at = 0;
  bool dry_run = false;
  bool preflight_skipped = false;  // a start of it skipped `salvo preflight` (--skip-preflight)
  uint64_t list_size = 0;
  uint64_t delivered = 0, bounced = 0, failed = 0;
  uint64_t deferred = 0;        // all deferred (retrying + gave up)
  uint64_t deferred_final = 0;  // gave up after retry_for
  uint64_t suppressed = 0, no_consent = 0, outside_segment = 0;
  uint64_t in_flight = 0;       // handed to the SMTP runtime, no verdict yet
  uint64_t would_send = 0;      // dry run: eligible recipients that would be sent
  uint64_t in_flight_at_resume = 0;  // markers found when this run started (possible duplicates)
  uint64_t throttle_events = 0;
  uint64_t held_back = 0;       // left for a later run: send window closed, the day's caps
  double rate = 0;              // verdicts per second (recent)
  double elapsed_s = 0;
  double eta_s = -1;            // -1: unknown
  // This run's SMTP transactions (hand-off to a connection, i.e. MAIL FROM, to the server's
  // verdict: shard/sender.h SendReport::transaction), from the workers' fixed-bucket histograms
  // (engine/base/latency_histogram.h, ~6 % resolution). -1: none (null in JSON).
  uint64_t transactions = 0;
  double latency_p50_ms = -1, latency_p99_ms = -1, latency_max_ms = -1;
  // This run from its start to its last verdict, retries included; -1 (null) unless it ended
  // done.
  double time_to_finish_s = -1;
  std::vector<AccountHealth> accounts;
  std::vector<ThrottleInfo> throttles;
  StageCpuUs stage_cpu;  // `salvo send --json` prints it as "stage_cpu_us_per_msg" when set

  // eligible = delivered + bounced + failed + deferred + in_flight (+ would_send in a dry run)
  uint64_t Eligible() const {
    return delivered + bounced + failed + deferred + in_flight + would_send;
  }
  // Members not classified yet (0 when done).
  uint64_t Pending() const {
    uint64_t seen = Eligible() + suppressed + no_consent + outside_segment;
    return list_size > seen ? list_size - seen : 0;
  }
  std::string ToJson() const;
};

// How a run's pause ends, recorded as the campaign's auto_resume / next_action_at for the
// daemon's calendar (tools/salvo/scheduler.h) instead of being read back from the reason's words.
enum class PauseEnd : int {
  kByHand = 0,    // `salvo campaign resume` (operator, SIGINT, errors)
  kAccountsBack,  // when the first account of the route comes back (its pause's end, a new day)
  kRestart,       // at once, when the process that paused it starts again (salvo serve's stop)
};

struct RunnerOptions {
  uint32_t workers = 0;                 // 0: config.workers, else one per core
  bool dry_run = false;                 // evaluate, count, send nothing, write nothing
  bool skip_preflight = false;          // this start skipped preflight: recorded for good
  std::string campaign_file;            // recorded for `campaign resume`
  std::string config_file;
  const std::atomic<bool>* interrupt = nullptr;  // set (SIGINT): pause cleanly
  std::string interrupt_reason =                 // the pause reason it records
      "interrupted (SIGINT); resume with `salvo campaign resume` or `salvo send`";
  PauseEnd interrupt_pause_end = PauseEnd::kByHand;          // how that pause ends
  std::function<void(const CampaignProgress&)> on_progress;  // about once per second
  bool write_status_file = true;        // data_dir/run/<id>.status.json + control polling
  // The caller's hold of the campaign's run lock (store/run_control.h); null: RunCampaign takes
  // it for the run (not for a dry run, which changes nothing).
  const CampaignRunLock* run_lock = nullptr;
  // -1: deferred recipients are retried within this run, however long their backoff (a send
  // without the daemon). >= 0 (the daemon): when nothing is left but recipients due more than
  // this many seconds from now, the run ends as "waiting" until the first is due, and the
  // daemon goes on then.
  int64_t wait_horizon_s = -1;
};

// Runs (or resumes) the campaign until it is done, paused or cancelled, on the process's shared
// SMTP workers (shard/shared_workers.h): campaigns running at once in one process share their
// connection pools. Returns the final snapshot (counts over the whole campaign, all runs).
// Errors: FailedPrecondition "campaign ID is already running (since T, pid P)" while another run
// of it holds its run lock; store or runtime failures.
[[nodiscard]] absl::StatusOr<CampaignProgress> RunCampaign(const Config& config, Store* store,
                                             const CampaignConfig& campaign,
                                             std::shared_ptr<const CompiledCampaign> compiled,
                                             const RunnerOptions& options);

// The campaign's state from the store alone (no run in progress in this process).
[[nodiscard]]
absl::StatusOr<CampaignProgress> CampaignStatusFromStore(Store* store, const std::string& id);

}  // namespace salvo
