#include "engine/base/clock.h"
#include "shard/runner/run_state.h"
#include "shard/runner/day_plan.h"

#include <algorithm>
#include <chrono>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/metrics/salvo_metrics.h"

namespace salvo {

int64_t RunnerNowUs() {
  return NowUnixMicros();
}

std::string PauseEndText(int64_t until) {
  if (until == 0 || until == AccountState::kManual) return "until resumed";
  return absl::StrCat("until ", FormatUnixTime(until));
}

void RunAccount::DailyLimitGauge(double v) const {
  metrics::Metrics().accounts_paused->WithLabels({cfg->name, "daily_limit"}).Set(v);
}

void RunState::RequestStop(StopKind kind, std::string reason, PauseEnd end) {
  std::lock_guard<std::mutex> l(mu);
  if (stop.load() >= static_cast<int>(kind)) return;
  stop = static_cast<int>(kind);
  stop_reason = std::move(reason);
  stop_pause_end = end;
}

void RunState::WaitUntil(int64_t due_us) { Hold(due_us, std::string()); }

void RunState::Hold(int64_t due_us, std::string reason) {
  std::lock_guard<std::mutex> l(mu);
  if (wait_until_us == 0 || due_us < wait_until_us) {
    wait_until_us = due_us;
    hold_reason = std::move(reason);
  }
}

void RunState::Fatal(const absl::Status& st) {
  {
    std::lock_guard<std::mutex> l(mu);
    if (fatal.empty()) fatal = std::string(st.message());
  }
  RequestStop(StopKind::kPause, absl::StrCat("error: ", st.message()));
}

void RunState::Change(const std::optional<ProgressRecord>& old, Outcome now, bool final_deferred) {
  if (old && old->outcome != Outcome::kPending) {
    count[static_cast<int>(old->outcome)]--;
    if (old->outcome == Outcome::kDeferred && old->final) deferred_final--;
  }
  if (now != Outcome::kPending) count[static_cast<int>(now)]++;
  if (now == Outcome::kDeferred && final_deferred) deferred_final++;
}

absl::Status RunState::ProgressOf(const std::vector<Recipient>& rs,
                                  std::vector<std::optional<ProgressRecord>>* out) const {
  std::vector<uint32_t> shards;
  std::vector<std::string_view> keys;
  shards.reserve(rs.size());
  keys.reserve(rs.size());
  for (const auto& r : rs) {
    shards.push_back(r.shard);
    keys.push_back(r.key);
  }
  return cstore->GetProgress(campaign->id, shards, keys, out);
}

void RunState::Fill(CampaignProgress* p) {
  auto nonneg = [](int64_t v) { return static_cast<uint64_t>(std::max<int64_t>(0, v)); };
  auto c = [&](Outcome o) { return nonneg(count[static_cast<int>(o)].load()); };
  p->delivered = c(Outcome::kDelivered);
  p->bounced = c(Outcome::kBounced);
  p->failed = c(Outcome::kFailed);
  p->deferred = c(Outcome::kDeferred);
  p->deferred_final = nonneg(deferred_final.load());
  p->suppressed = c(Outcome::kSuppressed);
  p->no_consent = c(Outcome::kNoConsent);
  p->outside_segment = c(Outcome::kOutsideSegment);
  p->in_flight = nonneg(in_flight.load());
  p->would_send = nonneg(would_send.load());
  p->throttle_events = nonneg(throttle_events.load());
  p->held_back = nonneg(held_window.load()) + (plan ? plan->held() : 0);

  const int64_t now_s = RunnerNowUs() / 1'000'000;
  std::lock_guard<std::mutex> l(mu);
  p->accounts.clear();
  for (const auto& a : accounts) {
    const bool paused = a->state->PausedAt(now_s);
    const AccountRecord r = paused ? a->state->record() : AccountRecord{};
    p->accounts.push_back(
        {a->cfg->name, paused,
         paused ? absl::StrCat(r.reason, " ", PauseEndText(r.until), ": ", r.reply) : "",
         a->attempts.load()});
  }
  p->throttles.clear();
  for (const auto& [k, t] : throttles) p->throttles.push_back(t);
  std::sort(p->throttles.begin(), p->throttles.end(), [](const auto& a, const auto& b) {
    return std::tie(a.account, a.source_ip, a.domain) < std::tie(b.account, b.source_ip, b.domain);
  });
  p->pause_reason = stop_reason;
}

}  // namespace salvo
