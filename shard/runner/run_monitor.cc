#include "shard/runner/run_monitor.h"

#include <algorithm>
#include <cstdio>

#include "engine/metrics/salvo_metrics.h"
#include "store/run_control.h"

namespace salvo {

RunMonitor::RunMonitor(RunState* s, const RunnerOptions& options, CampaignProgress* snap,
                       TimePoint start)
    : s_(s), options_(options), snap_(snap), start_(start), last_tick_(start) {}

void RunMonitor::Warn(std::string_view what, std::string_view doing, const absl::Status& st) {
  if (st.ok()) return;
  metrics::Metrics().errors->WithLabels({"runner", what}).Inc();
  if (std::find(warned_.begin(), warned_.end(), what) != warned_.end()) return;
  warned_.emplace_back(what);
  std::fprintf(stderr, "salvo: campaign %s: %.*s: %s\n", s_->campaign->id.c_str(),
               static_cast<int>(doing.size()), doing.data(), std::string(st.message()).c_str());
}

void RunMonitor::Fill(TimePoint now) {
  s_->Fill(snap_);
  snap_->rate = rate_;
  snap_->elapsed_s = std::chrono::duration<double>(now - start_).count();
  const uint64_t left = snap_->Pending() + snap_->in_flight;
  snap_->eta_s = rate_ > 0 ? left / rate_ : -1;
}

void RunMonitor::TakeControlRequests() {
  auto req = salvo::TakeControlRequests(s_->store->data_dir(), s_->campaign->id);
  if (!req.ok()) {
    Warn("control_requests", "reading control requests", req.status());
    return;
  }
  for (const auto& e : req->suppressions)
    Warn("queued_suppression", "adding a suppression queued by the CLI", s_->sstore->Add(e));
  if (req->cancel) s_->RequestStop(StopKind::kCancel, "cancelled by operator");
  if (req->pause)
    s_->RequestStop(StopKind::kPause,
                    req->pause_reason.empty() ? "paused by operator" : req->pause_reason);
}

void RunMonitor::Tick(TimePoint now) {
  if (options_.interrupt && options_.interrupt->load())
    s_->RequestStop(StopKind::kPause, options_.interrupt_reason, options_.interrupt_pause_end);
  const double since = std::chrono::duration<double>(now - last_tick_).count();
  if (since < 1.0) return;
  last_tick_ = now;
  const int64_t v = s_->verdicts.load();
  const double inst = (v - last_verdicts_) / since;
  last_verdicts_ = v;
  rate_ = rate_ == 0 ? inst : 0.5 * rate_ + 0.5 * inst;
  const bool files = options_.write_status_file && !options_.dry_run;
  if (files) TakeControlRequests();
  Fill(now);
  snap_->state =
      options_.dry_run ? "dry-run" : (s_->stop_kind() == StopKind::kNone ? "running" : "stopping");
  if (files)
    Warn("status_file", "writing the status file",
         WriteStatusFile(s_->store->data_dir(), s_->campaign->id, snap_->ToJson()));
  if (options_.on_progress) options_.on_progress(*snap_);
}

}  // namespace salvo
