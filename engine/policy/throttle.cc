// Token buckets, daily caps, adaptive throttling and retry backoff (see throttle.h).
#include "engine/policy/throttle.h"

#include <algorithm>
#include <cmath>

namespace salvo {

void SharedRate::Set(double rate, double burst) {
  const int64_t interval = rate > 0 ? static_cast<int64_t>(1e9 / rate) : 0;
  interval_ns_.store(interval, std::memory_order_relaxed);
  tolerance_ns_.store(static_cast<int64_t>(interval * std::max(0.0, burst - 1)),
                      std::memory_order_relaxed);
  rate_.store(rate, std::memory_order_relaxed);
}

int64_t SharedRate::TryTake(int64_t now_us) {
  const int64_t interval = interval_ns_.load(std::memory_order_relaxed);
  if (interval <= 0) return 0;
  const int64_t tolerance = tolerance_ns_.load(std::memory_order_relaxed);
  const int64_t now = now_us * 1000;
  int64_t tat = tat_ns_.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t start = std::max(tat, now);
    if (start - now > tolerance) return (start - tolerance) / 1000 + 1;
    if (tat_ns_.compare_exchange_weak(tat, start + interval, std::memory_order_relaxed)) return 0;
  }
}

int64_t SharedRate::NextAvailable(int64_t now_us) const {
  const int64_t interval = interval_ns_.load(std::memory_order_relaxed);
  if (interval <= 0) return now_us;
  const int64_t now = now_us * 1000;
  const int64_t start = std::max(tat_ns_.load(std::memory_order_relaxed), now);
  const int64_t tolerance = tolerance_ns_.load(std::memory_order_relaxed);
  return start - now > tolerance ? (start - tolerance) / 1000 + 1 : now_us;
}

TokenBucket::TokenBucket(double rate, double burst) : rate_(rate), burst_(std::max(1.0, burst)) {
  tokens_ = burst_;
}

void TokenBucket::SetRate(double rate) {
  rate_ = rate;
  burst_ = std::max(1.0, rate > 0 ? std::min(burst_, std::max(1.0, rate)) : burst_);
  if (rate > 0) burst_ = std::max(1.0, std::ceil(rate / 10));  // smooth: ~100 ms worth
  tokens_ = std::min(tokens_, burst_);
}

void TokenBucket::Refill(int64_t now_us) {
  if (now_us > last_us_) {
    if (last_us_ != 0) tokens_ = std::min(burst_, tokens_ + rate_ * (now_us - last_us_) / 1e6);
    last_us_ = now_us;
  }
}

bool TokenBucket::TryTake(int64_t now_us) {
  if (unlimited()) return true;
  Refill(now_us);
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  return false;
}

int64_t TokenBucket::NextAvailable(int64_t now_us) {
  if (unlimited()) return now_us;
  Refill(now_us);
  if (tokens_ >= 1) return now_us;
  return now_us + static_cast<int64_t>(std::ceil((1 - tokens_) / rate_ * 1e6));
}

void DailyCap::Load(int64_t day, uint64_t used) {
  uint64_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (DayPart(w) > day) return;  // a later day is already counted
    const uint64_t n = DayPart(w) == day ? std::max(CountPart(w), used) : used;
    if (word_.compare_exchange_weak(w, Pack(day, n), std::memory_order_relaxed)) return;
  }
}

bool DailyCap::TryReserve(int64_t now_us, int64_t* day) {
  const int64_t today = DayOf(now_us);
  const uint64_t limit = this->limit();
  uint64_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    // A later day starts at 0; an earlier one (a clock step back) keeps counting the stored day.
    const int64_t d = DayPart(w) < today ? today : DayPart(w);
    const uint64_t n = DayPart(w) < today ? 0 : CountPart(w);
    if (limit != 0 && n >= limit) return false;
    if (word_.compare_exchange_weak(w, Pack(d, n + 1), std::memory_order_relaxed)) {
      *day = d;
      return true;
    }
  }
}

void DailyCap::Release(int64_t day) {
  uint64_t w = word_.load(std::memory_order_relaxed);
  while (DayPart(w) == day && CountPart(w) > 0 &&
         !word_.compare_exchange_weak(w, w - 1, std::memory_order_relaxed)) {
  }
}

uint64_t DailyCap::used(int64_t now_us) const {
  const uint64_t w = word_.load(std::memory_order_relaxed);
  return DayPart(w) < DayOf(now_us) ? 0 : CountPart(w);
}

AdaptiveRate::AdaptiveRate(double base, Params p)
    : base_(base), p_(p), bucket_(base, base > 0 ? std::max(1.0, std::ceil(base / 10)) : 1) {}

void AdaptiveRate::Roll(int64_t now_us) {
  if (now_us - window_start_ < 1'000'000) return;
  const double secs = std::max(1.0, (now_us - window_start_) / 1e6);
  const bool adjacent = window_start_ != 0 && now_us - window_start_ < 2'000'000;
  last_window_rate_ = window_start_ == 0 ? 0 : window_count_ / secs;
  replies_prev_ = adjacent ? replies_ : 0;
  throttles_prev_ = adjacent ? throttles_ : 0;
  window_start_ = now_us;
  window_count_ = 0;
  replies_ = 0;
  throttles_ = 0;
}

void AdaptiveRate::OnSend(int64_t now_us) {
  Roll(now_us);
  ++window_count_;
}

void AdaptiveRate::OnReply(int64_t now_us, int64_t sent_us) {
  Roll(now_us);
  if (sent_us >= 0 && sent_us >= counting_since_) ++replies_;
}

void AdaptiveRate::OnThrottle(int64_t now_us, int64_t sent_us) {
  ++events_;
  Roll(now_us);
  // Replies to messages sent before the last cut (or before the pair was measured) say nothing
  // about the current rate; within the hold nothing new was sent.
  if (sent_us < 0 || sent_us < counting_since_ || now_us < hold_until_) return;
  ++throttles_;
  const uint64_t throttles = throttles_ + throttles_prev_;
  const uint64_t replies = replies_ + replies_prev_;
  if (throttles < p_.min_throttles || static_cast<double>(throttles) < p_.min_share * replies)
    return;
  ++cuts_;
  hold_until_ = now_us + p_.hold_us;
  last_change_ = now_us;
  counting_since_ = now_us;
  const double partial =
      window_start_ == 0 ? 0 : window_count_ / std::max(0.1, (now_us - window_start_) / 1e6);
  const double measured = std::max(last_window_rate_, partial);
  // Halve what is configured (or, when unlimited, what was measured).
  double current = bucket_.unlimited() ? measured : bucket_.rate();
  if (current <= 0) current = p_.min_rate * 2;
  double next = std::max(p_.min_rate, current / 2);
  if (!cut_) cut_point_ = next;
  cut_ = true;
  bucket_.SetRate(next);
  // The share is measured anew at the new rate.
  replies_ = replies_prev_ = throttles_ = throttles_prev_ = 0;
}

void AdaptiveRate::Recover(int64_t now_us) {
  if (!cut_ || now_us < hold_until_) return;
  while (cut_ && now_us - last_change_ >= p_.recovery_interval_us) {
    last_change_ += p_.recovery_interval_us;
    double next = bucket_.rate() * 1.25;
    if (base_ > 0 && next >= base_) {
      bucket_.SetRate(base_);
      cut_ = false;
    } else if (base_ <= 0 && next >= 2 * cut_point_ * 2) {
      bucket_.SetRate(0);
      cut_ = false;
    } else {
      bucket_.SetRate(next);
    }
  }
}

bool AdaptiveRate::TryAcquire(int64_t now_us) {
  if (now_us < hold_until_) return false;
  Recover(now_us);
  return bucket_.TryTake(now_us);
}

int64_t AdaptiveRate::NextAvailable(int64_t now_us) {
  if (now_us < hold_until_) return hold_until_;
  Recover(now_us);
  return bucket_.NextAvailable(now_us);
}

int64_t AdaptiveRate::RetryAt(int64_t now_us) {
  return std::max(NextAvailable(now_us), now_us + p_.hold_us);
}

int64_t RetryDelayUs(const SendingConfig& cfg, uint32_t attempt, double unit_random) {
  double base = absl::ToDoubleMicroseconds(cfg.retry_base);
  double cap = absl::ToDoubleMicroseconds(cfg.retry_max);
  double d = base * std::pow(2.0, std::min<uint32_t>(attempt > 0 ? attempt - 1 : 0, 40));
  d = std::min(d, cap);
  d *= 0.75 + 0.5 * unit_random;
  return static_cast<int64_t>(std::max(1.0, d));
}

DomainThrottles::DomainThrottles(const std::vector<ThrottleConfig>& throttles) {
  for (size_t i = 0; i < throttles.size(); ++i)
    for (const auto& d : throttles[i].domains) {
      std::string low = d;
      for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      sorted_.emplace_back(low, static_cast<int>(i));
    }
  std::sort(sorted_.begin(), sorted_.end());
}

int DomainThrottles::Find(std::string_view domain) const {
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), domain,
                             [](const auto& p, std::string_view d) { return p.first < d; });
  if (it != sorted_.end() && it->first == domain) return it->second;
  return -1;
}

}  // namespace salvo
