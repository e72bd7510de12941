// A campaign's progress as JSON and as the store alone knows it (see shard/campaign_runner.h).
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/base/json.h"
#include "engine/base/status_macros.h"
#include "shard/campaign_runner.h"
#include "store/campaign_store.h"
#include "store/recipient_store.h"

namespace salvo {
namespace {

// `v` formatted with `fmt`, or null when negative (not measured).
std::string OrNull(double v, const absl::FormatSpec<double>& fmt) {
  return v < 0 ? std::string("null") : absl::StrFormat(fmt, v);
}

}  // namespace

std::string CampaignProgress::ToJson() const {
  std::string j = absl::StrCat(
      "{\"id\":", JsonString(id), ",\"list\":", JsonString(list), ",\"route\":",
      JsonString(route), ",\"state\":\"", state, "\",\"pause_reason\":",
      JsonString(pause_reason), ",\"next_action_at\":", next_action_at,
      ",\"dry_run\":", dry_run ? "true" : "false",
      ",\"preflight_skipped\":", preflight_skipped ? "true" : "false",
      ",\"pid\":", getpid(), ",\"list_size\":", list_size, ",\"eligible\":", Eligible(),
      ",\"delivered\":", delivered, ",\"bounced\":", bounced, ",\"failed\":", failed,
      ",\"deferred\":", deferred, ",\"deferred_final\":", deferred_final,
      ",\"suppressed\":", suppressed, ",\"no_consent\":", no_consent,
      ",\"outside_segment\":", outside_segment, ",\"in_flight\":", in_flight,
      ",\"would_send\":", would_send, ",\"pending\":", Pending(),
      ",\"in_flight_at_resume\":", in_flight_at_resume,
      ",\"throttle_events\":", throttle_events, ",\"held_back\":", held_back, ",\"rate\":", absl::StrFormat("%.1f", rate),
      ",\"elapsed_s\":", absl::StrFormat("%.1f", elapsed_s),
      ",\"eta_s\":", absl::StrFormat("%.0f", eta_s), ",\"transactions\":", transactions,
      ",\"latency_p50_ms\":", OrNull(latency_p50_ms, "%.2f"),
      ",\"latency_p99_ms\":", OrNull(latency_p99_ms, "%.2f"),
      ",\"latency_max_ms\":", OrNull(latency_max_ms, "%.2f"),
      ",\"time_to_finish_s\":", OrNull(time_to_finish_s, "%.3f"), ",\"accounts\":[");
  for (size_t i = 0; i < accounts.size(); ++i) {
    const auto& a = accounts[i];
    absl::StrAppend(&j, i ? "," : "", "{\"name\":", JsonString(a.name), ",\"paused\":",
                    a.paused ? "true" : "false", ",\"reason\":", JsonString(a.reason),
                    ",\"attempts\":", a.attempts, "}");
  }
  absl::StrAppend(&j, "],\"throttles\":[");
  for (size_t i = 0; i < throttles.size(); ++i) {
    const auto& t = throttles[i];
    absl::StrAppend(&j, i ? "," : "", "{\"account\":", JsonString(t.account),
                    ",\"source_ip\":", JsonString(t.source_ip), ",\"domain\":",
                    JsonString(t.domain), ",\"events\":", t.events, ",\"rate\":",
                    absl::StrFormat("%.2f", t.rate), "}");
  }
  absl::StrAppend(&j, "]");
  if (stage_cpu.set) {
    const StageCpuUs& c = stage_cpu;
    absl::StrAppend(&j, ",\"stage_cpu_us_per_msg\":",
                    absl::StrFormat("{\"messages\":%d,\"scan\":%.2f,\"decide\":%.2f,"
                                    "\"render\":%.2f,\"sign\":%.2f,\"smtp\":%.2f,"
                                    "\"progress\":%.2f,\"other\":%.2f,\"total\":%.2f}",
                                    c.messages, c.scan, c.decide, c.render, c.sign, c.smtp,
                                    c.progress, c.other, c.total));
  }
  absl::StrAppend(&j, "}");
  return j;
}

[[nodiscard]]
absl::StatusOr<CampaignProgress> CampaignStatusFromStore(Store* store, const std::string& id) {
  CampaignStore cs(store);
  ASSIGN_OR_RETURN(auto rec, cs.Get(id));
  if (!rec) return absl::NotFoundError(absl::StrCat("no campaign \"", id, "\" in this data_dir"));
  ASSIGN_OR_RETURN(ProgressCounts c, cs.Count(id));
  CampaignProgress p;
  p.id = id;
  p.list = rec->list;
  p.state = std::string(CampaignStateName(rec->state));
  p.pause_reason = rec->pause_reason;
  p.next_action_at = rec->next_action_at;
  p.route = rec->route;
  p.preflight_skipped = rec->skip_preflight;
  RecipientStore rs(store);
  auto size = rs.ListSize(rec->list);
  p.list_size = size.ok() ? *size : rec->list_size;
  auto o = [&](Outcome x) { return c.by_outcome[static_cast<int>(x)]; };
  p.delivered = o(Outcome::kDelivered);
  p.bounced = o(Outcome::kBounced);
  p.failed = o(Outcome::kFailed);
  p.deferred = o(Outcome::kDeferred);
  p.deferred_final = c.deferred_final;
  p.suppressed = o(Outcome::kSuppressed);
  p.no_consent = o(Outcome::kNoConsent);
  p.outside_segment = o(Outcome::kOutsideSegment);
  p.in_flight = 0;  // markers of a dead run are reported below, not as in flight
  p.in_flight_at_resume = rec->in_flight_at_resume + c.in_flight;
  if (rec->finished_at && rec->started_at) p.elapsed_s = static_cast<double>(rec->finished_at - rec->started_at);
  return p;
}

}  // namespace salvo
