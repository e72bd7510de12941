// Engaged-first day plan (see day_plan.h).
#include "shard/runner/day_plan.h"

#include <algorithm>
#include <queue>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/base/rfc3339.h"
#include "engine/base/shard.h"
#include "store/event_store.h"

namespace salvo {
namespace {

// Hashes of the addresses that opened or clicked since `since_us`.
absl::StatusOr<absl::flat_hash_set<uint64_t>> EngagedSince(Store* store, int64_t since_us) {
  absl::flat_hash_set<uint64_t> out;
  absl::Status st = EventStore(store).ForEachSince(since_us, [&](const StoredEvent& e) {
    if (e.kind == "click" || e.kind == "open") out.insert(AddressHash(e.address));
    return out.size() < DayPlan::kMaxEngaged;
  });
  if (!st.ok()) return st;
  return out;
}

// A candidate's rank: engaged first, then the latest opt-in; the key breaks ties.
struct Candidate {
  bool engaged;
  int64_t opted_in_us;
  std::string key;
  bool operator<(const Candidate& o) const {  // "better than" for the min-heap's top = worst
    return std::tie(engaged, opted_in_us, o.key) > std::tie(o.engaged, o.opted_in_us, key);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<DayPlan>> PlanDay(RunState* s, int64_t now_us) {
  uint64_t room = 0;
  for (const auto& a : s->accounts) {
    uint64_t r = a->state->RemainingToday(now_us);
    if (a->state->has_ip_warmups()) {  // the account sends at most what its IPs may
      uint64_t ips = 0;
      for (size_t i = 0; i < a->cfg->source_ips.size() && ips != UINT64_MAX; ++i) {
        IpWarmup* w = a->state->ip_warmup(static_cast<int>(i));
        const uint64_t n = w ? w->RemainingToday(now_us) : UINT64_MAX;
        ips = n == UINT64_MAX ? UINT64_MAX : ips + n;
      }
      r = std::min(r, ips);
    }
    if (r == UINT64_MAX) return nullptr;  // an account without a cap: everyone fits
    room += r;
  }
  // No room at all: nothing to choose; the run pauses at the caps naming the accounts, as
  // without a plan, and goes on by itself at the next UTC day.
  if (room == 0 || room > DayPlan::kMaxRoom) return nullptr;
  absl::flat_hash_set<uint64_t> engaged;
  const uint32_t days = s->config->sending.engaged_days;
  if (days > 0) {
    auto e = EngagedSince(s->store, now_us - int64_t{days} * 86400 * 1'000'000);
    if (!e.ok()) return e.status();
    engaged = std::move(*e);
  }
  auto plan = std::make_unique<DayPlan>();
  plan->room = room;
  // The best `room` candidates: a heap whose top is the worst kept.
  std::priority_queue<Candidate> best;
  std::vector<Recipient> rs;
  const size_t batch = std::max<size_t>(64, s->config->sending.batch_size);
  for (uint32_t shard = 0; shard < kVirtualShards; ++shard) {
    std::string after;
    do {
      rs.clear();
      if (absl::Status st = s->rstore->ScanListShard(s->campaign->list, shard, after, batch, &rs);
          !st.ok())
        return st;
      if (rs.empty()) break;
      after = rs.back().key;
      std::vector<std::optional<ProgressRecord>> progress;
      if (absl::Status st = s->ProgressOf(rs, &progress); !st.ok()) return st;
      std::vector<std::string_view> keys;
      for (const auto& r : rs) keys.push_back(r.key);
      std::vector<bool> suppressed;
      if (absl::Status st = s->sstore->CheckBatch(keys, &suppressed); !st.ok()) return st;
      for (size_t i = 0; i < rs.size(); ++i) {
        const Recipient& r = rs[i];
        if (progress[i] && progress[i]->final) continue;
        if (suppressed[i] || !r.HasConsent() || !s->segment.Matches(r)) continue;
        plan->candidates++;
        Candidate c{engaged.contains(AddressHash(r.key)),
                    ParseRfc3339Micros(r.consent.opted_in_at).value_or(0), r.key};
        if (best.size() < room) {
          best.push(std::move(c));
        } else if (room > 0 && c < best.top()) {
          best.pop();
          best.push(std::move(c));
        }
      }
    } while (rs.size() == batch);
  }
  if (plan->candidates <= room) return nullptr;
  while (!best.empty()) {
    plan->engaged_chosen += best.top().engaged;
    plan->chosen.insert(best.top().key);
    best.pop();
  }
  return plan;
}

std::string HeldReason(const DayPlan& p, uint32_t engaged_days, int64_t until_s) {
  return absl::StrCat("daily caps: ", p.held(), " recipients held back until ",
                      FormatUnixTime(until_s), " (today's room ", p.room, ": ", p.engaged_chosen,
                      " engaged in the last ", engaged_days, " days, ",
                      p.chosen.size() - p.engaged_chosen, " by opt-in date)");
}

}  // namespace salvo
