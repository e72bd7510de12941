// Rate limits for the send path, driven by a caller-supplied clock (microseconds) so they are
// pure and testable: token buckets (per account, per account x source IP x destination domain),
// a daily cap, an adaptive rate that backs off on throttling replies and recovers gradually, and
// the retry backoff schedule for deferrals.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "engine/config/config.h"

namespace salvo {

// Token bucket: `rate` tokens per second, at most `burst` stored. rate <= 0 means unlimited.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double rate, double burst);

  void SetRate(double rate);  // keeps the current tokens (capped at the new burst)
  double rate() const { return rate_; }
  bool unlimited() const { return rate_ <= 0; }
  // Takes one token if available at `now_us`.
  bool TryTake(int64_t now_us);
  // When the next token will be available (now_us if already).
  int64_t NextAvailable(int64_t now_us);

 private:
  void Refill(int64_t now_us);
  double rate_ = 0;
  double burst_ = 1;
  double tokens_ = 1;
  int64_t last_us_ = 0;
};

// A rate shared by many threads without a lock (GCRA, the "virtual scheduling" form of a token
// bucket): `rate` messages per second with bursts of up to `burst`. One per account and process,
// so that every campaign running in the process together stays within the account's
// rate_per_second. rate <= 0 means unlimited.
class SharedRate {
 public:
  SharedRate(double rate, double burst) { Set(rate, burst); }
  // Changes rate and burst (another config); safe while other threads take.
  void Set(double rate, double burst);
  // Takes one slot at `now_us` if one is free: returns 0. Otherwise the earliest time (us) one is.
  int64_t TryTake(int64_t now_us);
  // The earliest time (us) TryTake may succeed (now_us when it would now).
  int64_t NextAvailable(int64_t now_us) const;
  double rate() const { return rate_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> rate_{0};
  std::atomic<int64_t> interval_ns_{0};   // 1e9 / rate
  std::atomic<int64_t> tolerance_ns_{0};  // interval * (burst - 1)
  std::atomic<int64_t> tat_ns_{0};        // theoretical arrival time of the next slot
};

// Messages per UTC day against `limit` (0 = unlimited), shared by threads without a lock: one
// per account and process, so that campaigns running together never exceed the account's
// daily_limit. The count belongs to one UTC day (days since the epoch); the first use on a later
// day starts that day at 0. Day and count are one atomic word, so a reservation and the day's
// roll-over never race.
class DailyCap {
 public:
  explicit DailyCap(uint64_t limit = 0) : limit_(limit) {}
  void SetLimit(uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }
  uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }

  // Raises the count of `day` to at least `used` (what the store holds when the process starts
  // using the account); reservations this process made on that day are never lost.
  void Load(int64_t day, uint64_t used);
  // Reserves one message on the UTC day of `now_us` if the limit allows: true, and *day is that
  // day (to persist the count against, or to Release).
  bool TryReserve(int64_t now_us, int64_t* day);
  // Gives back a reservation of `day` that was not used.
  void Release(int64_t day);
  // Messages counted on the UTC day of `now_us`.
  uint64_t used(int64_t now_us) const;
  bool Allowed(int64_t now_us) const { return limit() == 0 || used(now_us) < limit(); }

  static int64_t DayOf(int64_t now_us) { return now_us / (86400LL * 1000000); }

 private:
  static constexpr int kCountBits = 44;
  static uint64_t Pack(int64_t day, uint64_t n) {
    return (static_cast<uint64_t>(day) << kCountBits) | n;
  }
  static int64_t DayPart(uint64_t w) { return static_cast<int64_t>(w >> kCountBits); }
  static uint64_t CountPart(uint64_t w) { return w & ((uint64_t{1} << kCountBits) - 1); }

  std::atomic<uint64_t> limit_;
  std::atomic<uint64_t> word_{0};  // day << 44 | count
};

// The sending rate of one account x destination domain. Starts at `base` (0 = unlimited).
// Throttling replies cut the rate to half of what was being sent (measured; or half of the cut
// rate when already cut) and hold the pair for `hold`, once they are evidence about the rate:
// at least `min_throttles` of them, and at least `min_share` of the pair's replies, received in
// the last one to two seconds, counting only replies to messages sent (OnSend) since the pair was
// created or last cut. (Replies, not sends: a burst of sends is answered over the next seconds.) A stray throttling reply (one connection, one mailbox, or replies to messages sent at
// the old rate) only defers its own recipient. Every `recovery_interval` without a cut the rate
// grows by 25 % until it is back at base (or, for an unlimited base, until it has doubled past
// the cut point, then unlimited).
class AdaptiveRate {
 public:
  struct Params {
    double min_rate = 1;                   // never below this (msgs/s)
    int64_t hold_us = 2'000'000;           // pause after a cut; a throttled recipient waits this
    int64_t recovery_interval_us = 5'000'000;
    // A cut needs this many counted throttling replies: with fewer replies in the window (a
    // domain's first or last seconds, a retry tail) a random 3 % of throttles would reach 10 %.
    uint32_t min_throttles = 10;
    double min_share = 0.10;               // ... making up this share of the counted replies
  };
  explicit AdaptiveRate(double base) : AdaptiveRate(base, Params()) {}
  AdaptiveRate(double base, Params p);

  // Records one send (for the measured rate).
  void OnSend(int64_t now_us);
  // Any reply (delivered, refused, throttling, connection lost) arrived at `now_us` to a message
  // sent at `sent_us` (< 0: not counted by OnSend): the denominator of the throttle share.
  void OnReply(int64_t now_us, int64_t sent_us);
  // A throttling reply arrived at `now_us` to a message sent (counted by OnSend) at `sent_us`;
  // sent_us < 0: the message was not counted (the pair had no limiter then). Its OnReply comes
  // first. Cuts the rate when the replies are evidence (see above).
  void OnThrottle(int64_t now_us, int64_t sent_us);
  // Whether a message may go now (takes a token when it may).
  bool TryAcquire(int64_t now_us);
  // Earliest time TryAcquire may succeed.
  int64_t NextAvailable(int64_t now_us);
  // When a recipient that got a throttling reply at `now_us` is tried again: when the pair may
  // send, and not before `hold` (a throttle does not count as an attempt, so it must not loop).
  int64_t RetryAt(int64_t now_us);

  bool throttled() const { return cut_; }      // currently below base
  double current_rate() const { return bucket_.rate(); }
  uint64_t throttle_events() const { return events_; }  // every throttling reply
  uint64_t cuts() const { return cuts_; }

 private:
  void Roll(int64_t now_us);  // starts a new one-second window when the current one is over
  void Recover(int64_t now_us);
  double base_;
  Params p_;
  TokenBucket bucket_;
  bool cut_ = false;
  double cut_point_ = 0;
  int64_t hold_until_ = 0;
  int64_t last_change_ = 0;
  int64_t counting_since_ = 0;  // replies to messages sent before this say nothing new
  uint64_t events_ = 0;
  uint64_t cuts_ = 0;
  // Measured send rate and throttle share: counts in the current and previous one-second
  // windows (the previous ones 0 when it did not end right before the current one).
  int64_t window_start_ = 0;
  uint64_t window_count_ = 0;
  double last_window_rate_ = 0;
  uint64_t replies_ = 0, replies_prev_ = 0;        // to messages sent since counting_since_
  uint64_t throttles_ = 0, throttles_prev_ = 0;    // ... of which throttling
};

// Backoff before retry number `attempt` (1 = first retry): retry_base * 2^(attempt-1), capped at
// retry_max, with +-25 % jitter from `unit_random` in [0, 1).
int64_t RetryDelayUs(const SendingConfig& cfg, uint32_t attempt, double unit_random);

// [[throttle]] lookup: index of the throttle naming `domain` (lowercase), or -1.
class DomainThrottles {
 public:
  explicit DomainThrottles(const std::vector<ThrottleConfig>& throttles);
  int Find(std::string_view domain) const;

 private:
  std::vector<std::pair<std::string, int>> sorted_;  // domain -> index
};

}  // namespace salvo
