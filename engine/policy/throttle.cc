// Token buckets, daily caps, adaptive throttling and retry backoff (see throttle.h).
#include "engine/policy/throttle.h"

#include <algorithm>
#include <cmath>

namespace salvo {

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

void DailyCap::Roll(int64_t now_us) {
  int64_t day = now_us / (86400LL * 1000000);
  if (day != day_) {
    day_ = day;
    used_ = 0;
  }
}

bool DailyCap::Allowed(int64_t now_us) {
  if (limit_ == 0) return true;
  Roll(now_us);
  return used_ < limit_;
}

void DailyCap::Count(int64_t now_us) {
  Roll(now_us);
  ++used_;
}

AdaptiveRate::AdaptiveRate(double base, Params p)
    : base_(base), p_(p), bucket_(base, base > 0 ? std::max(1.0, std::ceil(base / 10)) : 1) {}

void AdaptiveRate::OnSend(int64_t now_us) {
  if (now_us - window_start_ >= 1'000'000) {
    double secs = std::max(1.0, (now_us - window_start_) / 1e6);
    last_window_rate_ = window_start_ == 0 ? 0 : window_count_ / secs;
    window_start_ = now_us;
    window_count_ = 0;
  }
  ++window_count_;
}

void AdaptiveRate::OnThrottle(int64_t now_us) {
  ++events_;
  // Replies to messages sent before the last cut say nothing new: cut at most once per hold.
  if (cut_ && now_us < last_cut_ + p_.hold_us) return;
  last_cut_ = now_us;
  hold_until_ = now_us + p_.hold_us;
  last_change_ = now_us;
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
