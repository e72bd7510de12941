#include "tools/salvo/scheduler.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "shard/campaign_runner.h"
#include "store/link_store.h"
#include "tools/salvo/campaign_source.h"

namespace salvo {
namespace {

// The pause reason of the runs the daemon's stop interrupts.
constexpr char kStoppedReason[] = "salvo serve stopped; resumed when it starts again";

}  // namespace

Scheduler::Due Scheduler::WhatNow(const CampaignRecord& rec, int64_t now, int64_t* next) {
  *next = 0;
  switch (rec.state) {
    case CampaignState::kScheduled:
      if (now >= rec.next_action_at) return Due::kStart;
      *next = rec.next_action_at;
      return Due::kNothing;
    case CampaignState::kRunning:  // no run holds it (checked by the caller): it was cut short
      return Due::kResume;
    case CampaignState::kWaiting:
    case CampaignState::kPaused:
      if (!rec.auto_resume) return Due::kNothing;
      if (now >= rec.next_action_at) return Due::kResume;
      *next = rec.next_action_at;
      return Due::kNothing;
    case CampaignState::kDone:
    case CampaignState::kCancelled:
      return Due::kNothing;
  }
  return Due::kNothing;
}

void Scheduler::Log(const std::string& line) {
  std::fprintf(log_, "salvo serve: %s\n", line.c_str());
  std::fflush(log_);
}

void Scheduler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

std::vector<std::string> Scheduler::Running() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, t] : runs_)
    if (!finished_.count(id)) ids.push_back(id);
  return ids;
}

void Scheduler::Loop() {
  while (!stopping_.load()) {
    const int64_t next = Tick();
    // Joins the runs that ended (outside the lock: their last step takes it).
    std::vector<std::thread> ended;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const std::string& id : finished_) {
        auto it = runs_.find(id);
        if (it == runs_.end()) continue;
        ended.push_back(std::move(it->second));
        runs_.erase(it);
      }
      finished_.clear();
    }
    for (auto& t : ended) t.join();
    std::unique_lock<std::mutex> l(mu_);
    // Looks again at the next planned action, when woken, and at least every second (a
    // campaign may be scheduled by a command, or a run may end).
    int64_t wait_ms = 1000;
    if (next > 0) {
      const int64_t until = (next - NowUnixSeconds()) * 1000;
      wait_ms = std::clamp<int64_t>(until, 10, 1000);
    }
    cv_.wait_for(l, std::chrono::milliseconds(wait_ms), [&] { return wake_ || stopping_.load(); });
    wake_ = false;
  }
}

int64_t Scheduler::Tick() {
  CampaignStore cs(store_);
  auto recs = cs.List();
  if (!recs.ok()) {
    Log(absl::StrCat("calendar: cannot list campaigns: ", recs.status().message()));
    return 0;
  }
  const int64_t now = NowUnixSeconds();
  int64_t next_all = 0;
  for (const CampaignRecord& rec : *recs) {
    int64_t next = 0;
    const Due due = WhatNow(rec, now, &next);
    if (next > 0 && (next_all == 0 || next < next_all)) next_all = next;
    if (due == Due::kNothing || stopping_.load()) continue;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (runs_.count(rec.id)) continue;  // ours, still running or being joined
    }
    // Held for the whole run: a `salvo send` of it meanwhile is refused, and a run that holds
    // it already (a send through this daemon) is left alone.
    auto lock = LockCampaignRun(store_->data_dir(), rec.id, ProcessClock().Now());
    if (!lock.ok()) continue;
    std::lock_guard<std::mutex> l(mu_);
    runs_.emplace(rec.id, std::thread([this, id = rec.id, lk = std::move(*lock), due]() mutable {
                    Run(id, std::move(lk), due);
                    {
                      std::lock_guard<std::mutex> g(mu_);
                      finished_.insert(id);
                    }
                    Wake();
                  }));
  }
  return next_all;
}

void Scheduler::PauseForError(const std::string& id, const std::string& reason) {
  // A campaign that cannot run pauses with the reason rather than being tried every second.
  Log(absl::StrCat("campaign ", id, ": ", reason));
  CampaignStore cs(store_);
  auto rec = cs.Get(id);
  if (!rec.ok() || !rec->has_value()) return;
  CampaignRecord r = **rec;
  if (r.state == CampaignState::kDone || r.state == CampaignState::kCancelled) return;
  r.state = CampaignState::kPaused;
  r.auto_resume = false;
  r.next_action_at = 0;
  r.pause_reason = reason;
  if (absl::Status st = cs.Put(r); !st.ok())
    Log(absl::StrCat("campaign ", id, ": cannot record the pause: ", st.message()));
}

void Scheduler::Run(std::string id, CampaignRunLock lock, Due why) {
  auto loaded = LoadStoredCampaign(store_, id, config_);
  if (!loaded.ok()) {
    PauseForError(id, absl::StrCat("cannot load the campaign: ", loaded.status().message()));
    return;
  }
  if (absl::Status st = LinkStore(store_).Put(id, loaded->compiled->links()); !st.ok()) {
    PauseForError(id, absl::StrCat("cannot store its links: ", st.message()));
    return;
  }
  Log(absl::StrCat("campaign ", id, why == Due::kStart ? ": starting (scheduled)" : ": resuming"));
  RunnerOptions opt;
  opt.campaign_file = loaded->snapshot.campaign_path;
  opt.config_file = loaded->snapshot.config_file;
  opt.run_lock = &lock;
  opt.wait_horizon_s = absl::ToInt64Seconds(config_.sending.hold_retries);
  opt.interrupt = &stopping_;
  opt.interrupt_reason = kStoppedReason;
  opt.interrupt_pause_end = PauseEnd::kRestart;  // recorded as auto_resume, due at once
  auto result = RunCampaign(config_, store_, loaded->campaign, loaded->compiled, opt);
  if (!result.ok()) {
    PauseForError(id, std::string(result.status().message()));
    return;
  }
  std::string line = absl::StrCat("campaign ", id, ": ", result->state, ", delivered ",
                                  result->delivered, ", bounced ", result->bounced, ", failed ",
                                  result->failed, ", deferred ", result->deferred);
  if (result->state == "waiting" || (result->state == "paused" && result->next_action_at > 0))
    absl::StrAppend(&line, ", goes on at ", FormatUnixTime(result->next_action_at));
  if (!result->pause_reason.empty()) absl::StrAppend(&line, " (", result->pause_reason, ")");
  Log(line);
}

std::vector<std::string> Scheduler::Stop() {
  if (stopping_.exchange(true)) return {};
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::map<std::string, std::thread> runs;
  {
    std::lock_guard<std::mutex> l(mu_);
    runs.swap(runs_);
  }
  for (auto& [id, t] : runs) t.join();
  // The runs the stop paused were recorded to resume at once (PauseEnd::kRestart): the calendar
  // resumes them when the daemon starts again.
  std::vector<std::string> paused;
  CampaignStore cs(store_);
  for (auto& [id, t] : runs) {
    auto rec = cs.Get(id);
    if (rec.ok() && rec->has_value() && (*rec)->state == CampaignState::kPaused &&
        (*rec)->auto_resume && (*rec)->next_action_at == 0)
      paused.push_back(id);
  }
  return paused;
}

}  // namespace salvo
