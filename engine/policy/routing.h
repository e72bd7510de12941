// Route selection for a campaign and the route's account x source-IP picker. Pure logic over
// the validated Config (engine/config/config.h).
//
// A campaign uses its `route =`, else the route whose `lists` names its list, else the default
// route. Bulk and responder routes keep to their own accounts: a route never borrows another
// route's accounts, and a bulk campaign refuses a route with purpose "responder" only when it is
// picked implicitly (an explicit `route =` is the author's choice).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/policy/weighted_rr.h"

namespace salvo {

// The route for a campaign. Error (naming the campaign's route / list) when none applies.
[[nodiscard]]
absl::StatusOr<const RouteConfig*> SelectRoute(const Config& config, std::string_view route_name,
                                               std::string_view list);

// A pick: index into the route's accounts and into that account's source IPs (-1: no
// source_ips configured, let the kernel choose).
struct Egress {
  int account = -1;
  int ip = -1;
};

// Two-level smooth WRR: accounts by weight, then each account's source IPs evenly.
// Not thread-safe: one per worker.
class EgressPicker {
 public:
  // `ip_counts[i]` = number of source IPs of account i (0 allowed).
  EgressPicker(const std::vector<uint32_t>& account_weights, const std::vector<size_t>& ip_counts);

  // The next (account, ip) with account_ok(account) and ip_ok(account, ip) true; account = -1
  // when nothing is available.
  template <typename AccountOk, typename IpOk>
  Egress Next(AccountOk account_ok, IpOk ip_ok) {
    Egress e;
    // Skip accounts whose every IP is unavailable.
    e.account = accounts_.Next([&](size_t a) {
      if (!account_ok(a)) return false;
      if (ips_[a].size() == 0) return ip_ok(a, -1);
      for (size_t i = 0; i < ips_[a].size(); ++i)
        if (ip_ok(a, static_cast<int>(i))) return true;
      return false;
    });
    if (e.account < 0) return e;
    if (ips_[e.account].size() == 0) return e;
    e.ip = ips_[e.account].Next([&](size_t i) { return ip_ok(e.account, static_cast<int>(i)); });
    return e;
  }

 private:
  SmoothWrr accounts_;
  std::vector<SmoothWrr> ips_;
};

}  // namespace salvo
