// "capacity.today" of `salvo preflight`: the campaign's eligible count against what the route's
// accounts may still send today under their daily_limit and the [[warmup]] caps of the accounts
// and of their source IPs (as shard/account_state.h applies them: an account's cap is the smaller
// of daily_limit and its warm-up cap; an IP's warm-up cap is shared by every account that binds
// it, and an account with some IP without a warm-up is not held by its IPs). When today is not
// enough, the UTC days the campaign needs, day by day as the warm-up caps grow. Pure: the day,
// the counts and the pauses come in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/preflight/report.h"

namespace salvo {

struct AccountCapacity {
  std::string account;
  uint64_t daily_limit = 0;  // 0 = unlimited
  uint64_t sent_today = 0;
  bool paused = false;
  int64_t resumes_day = -1;  // when paused: the unix day its pause ends; -1 = until resumed
  const WarmupConfig* warmup = nullptr;  // the account's [[warmup]], if any
  std::vector<std::string> source_ips;   // the account's; those with a warm-up are in `ips`
};

struct IpCapacity {
  std::string ip;
  const WarmupConfig* warmup = nullptr;  // the IP's [[warmup]]
  uint64_t sent_today = 0;               // counted under "ip:<address>"
};

// How many more messages the route may send on unix day `today + ahead` (ahead 0: today, less
// what was sent); UINT64_MAX when an active account has no cap that day.
uint64_t RouteRoomOnDay(const std::vector<AccountCapacity>& accounts,
                        const std::vector<IpCapacity>& ips, int64_t today, int64_t ahead);

// The days are counted for at most a year.
inline constexpr int64_t kCapacityMaxDays = 366;

// Reports capacity.today: pass when today's room covers `eligible`, warn with the days needed
// otherwise (naming the warm-ups in force), fail when nothing can be sent today.
void ReportCapacity(uint64_t eligible, const std::vector<AccountCapacity>& accounts,
                    const std::vector<IpCapacity>& ips, int64_t today, PreflightReport* rep);

}  // namespace salvo
