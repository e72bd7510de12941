// shard/runner: engaged first. When the day's caps (daily_limit, warm-up) leave less room than
// the campaign has recipients left, a run sends to the best of them only: recipients who opened
// or clicked in the last [sending] engaged_days days (tracking events of any campaign), then the
// most recently opted-in; the rest are held back for the next UTC day.
//
// Memory is bounded by the day's room, not the list: one scan of the list (the recipients'
// records and progress, batch by batch, as the feeders read them) keeps the best `room`
// candidates in a bounded heap (O(room) keys), with the engaged set as 64-bit hashes of the
// addresses (at most kMaxEngaged). Above kMaxRoom there is no plan (key order, as without caps).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "shard/runner/run_state.h"

namespace salvo {

struct DayPlan {
  static constexpr uint64_t kMaxRoom = 1'000'000;
  static constexpr size_t kMaxEngaged = 20'000'000;

  absl::flat_hash_set<std::string> chosen;  // keys to send to today
  uint64_t room = 0;            // messages the route's accounts may still send today
  uint64_t candidates = 0;      // recipients left to send to
  uint64_t engaged_chosen = 0;  // of chosen: opened or clicked recently
  uint64_t held() const { return candidates - chosen.size(); }
  bool Chosen(const std::string& key) const { return chosen.contains(key); }
};

// The plan of the run at `now_us`, or null when everyone left fits in today's room, an account
// of the route has no cap, or the room is 0 or above kMaxRoom. engaged_days = 0: by opt-in date only.
[[nodiscard]] absl::StatusOr<std::unique_ptr<DayPlan>> PlanDay(RunState* s, int64_t now_us);

// "daily caps: 900 recipients held back until 2026-12-02T00:00:00Z (today's room 100: 100
// engaged in the last 30 days, 0 by opt-in date)"
std::string HeldReason(const DayPlan& p, uint32_t engaged_days, int64_t until_s);

}  // namespace salvo
