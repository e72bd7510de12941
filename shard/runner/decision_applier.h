// shard/runner: applies the outcome decision of each attempt (engine/policy/outcome.h) and
// records every recipient's progress. What happens on a reply is decided in Decide(); this file
// only carries it out: progress records, global suppression, account pauses, throttled domain
// rates, retry times and the message counters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/metrics/salvo_metrics.h"
#include "shard/runner/egress_chooser.h"
#include "shard/runner/item.h"
#include "shard/runner/run_state.h"
#include "shard/sender.h"
#include "store/campaign_store.h"

namespace salvo {

// One per feeder (not thread-safe).
class DecisionApplier {
 public:
  DecisionApplier(RunState* s, EgressChooser* egress, uint32_t feeder_index)
      : s_(s), egress_(egress), index_(feeder_index) {}

  // Records `o` for *item without an SMTP attempt (segment, consent, suppression, render
  // failure, ...). Buffered until Flush().
  void Record(RunItem* item, Outcome o, bool final, std::string reply);

  // Applies the decision for the report of *item's attempt, made at `now` (µs) with the backoff
  // jitter `unit_random` in [0, 1). Returns when to try the item again (it is then no longer
  // in flight and has no egress), or nullopt when its outcome is final.
  std::optional<int64_t> Apply(RunItem* item, const SendReport& rep, int64_t now,
                               double unit_random);

  // Every message of attempt batch `batch` has its outcome buffered (or written): its marker
  // is deleted with the next Flush().
  void BatchDone(uint64_t batch) { done_batches_.push_back(batch); }

  // Writes the buffered progress records. False (and RunState::Fatal) on a store error.
  [[nodiscard]] bool Flush();

  // Progress records not written yet.
  const std::vector<CampaignStore::Write>& pending() const { return writes_; }

 private:
  // A verdict for the warm-up's reply-rate guard of *item's account (shard/account_state.h).
  void Guard(const RunItem* item, bool bounced, int64_t now);
  // *item is deferred (retrying at next_retry_us unless final); common to throttles and 4xx.
  void Defer(RunItem* item, ProgressRecord p, bool give_up, int64_t next_retry_us,
             const std::string& reply);
  // salvo_messages_total handles per (account, source IP), resolved once.
  const metrics::MessageCounters& Counters(int acct, int ip);

  RunState* s_;
  EgressChooser* egress_;
  uint32_t index_;
  std::vector<CampaignStore::Write> writes_;
  std::vector<uint64_t> done_batches_;
  absl::flat_hash_map<int, metrics::MessageCounters> counters_;
};

}  // namespace salvo
