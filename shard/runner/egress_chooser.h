// shard/runner: which account and source IP a message goes out on, within every limit.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "engine/policy/routing.h"
#include "engine/policy/throttle.h"
#include "shard/runner/item.h"
#include "shard/runner/run_state.h"

namespace salvo {

// One per feeder (not thread-safe). The accounts' own limits (pause, daily_limit,
// rate_per_second) are the process's (shard/account_state.h), shared with every campaign; the
// per-domain limits ([[throttle]] rates and connection caps, and rates cut by throttling
// replies) are this feeder's share, per (account, source IP, domain), under the process-wide
// ceiling of each [[throttle]] (DomainLimit: every campaign and the queue together).
class EgressChooser {
 public:
  // An account paused for at most this long (a rate limit) is waited for rather than counted out.
  static constexpr int64_t kWaitForPauseS = 15 * 60;

  explicit EgressChooser(RunState* s);

  // Chooses account and source IP for *item at `now` (µs), reserving one of the account's daily
  // messages and a slot of its rate. False: nothing is available now (*retry_at = when to try
  // again) or no account of the route is usable at all (*retry_at = -1). Messages held back by
  // the same rate limiter (an account's rate, or a pair's [[throttle]] or cut rate) get
  // successive slots, one rate interval apart, rather than all the first free one: when a domain
  // is cut, its waiting messages are not all dispatched again at every slot.
  bool Pick(RunItem* item, int64_t now, int64_t* retry_at);

  // The daily reservations Pick made for *item on (account, ip) are given back (never sent).
  void Release(int account, int ip, RunItem* item);

  // The attempt of *item is over: its domain connection slot is free again, and, when it got a
  // reply at `replied_at` (µs; -1: it was never sent), the reply counts in its pair's throttle
  // share.
  void Done(const RunItem& item, int64_t replied_at);

  // A throttling reply for *item's (account, source IP, domain), handed to that pair's limiter,
  // which cuts the rate when such replies are a real share of the pair's sends (AdaptiveRate).
  // Returns the limiter (its RetryAt is the recipient's retry time, current_rate the rate).
  AdaptiveRate& Throttled(const RunItem& item, int64_t now);

  // The key of an (account, source IP, domain) limiter.
  static std::string DomKey(size_t account, int ip, std::string_view domain);

  // Connection slots held per domain key (for tests and status).
  uint32_t InFlight(const std::string& dom_key) const;

 private:
  absl::flat_hash_map<std::string, AdaptiveRate>::iterator CreateDomRate(const std::string& key,
                                                                         int throttle);

  // The process-wide limit of a pair under [[throttle]] number `throttle` (looked up once).
  DomainLimit* Shared(const std::string& key, size_t account, int ip, std::string_view domain,
                      int throttle);

  static std::string AccountKey(size_t account);
  // The retry time of a message held back by the limiter `key` (`rate` slots per second; <= 0:
  // unlimited, nothing to space) that frees its next slot at `t`: `t`, or the slot after the one
  // last promised to another message.
  int64_t Spaced(int64_t t, const std::string& key, double rate);

  RunState* s_;
  std::unique_ptr<EgressPicker> picker_;
  // Per limiter key (AccountKey or DomKey): the latest retry time promised to a held-back message.
  absl::flat_hash_map<std::string, int64_t> promised_;
  absl::flat_hash_map<std::string, AdaptiveRate> dom_rate_;
  absl::flat_hash_map<std::string, uint32_t> dom_inflight_;
  absl::flat_hash_map<std::string, DomainLimit*> shared_;  // per DomKey
};

}  // namespace salvo
