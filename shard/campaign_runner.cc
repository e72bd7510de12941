// Campaign runner (see campaign_runner.h): sets a run up, starts its feeders
// (shard/runner/feeder.h) and monitor (shard/runner/run_monitor.h), and records how it ended.
#include "engine/base/clock.h"
#include "shard/campaign_runner.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/base/latency_histogram.h"
#include "engine/base/shard.h"
#include "engine/base/status_macros.h"
#include "engine/base/thread_cpu.h"
#include "engine/policy/routing.h"
#include "shard/account_state.h"
#include "shard/runner/day_plan.h"
#include "shard/runner/feeder.h"
#include "shard/runner/run_monitor.h"
#include "shard/runner/run_state.h"
#include "shard/shared_workers.h"
#include "store/campaign_store.h"
#include "store/recipient_store.h"
#include "store/run_control.h"
#include "store/suppression_store.h"

namespace salvo {
namespace {

// The run's transaction latency percentiles into *p (left at -1 without transactions).
void SetLatency(const LatencyHistogram& h, CampaignProgress* p) {
  p->transactions = h.count();
  if (h.count() == 0) return;
  p->latency_p50_ms = h.QuantileUs(0.50) / 1000;
  p->latency_p99_ms = h.QuantileUs(0.99) / 1000;
  p->latency_max_ms = static_cast<double>(h.max_us()) / 1000;
}

uint64_t WorkersCpuNs(WorkerGroup* group, uint32_t workers) {
  uint64_t ns = 0;
  if (group != nullptr)
    for (uint32_t i = 0; i < workers; ++i) ns += group->worker(i).CpuNs();
  return ns;
}

// The run's CPU per message by stage (StageCpuUs), from the counters and clocks of the run.
StageCpuUs StageFigures(const RunState& s, uint64_t smtp_ns, uint64_t process_ns) {
  StageCpuUs c;
  for (const auto& a : s.accounts) c.messages += a->attempts.load();
  if (c.messages == 0) return c;
  c.set = true;
  const double per = 1e3 * static_cast<double>(c.messages);
  c.scan = s.cpu.Get(Stage::kScan) / per;
  c.decide = s.cpu.Get(Stage::kDecide) / per;
  c.render = s.cpu.Get(Stage::kRender) / per;
  c.sign = s.cpu.Get(Stage::kSign) / per;
  c.progress = s.cpu.Get(Stage::kProgress) / per;
  c.smtp = smtp_ns / per;
  c.total = process_ns / per;
  c.other = std::max(0.0, c.total - c.scan - c.decide - c.render - c.sign - c.progress - c.smtp);
  return c;
}

}  // namespace

[[nodiscard]] absl::StatusOr<CampaignProgress> RunCampaign(const Config& config, Store* store,
                                             const CampaignConfig& campaign,
                                             std::shared_ptr<const CompiledCampaign> compiled,
                                             const RunnerOptions& options) {
  RunState s;
  s.config = &config;
  s.campaign = &campaign;
  s.compiled = std::move(compiled);
  s.store = store;
  CampaignStore cstore(store);
  RecipientStore rstore(store);
  SuppressionStore sstore(store);
  s.cstore = &cstore;
  s.rstore = &rstore;
  s.sstore = &sstore;
  s.dry_run = options.dry_run;
  s.wait_horizon_us = options.wait_horizon_s < 0 ? -1 : options.wait_horizon_s * 1'000'000;
  ASSIGN_OR_RETURN(s.segment, Segment::Compile(campaign.segment));
  ASSIGN_OR_RETURN(s.route, SelectRoute(config, campaign.route, campaign.list));
  s.domains = DomainThrottles(config.throttles);
  for (const auto& ra : s.route->accounts) {
    const AccountConfig* ac = config.FindAccount(ra.name);
    if (!ac)
      return absl::InvalidArgumentError(
          absl::StrCat("route \"", s.route->name, "\" names unknown account \"", ra.name, "\""));
    auto a = std::make_unique<RunAccount>();
    a->cfg = InternAccount(*ac);  // the shared workers' pools are keyed by this pointer
    a->weight = ra.weight;
    // Rate, today's count and pause: the process's, loaded from the store on first use.
    ASSIGN_OR_RETURN(a->state, AccountStates::Process().Acquire(store, *ac, RunnerNowUs(),
                                                                       &config.warmups));
    if (!options.dry_run) a->DailyLimitGauge(a->state->daily().Allowed(RunnerNowUs()) ? 0 : 1);
    s.accounts.push_back(std::move(a));
  }
  uint32_t workers = options.workers ? options.workers : config.workers;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  workers = std::min<uint32_t>(workers, kVirtualShards);

  // One run of a campaign at a time on this data_dir (this process or another).
  CampaignRunLock own_lock;
  if (!options.dry_run && options.run_lock == nullptr) {
    ASSIGN_OR_RETURN(own_lock, LockCampaignRun(store->data_dir(), campaign.id, ProcessClock().Now()));
  }
  // The SMTP workers of this process, shared with every other campaign running in it (not for a
  // dry run). Their number decides the feeders'.
  std::shared_ptr<WorkerGroup> group;
  if (!options.dry_run) {
    SenderOptions so;
    so.timeouts = config.smtp_timeouts;
    so.completion_batch = config.sending.completion_batch;
    so.completion_wait = config.sending.completion_wait;
    so.workers = workers;
    ASSIGN_OR_RETURN(group, AcquireSharedWorkers(so));
    workers = static_cast<uint32_t>(std::min<size_t>(group->size(), kVirtualShards));
  }
  s.workers = workers;

  // Campaign record: start or resume.
  ASSIGN_OR_RETURN(auto existing, cstore.Get(campaign.id));
  CampaignRecord rec;
  uint64_t markers = 0;
  ASSIGN_OR_RETURN(ProgressCounts base, cstore.Count(campaign.id));
  if (existing) {
    rec = *existing;
    if (rec.list != campaign.list)
      return absl::FailedPreconditionError(absl::StrCat(
          "campaign \"", campaign.id, "\" was started on list \"", rec.list, "\", not \"",
          campaign.list, "\": use a new id"));
    if (rec.state == CampaignState::kCancelled && !options.dry_run)
      return absl::FailedPreconditionError(
          absl::StrCat("campaign \"", campaign.id, "\" was cancelled; use a new id to send again"));
    markers = base.in_flight;
  } else {
    rec.id = campaign.id;
    rec.list = campaign.list;
    rec.started_at = NowUnixSeconds();
  }
  ASSIGN_OR_RETURN(uint64_t list_size, rstore.ListSize(campaign.list));
  for (int i = 0; i < RunState::kOutcomes; ++i) s.count[i] = static_cast<int64_t>(base.by_outcome[i]);
  s.deferred_final = static_cast<int64_t>(base.deferred_final);
  if (!options.dry_run && !(existing && rec.state == CampaignState::kDone)) {
    rec.state = CampaignState::kRunning;
    rec.pause_reason.clear();
    rec.finished_at = 0;
    rec.next_action_at = 0;
    rec.auto_resume = false;
    if (rec.started_at == 0) rec.started_at = NowUnixSeconds();
    rec.list_size = list_size;
    rec.runs++;
    rec.route = s.route->name;
    rec.skip_preflight = rec.skip_preflight || options.skip_preflight;
    rec.in_flight_at_resume += markers;
    if (!options.campaign_file.empty()) rec.campaign_file = options.campaign_file;
    if (!options.config_file.empty()) rec.config_file = options.config_file;
    // The markers just counted into in_flight_at_resume go in the same write.
    RETURN_IF_ERROR(cstore.PutClearingAttempts(rec));
  }
  s.run_number = rec.runs;

  CampaignProgress snap;
  snap.id = campaign.id;
  snap.list = campaign.list;
  snap.route = s.route->name;
  snap.dry_run = options.dry_run;
  snap.preflight_skipped = rec.skip_preflight || options.skip_preflight;
  snap.list_size = list_size;
  snap.in_flight_at_resume = markers;
  const auto t0 = std::chrono::steady_clock::now();
  RunMonitor monitor(&s, options, &snap, t0);
  if (existing && rec.state == CampaignState::kDone && !options.dry_run) {
    monitor.Fill(t0);
    snap.state = "done";
    return snap;
  }

  s.window = campaign.window ? &*campaign.window : nullptr;
  // The day's caps leave less room than recipients left: engaged first, the rest held back.
  std::unique_ptr<DayPlan> plan;
  if (!options.dry_run) {
    ASSIGN_OR_RETURN(plan, PlanDay(&s, RunnerNowUs()));
    s.plan = plan.get();
  }

  s.render.set_stage_cpu(&s.cpu);
  const uint64_t process_cpu0 = ProcessCpuNs();
  const uint64_t smtp_cpu0 = WorkersCpuNs(group.get(), workers);
  std::vector<std::unique_ptr<Feeder>> feeders;
  for (uint32_t i = 0; i < workers; ++i)
    feeders.push_back(std::make_unique<Feeder>(&s, i, options.dry_run ? nullptr : &group->worker(i)));
  std::atomic<int> running{static_cast<int>(workers)};
  std::mutex done_mu;
  std::condition_variable done_cv;  // the monitor wakes as soon as the last feeder is done
  std::vector<std::thread> threads;
  for (auto& f : feeders)
    threads.emplace_back([&, fp = f.get()] {
      fp->Run();
      {
        std::lock_guard<std::mutex> l(done_mu);
        running--;
      }
      done_cv.notify_all();
      s.render.Help();  // render for the feeders still running
    });
  // Fewer workers than cores: the other cores render (and sign) for the feeders.
  const uint32_t cores = std::max(1u, std::thread::hardware_concurrency());
  if (!options.dry_run)
    for (uint32_t i = workers; i < cores; ++i) threads.emplace_back([&s] { s.render.Help(); });

  while (running.load() > 0) {
    {
      std::unique_lock<std::mutex> l(done_mu);
      done_cv.wait_for(l, std::chrono::milliseconds(100), [&] { return running.load() == 0; });
    }
    monitor.Tick(std::chrono::steady_clock::now());
  }
  const auto finished = std::chrono::steady_clock::now();  // the last verdict of this run
  s.render.Stop();
  for (auto& t : threads) t.join();
  snap.stage_cpu = StageFigures(s, WorkersCpuNs(group.get(), workers) - smtp_cpu0,
                                ProcessCpuNs() - process_cpu0);
  // Every message of this run has been reported (feeders end with nothing in flight); the last
  // run of the process to let go of the workers drains and stops them.
  group.reset();

  monitor.Fill(std::chrono::steady_clock::now());
  LatencyHistogram latency;
  for (const auto& f : feeders) latency.Merge(f->latency());
  SetLatency(latency, &snap);
  if (!s.fatal.empty()) {
    rec.state = CampaignState::kPaused;
    rec.pause_reason = s.stop_reason;
    if (!options.dry_run) monitor.Warn("pause_record", "recording the pause", cstore.Put(rec));
    if (options.write_status_file) RemoveStatusFile(store->data_dir(), campaign.id);
    return absl::InternalError(absl::StrCat("campaign ", campaign.id, ": ", s.fatal));
  }
  if (options.dry_run) {
    snap.state = "dry-run";
    return snap;
  }
  switch (s.stop_kind()) {
    case StopKind::kCancel:
      rec.state = CampaignState::kCancelled;
      rec.finished_at = NowUnixSeconds();
      break;
    case StopKind::kPause:
      rec.state = CampaignState::kPaused;
      break;
    case StopKind::kNone:
      if (plan && plan->held() > 0) {  // the rest goes on at the next UTC day
        const int64_t next_day_s = (DailyCap::DayOf(RunnerNowUs()) + 1) * 86400;
        s.Hold(next_day_s * 1'000'000,
               HeldReason(*plan, config.sending.engaged_days, next_day_s));
      }
      if (s.wait_until_us != 0) {  // only retries far ahead left
        rec.state = CampaignState::kWaiting;
        rec.next_action_at = (s.wait_until_us + 999'999) / 1'000'000;
        rec.auto_resume = true;
      } else {
        rec.state = CampaignState::kDone;
        rec.finished_at = NowUnixSeconds();
      }
      break;
  }
  rec.pause_reason = s.stop_reason;
  if (rec.state == CampaignState::kWaiting && rec.pause_reason.empty())
    rec.pause_reason = s.hold_reason;  // a window closed, the day's caps ("" for retries)
  if (rec.state == CampaignState::kPaused) {
    // A pause for want of accounts ends when the first comes back (if one has a known end), one
    // for a daemon stop when it starts again; others by hand.
    const PauseEnd end = s.fatal.empty() ? s.stop_pause_end : PauseEnd::kByHand;
    rec.auto_resume =
        end == PauseEnd::kRestart || (end == PauseEnd::kAccountsBack && s.resume_at_us != 0);
    rec.next_action_at = rec.auto_resume && end == PauseEnd::kAccountsBack
                             ? (s.resume_at_us + 999'999) / 1'000'000
                             : 0;
  } else if (rec.state != CampaignState::kWaiting) {
    rec.auto_resume = false;
    rec.next_action_at = 0;
  }
  RETURN_IF_ERROR(cstore.Put(rec));
  snap.state = std::string(CampaignStateName(rec.state));
  if (rec.state == CampaignState::kDone)
    snap.time_to_finish_s = std::chrono::duration<double>(finished - t0).count();
  snap.pause_reason = rec.pause_reason;
  snap.next_action_at = rec.next_action_at;
  if (options.write_status_file) {
    monitor.Warn("status_file", "writing the status file",
                 WriteStatusFile(store->data_dir(), campaign.id, snap.ToJson()));
    RemoveStatusFile(store->data_dir(), campaign.id);
  }
  return snap;
}

}  // namespace salvo
