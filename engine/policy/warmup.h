// Warm-up of a new sending account or source IP ([[warmup]] in salvo.toml): a day-by-day cap
// (the built-in "standard" curve or an explicit `daily` list) counted from `start` (UTC day 1),
// and a reply-rate guard that halts the day's sending when the bounces or complaints of the last
// hour pass a threshold. Pure: days and times come in as numbers.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/config/config.h"

namespace salvo {

// The "standard" curve: messages per UTC day for day 1, 2, ... (README: where the numbers come
// from). After its last day there is no warm-up cap.
const std::vector<uint64_t>& StandardWarmupCurve();

// Day number of unix day `day` in the warm-up that starts on `start_day` (1 on the start day).
// Days before the start count as day 1.
int64_t WarmupDayIndex(int64_t start_day, int64_t day);

// The warm-up cap of unix day `day` (days since 1970-01-01 UTC); nullopt when the curve or list
// has ended (no warm-up cap any more).
std::optional<uint64_t> WarmupCapOnDay(const WarmupConfig& w, int64_t day);

// Checks a [[warmup]] (start date, schedule or daily, rates) against the config's accounts and
// source IPs; errors name the file, line and key.
[[nodiscard]] absl::Status ValidateWarmup(const Config& c, WarmupConfig* w);

// Bounces and complaints against messages sent over the last hour, in one-minute buckets.
// Thread-safe (a mutex: verdicts arrive from every feeder).
class ReplyRateGuard {
 public:
  void OnSent(int64_t now_us) { Add(now_us, 1, 0, 0); }
  void OnBounce(int64_t now_us) { Add(now_us, 0, 1, 0); }
  void OnComplaint(int64_t now_us) { Add(now_us, 0, 0, 1); }
  // True when, over the last hour, at least w.min_sample messages were sent and the bounce or
  // complaint rate passes w.max_bounce_rate / w.max_complaint_rate (a limit of 0 is off);
  // *why says which and by how much.
  bool Tripped(int64_t now_us, const WarmupConfig& w, std::string* why) const;

 private:
  struct Bucket {
    int64_t minute = -1;
    uint64_t sent = 0, bounced = 0, complained = 0;
  };
  void Add(int64_t now_us, uint64_t s, uint64_t b, uint64_t c);

  mutable std::mutex mu_;
  Bucket buckets_[60];  // guarded by mu_; index minute % 60
};

}  // namespace salvo
