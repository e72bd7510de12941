#include "engine/preflight/capacity.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/policy/warmup.h"
#include "engine/preflight/list_hygiene.h"

namespace salvo {
namespace {

constexpr int64_t kToday = 20790;  // 2026-12-03

WarmupConfig Warmup(int64_t start_day, std::vector<uint64_t> daily = {}) {
  WarmupConfig w;
  w.start_day = start_day;
  w.daily = std::move(daily);
  return w;
}

const CheckResult& Capacity(uint64_t eligible, const std::vector<AccountCapacity>& accounts,
                            const std::vector<IpCapacity>& ips, PreflightReport* rep) {
  ReportCapacity(eligible, accounts, ips, kToday, rep);
  return *rep->Find("capacity.today");
}

TEST(Capacity, DaysAtTheDailyLimit) {
  PreflightReport rep;
  const auto& c = Capacity(120000, {{"a", 30000, 0, false}, {"b", 20000, 0, false}, {"c", 0, 0, true}},
                           {}, &rep);
  EXPECT_EQ(c.found, "120,000 eligible, 50,000 sendable today: about 3 days");
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  PreflightReport none;
  const auto& n = Capacity(10, {{"a", 100, 100, false}}, {}, &none);
  EXPECT_EQ(n.status, CheckStatus::kFail);
  EXPECT_EQ(n.found, "10 eligible, 0 sendable today (every account paused or at its daily cap); "
                     "from tomorrow: about 1 day");
  PreflightReport unl;
  EXPECT_EQ(Capacity(10, {{"a", 0, 0, false}}, {}, &unl).status, CheckStatus::kPass);
  PreflightReport fits;
  EXPECT_EQ(Capacity(10, {{"a", 100, 50, false}}, {}, &fits).found, "10 eligible, 50 sendable today");
  EXPECT_EQ(WithThousands(1234567), "1,234,567");
}

TEST(Capacity, AccountWarmupCapsTheDayAndGrows) {
  const WarmupConfig w = Warmup(kToday);  // the standard curve: 50, 100, 200, 300, 500, ...
  AccountCapacity a{"sg-new", 0, 0, false};
  a.warmup = &w;
  PreflightReport rep;
  const auto& c = Capacity(1000, {a}, {}, &rep);
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  // 50 + 100 + 200 + 300 = 650 after four days, 1,150 after five.
  EXPECT_EQ(c.found, absl::StrCat("1,000 eligible, 50 sendable today: about 5 days; warm-up: sg-new "
                                  "day 1 of ", StandardWarmupCurve().size(), " (50 a day)"));
  EXPECT_TRUE(absl::StrContains(c.fix, "engaged_days")) << c.fix;

  // What was sent today counts; a daily_limit under the warm-up cap wins.
  a.sent_today = 20;
  EXPECT_EQ(RouteRoomOnDay({a}, {}, kToday, 0), 30u);
  a.daily_limit = 40;
  EXPECT_EQ(RouteRoomOnDay({a}, {}, kToday, 0), 20u);
  EXPECT_EQ(RouteRoomOnDay({a}, {}, kToday, 1), 40u);
  a.daily_limit = 0;
  // After the curve the account is warm: no cap.
  EXPECT_EQ(RouteRoomOnDay({a}, {}, kToday, 200), UINT64_MAX);
  const WarmupConfig ended = Warmup(kToday - 100);
  a.warmup = &ended;
  PreflightReport warm;
  EXPECT_EQ(Capacity(1000000, {a}, {}, &warm).status, CheckStatus::kPass);
}

TEST(Capacity, IpWarmupIsSharedByTheAccountsThatBindIt) {
  const WarmupConfig w = Warmup(kToday, {100, 200});
  const std::vector<IpCapacity> ips = {{"192.0.2.10", &w, 40}};
  AccountCapacity a{"a", 0, 0, false};
  a.source_ips = {"192.0.2.10"};
  AccountCapacity b = a;
  b.account = "b";
  EXPECT_EQ(RouteRoomOnDay({a, b}, ips, kToday, 0), 60u);  // 100 for both, 40 sent
  EXPECT_EQ(RouteRoomOnDay({a, b}, ips, kToday, 1), 200u);
  EXPECT_EQ(RouteRoomOnDay({a, b}, ips, kToday, 2), UINT64_MAX);  // the list has ended
  PreflightReport rep;
  EXPECT_EQ(Capacity(500, {a, b}, ips, &rep).found,
            "500 eligible, 60 sendable today: about 3 days; warm-up: ip 192.0.2.10 day 1 of 2 "
            "(100 a day)");
  // An account with another IP without a warm-up is not held by the warm one.
  AccountCapacity c = a;
  c.source_ips.push_back("192.0.2.11");
  EXPECT_EQ(RouteRoomOnDay({c}, ips, kToday, 0), UINT64_MAX);
  // An account's daily_limit under the IP's room leaves the rest to the next account.
  a.daily_limit = 25;
  EXPECT_EQ(RouteRoomOnDay({a, b}, ips, kToday, 0), 60u);
  EXPECT_EQ(RouteRoomOnDay({a}, ips, kToday, 0), 25u);
}

TEST(Capacity, PausedAccountsCountFromTheDayTheirPauseEnds) {
  AccountCapacity a{"a", 100, 0, true};
  a.resumes_day = kToday + 2;
  AccountCapacity manual{"m", 1000, 0, true};  // until resumed: never counted
  EXPECT_EQ(RouteRoomOnDay({a, manual}, {}, kToday, 0), 0u);
  EXPECT_EQ(RouteRoomOnDay({a, manual}, {}, kToday, 1), 0u);
  EXPECT_EQ(RouteRoomOnDay({a, manual}, {}, kToday, 2), 100u);
  PreflightReport rep;
  const auto& c = Capacity(150, {a, manual}, {}, &rep);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_EQ(c.found, "150 eligible, 0 sendable today (every account paused or at its daily cap); "
                     "from tomorrow: about 3 days");
  PreflightReport never;
  EXPECT_TRUE(absl::StrContains(Capacity(1, {manual}, {}, &never).found, "more than a year"));
}

}  // namespace
}  // namespace salvo
