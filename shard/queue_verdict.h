// What one SMTP attempt of a queued entry leads to, from engine/policy/outcome.h Decide() and
// where the entry stands (its deferrals so far, its first attempt). Pure: the clock and the
// backoff's randomness are inputs; the delivery loop (shard/queue_delivery.h) carries it out.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/types.h"
#include "engine/config/config.h"
#include "engine/smtp/reply.h"
#include "store/queue_store.h"

namespace salvo {

struct QueueVerdict {
  enum class Kind : uint8_t {
    kRecord,        // RecordAttempt(state, next_attempt_us when deferred)
    kThrottle,      // cut the account x domain rate; deferred until the limiter allows
    kPauseAccount,  // pause the account (pause_reason, pause_until); Release the entry, due now
  };
  Kind kind = Kind::kRecord;
  QueueState state = QueueState::kDeferred;  // kRecord
  int64_t next_attempt_us = 0;               // kRecord with state kDeferred
  bool suppress = false;                     // bounced: the address goes to global suppression
  std::string reply;                         // for the attempt record and the suppression
  std::string pause_reason;                  // kPauseAccount
  int64_t pause_until = 0;                   // kPauseAccount: unix seconds, 0 = until resumed
};

// `e` is the entry as taken (attempts = deferrals so far, first_attempt_us).
QueueVerdict QueueVerdictFor(const QueueEntry& e, const RcptOutcome& out, bool account_unusable,
                             const std::string& account_reason, int64_t now_us, double unit_random,
                             const SendingConfig& sending);

// The salvo_messages_total outcome of a queue state (expired counts as deferred, as a campaign's
// final deferral does).
Outcome MetricOutcome(QueueState s);

}  // namespace salvo
