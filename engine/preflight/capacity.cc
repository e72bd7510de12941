#include "engine/preflight/capacity.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/policy/warmup.h"
#include "engine/preflight/list_hygiene.h"

namespace salvo {
namespace {

constexpr uint64_t kUnlimited = UINT64_MAX;

uint64_t Less(uint64_t cap, uint64_t used) { return cap == kUnlimited ? cap : cap > used ? cap - used : 0; }

// The warm-up cap of the day, kUnlimited when there is no warm-up or it has ended.
uint64_t WarmupCap(const WarmupConfig* w, int64_t day) {
  if (w == nullptr) return kUnlimited;
  return WarmupCapOnDay(*w, day).value_or(kUnlimited);
}

size_t CurveDays(const WarmupConfig& w) {
  return (w.daily.empty() ? StandardWarmupCurve() : w.daily).size();
}

}  // namespace

uint64_t RouteRoomOnDay(const std::vector<AccountCapacity>& accounts,
                        const std::vector<IpCapacity>& ips, int64_t today, int64_t ahead) {
  const int64_t day = today + ahead;
  // What each warmed-up IP may still carry that day, taken by the accounts in turn.
  absl::flat_hash_map<std::string, uint64_t> pool;
  for (const IpCapacity& ip : ips)
    pool[ip.ip] = Less(WarmupCap(ip.warmup, day), ahead == 0 ? ip.sent_today : 0);
  uint64_t room = 0;
  for (const AccountCapacity& a : accounts) {
    if (a.paused && (a.resumes_day < 0 || day < a.resumes_day)) continue;
    uint64_t cap = std::min(a.daily_limit == 0 ? kUnlimited : a.daily_limit, WarmupCap(a.warmup, day));
    cap = Less(cap, ahead == 0 ? a.sent_today : 0);
    // The IPs hold the account only when every one of them has a warm-up cap.
    bool held_by_ips = !a.source_ips.empty();
    uint64_t ip_room = 0;
    for (const std::string& ip : a.source_ips) {
      auto it = pool.find(ip);
      if (it == pool.end() || it->second == kUnlimited) {
        held_by_ips = false;
        break;
      }
      ip_room += it->second;
    }
    if (held_by_ips) {
      uint64_t take = std::min(cap, ip_room);
      cap = take;
      for (const std::string& ip : a.source_ips) {  // the shared IPs carry it
        uint64_t& left = pool[ip];
        const uint64_t t = std::min(left, take);
        left -= t;
        take -= t;
      }
    }
    if (cap == kUnlimited) return kUnlimited;
    room += cap;
  }
  return room;
}

void ReportCapacity(uint64_t eligible, const std::vector<AccountCapacity>& accounts,
                    const std::vector<IpCapacity>& ips, int64_t today, PreflightReport* rep) {
  const std::string e = absl::StrCat(WithThousands(eligible), " eligible");
  // The warm-ups in force today, for the reader: "sg-new day 3 of 35 (200 today)".
  std::vector<std::string> warm;
  auto note = [&](const std::string& who, const WarmupConfig* w) {
    if (w == nullptr) return;
    const std::optional<uint64_t> cap = WarmupCapOnDay(*w, today);
    if (!cap) return;
    warm.push_back(absl::StrCat(who, " day ", WarmupDayIndex(w->start_day, today), " of ",
                                CurveDays(*w), " (", WithThousands(*cap), " a day)"));
  };
  for (const AccountCapacity& a : accounts)
    if (!a.paused) note(a.account, a.warmup);
  for (const IpCapacity& ip : ips) note(absl::StrCat("ip ", ip.ip), ip.warmup);
  const std::string warmups = warm.empty() ? "" : absl::StrCat("; warm-up: ", absl::StrJoin(warm, ", "));

  const uint64_t first = RouteRoomOnDay(accounts, ips, today, 0);
  if (first == kUnlimited) {
    rep->Pass("capacity.today",
              absl::StrCat(e, ", no daily_limit or warm-up cap on an active account of the route"));
    return;
  }
  if (first >= eligible) {
    rep->Pass("capacity.today", absl::StrCat(e, ", ", WithThousands(first), " sendable today", warmups));
    return;
  }
  // Day by day, as the warm-up caps grow and pauses end.
  uint64_t left = eligible - first;
  int64_t days = 0;
  for (int64_t k = 1; k < kCapacityMaxDays; ++k) {
    const uint64_t room = RouteRoomOnDay(accounts, ips, today, k);
    if (room >= left) {
      days = k + 1;
      break;
    }
    left -= room;
  }
  auto how_long = [&](int64_t d) {
    return days == 0 ? std::string("more than a year")
                     : absl::StrCat("about ", d, d == 1 ? " day" : " days");
  };
  if (first == 0) {
    rep->Fail("capacity.today",
              absl::StrCat(e, ", 0 sendable today (every account paused or at its daily cap); from "
                              "tomorrow: ", how_long(days - 1), warmups),
              "resume an account (salvo account resume NAME), raise daily_limit or add an account to the route");
    return;
  }
  rep->Warn("capacity.today",
            absl::StrCat(e, ", ", WithThousands(first), " sendable today: ", how_long(days), warmups),
            warm.empty()
                ? "expect the campaign to pause at each day's limit, or raise daily_limit / add accounts"
                : "expect the campaign to pause at each day's cap; the warm-up caps grow daily (send to "
                  "the engaged first: [sending] engaged_days), or add warm accounts to the route");
}

}  // namespace salvo
