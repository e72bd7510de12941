// shard/runner: one recipient on its way through a feeder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/base/recipient.h"
#include "store/campaign_store.h"

namespace salvo {

struct DomainLimit;  // shard/account_state.h

struct RunItem {
  Recipient r;
  std::optional<ProgressRecord> prog;  // as stored
  int64_t due = 0;                     // when it is tried (again), unix µs
  int acct = -1, ip = -1;              // the egress chosen for its current attempt
  int64_t daily_day = 0;  // the UTC day its account's daily count was reserved on
  int64_t ip_daily_day = -1;  // ... and its source IP's warm-up count (-1: the IP has none)
  std::string dom_key;    // account '|' ip '|' domain when a domain limiter applies
  int64_t counted_at = -1;  // when the domain limiter counted its send (-1: it had none yet)
  DomainLimit* domain_limit = nullptr;  // the process-wide limit it holds a connection of
  bool slim = false;      // waiting in the delay heap: r keeps only key and shard (reloaded when due)
  uint64_t batch = 0;     // the attempt batch (marker) of its current or last attempt (0: none)
};

}  // namespace salvo
