// shard/runner: the state one campaign run shares between its feeders and its monitor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/config/campaign.h"
#include "engine/config/config.h"
#include "engine/mime/compiled_campaign.h"
#include "engine/policy/segment.h"
#include "engine/policy/throttle.h"
#include "shard/account_state.h"
#include "shard/campaign_runner.h"
#include "shard/runner/render_board.h"
#include "shard/runner/stage_cpu.h"
#include "store/campaign_store.h"
#include "store/recipient_store.h"
#include "store/suppression_store.h"

namespace salvo {

// Microseconds since the epoch, the runner's clock (progress records store it).
int64_t RunnerNowUs();

// "until 2026-12-05T00:00:00Z", or "until resumed" for a pause's end of 0 (by hand).
std::string PauseEndText(int64_t until);

struct DayPlan;  // shard/runner/day_plan.h

// One account of the run's route.
struct RunAccount {
  const AccountConfig* cfg = nullptr;
  uint32_t weight = 1;
  // Rate, daily count and pause, shared with every campaign of this process
  // (shard/account_state.h).
  AccountState* state = nullptr;
  std::atomic<uint64_t> attempts{0};  // messages handed to it this run

  // The salvo_accounts_paused{reason="daily_limit"} gauge (1 while it is at its limit).
  void DailyLimitGauge(double v) const;
};

// How a run stops: it keeps going, pauses (resumable) or is cancelled.
enum class StopKind : int { kNone = 0, kPause = 1, kCancel = 2 };

// State shared by all feeders of one run and its monitor. Counters are atomics; the rest of what
// changes is guarded by mu.
struct RunState {
  static constexpr int kOutcomes = 8;

  const Config* config = nullptr;
  const CampaignConfig* campaign = nullptr;
  const RouteConfig* route = nullptr;
  std::shared_ptr<const CompiledCampaign> compiled;
  Store* store = nullptr;
  CampaignStore* cstore = nullptr;
  RecipientStore* rstore = nullptr;
  SuppressionStore* sstore = nullptr;
  Segment segment;
  DomainThrottles domains{{}};
  bool dry_run = false;
  uint32_t workers = 1;
  RenderBoard render;
  StageCpu cpu;  // CPU time per stage, all threads of the run (render and sign: the board's)
  std::vector<std::unique_ptr<RunAccount>> accounts;
  const SendWindow* window = nullptr;  // the campaign's send window (null: always open)
  const DayPlan* plan = nullptr;       // engaged first: who is sent today (null: everyone)

  // Recipients by outcome over the whole campaign (all runs), kept current by Change().
  std::atomic<int64_t> count[kOutcomes] = {};
  std::atomic<int64_t> deferred_final{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> would_send{0};
  std::atomic<int64_t> verdicts{0};
  std::atomic<int64_t> throttle_events{0};
  std::atomic<int64_t> held_window{0};  // left for later: their send window is closed

  // Attempt batches: ids run_number << 32 | sequence, unique in the campaign (CampaignRecord::runs
  // counts every start and resume).
  uint64_t run_number = 0;
  std::atomic<uint32_t> batch_seq{0};
  uint64_t NextAttemptBatch() { return (run_number << 32) | (batch_seq.fetch_add(1) + 1); }

  std::atomic<int> stop{0};  // a StopKind
  std::mutex mu;
  std::string stop_reason;                              // guarded by mu
  PauseEnd stop_pause_end = PauseEnd::kByHand;          // guarded by mu
  absl::flat_hash_map<std::string, ThrottleInfo> throttles;  // guarded by mu
  std::string fatal;  // a store error in a feeder; guarded by mu
  // Unix µs: the earliest time a feeder that stopped early has something due (waiting), and
  // when a pause for want of accounts ends by itself (0: only by hand). Guarded by mu.
  int64_t wait_until_us = 0;
  int64_t resume_at_us = 0;
  int64_t wait_horizon_us = -1;  // RunnerOptions::wait_horizon_s in µs (-1: wait in the run)
  std::string hold_reason;  // why the earliest wait_until_us (a window, caps); guarded by mu

  // A feeder has nothing left but recipients due at `due_us` or later.
  void WaitUntil(int64_t due_us);
  // Same for recipients held back (window closed, caps), saying why.
  void Hold(int64_t due_us, std::string reason);

  StopKind stop_kind() const { return static_cast<StopKind>(stop.load()); }
  // Asks the feeders to stop (the stronger kind wins; the first reason of a kind stays, with how
  // its pause ends).
  void RequestStop(StopKind kind, std::string reason, PauseEnd end = PauseEnd::kByHand);
  // A store error: the run pauses and RunCampaign returns the error.
  void Fatal(const absl::Status& st);
  // A recipient's outcome moves from `old` (as stored) to `now`.
  void Change(const std::optional<ProgressRecord>& old, Outcome now, bool final_deferred);
  // The stored progress in this campaign of each of `rs` (one MultiGet).
  [[nodiscard]] absl::Status ProgressOf(const std::vector<Recipient>& rs,
                                        std::vector<std::optional<ProgressRecord>>* out) const;
  // Counts, accounts and throttles into *p.
  void Fill(CampaignProgress* p);
};

}  // namespace salvo
