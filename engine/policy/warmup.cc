// Warm-up caps and the reply-rate guard (see warmup.h).
#include "engine/policy/warmup.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "engine/base/rfc3339.h"

namespace salvo {

const std::vector<uint64_t>& StandardWarmupCurve() {
  // Five weeks from 50 to 100,000 a day: roughly doubling in the first week, then +25-50 % a
  // day, then linear steps of 5,000 (README "Warm-up" gives the sources).
  static const std::vector<uint64_t>* curve = new std::vector<uint64_t>{
      50,    100,   200,   300,   500,   750,   1000,  1500,  2000,  3000,  4000,   5000,
      6500,  8000,  10000, 12500, 15000, 18000, 21000, 25000, 30000, 35000, 40000,  45000,
      50000, 55000, 60000, 65000, 70000, 75000, 80000, 85000, 90000, 95000, 100000};
  return *curve;
}

int64_t WarmupDayIndex(int64_t start_day, int64_t day) {
  return std::max<int64_t>(1, day - start_day + 1);
}

std::optional<uint64_t> WarmupCapOnDay(const WarmupConfig& w, int64_t day) {
  const std::vector<uint64_t>& list = w.daily.empty() ? StandardWarmupCurve() : w.daily;
  const int64_t i = WarmupDayIndex(w.start_day, day);
  if (i > static_cast<int64_t>(list.size())) return std::nullopt;
  return list[i - 1];
}

absl::Status ValidateWarmup(const Config& c, WarmupConfig* w) {
  auto err = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(c.path, ":", w->line, ": [[warmup]] ", what));
  };
  if (w->account.empty() == w->source_ip.empty())
    return err("needs exactly one of account = \"NAME\" or source_ip = \"ADDRESS\"");
  if (!w->account.empty() && c.FindAccount(w->account) == nullptr)
    return err(absl::StrCat("account \"", w->account, "\" is not an [[account]]"));
  if (!w->source_ip.empty()) {
    bool found = false;
    for (const auto& a : c.accounts)
      found = found || std::count(a.source_ips.begin(), a.source_ips.end(), w->source_ip) > 0;
    if (!found)
      return err(absl::StrCat("source_ip \"", w->source_ip,
                              "\" is not in the source_ips of any [[account]]"));
  }
  if (w->start.size() != 10) return err("start must be a date \"YYYY-MM-DD\"");
  const std::optional<int64_t> at = ParseRfc3339Micros(w->start, Rfc3339Form::kDateOrDateTime);
  if (!at) return err(absl::StrCat("start \"", w->start, "\" is not a date \"YYYY-MM-DD\""));
  w->start_day = *at / (86400LL * 1'000'000);
  if (!w->schedule.empty() && !w->daily.empty())
    return err("has both schedule and daily: choose one");
  if (w->daily.empty() && w->schedule.empty()) w->schedule = "standard";
  if (!w->schedule.empty() && w->schedule != "standard")
    return err(absl::StrCat("schedule \"", w->schedule, "\" is unknown (\"standard\", or a daily list)"));
  if (w->daily.size() > 3650) return err("daily has more than 3650 days");
  for (uint64_t n : w->daily)
    if (n == 0) return err("daily values must be at least 1");
  if (w->max_bounce_rate > 1 || w->max_complaint_rate > 1)
    return err("max_bounce_rate and max_complaint_rate are fractions (0.05 = 5 %)");
  return absl::OkStatus();
}

void ReplyRateGuard::Add(int64_t now_us, uint64_t s, uint64_t b, uint64_t c) {
  const int64_t minute = now_us / 60'000'000;
  std::lock_guard<std::mutex> l(mu_);
  Bucket& k = buckets_[minute % 60];
  if (k.minute != minute) k = Bucket{minute, 0, 0, 0};
  k.sent += s;
  k.bounced += b;
  k.complained += c;
}

bool ReplyRateGuard::Tripped(int64_t now_us, const WarmupConfig& w, std::string* why) const {
  const int64_t minute = now_us / 60'000'000;
  uint64_t sent = 0, bounced = 0, complained = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const Bucket& k : buckets_) {
      if (k.minute < 0 || k.minute <= minute - 60 || k.minute > minute) continue;
      sent += k.sent;
      bounced += k.bounced;
      complained += k.complained;
    }
  }
  if (sent == 0 || sent < w.min_sample) return false;
  const double br = static_cast<double>(bounced) / sent;
  const double cr = static_cast<double>(complained) / sent;
  if (w.max_bounce_rate > 0 && br > w.max_bounce_rate) {
    *why = absl::StrFormat("bounce rate %.1f %% (%d of %d in the last hour) above max_bounce_rate %.1f %%",
                           br * 100, bounced, sent, w.max_bounce_rate * 100);
    return true;
  }
  if (w.max_complaint_rate > 0 && cr > w.max_complaint_rate) {
    *why = absl::StrFormat(
        "complaint rate %.2f %% (%d of %d in the last hour) above max_complaint_rate %.2f %%",
        cr * 100, complained, sent, w.max_complaint_rate * 100);
    return true;
  }
  return false;
}

}  // namespace salvo
