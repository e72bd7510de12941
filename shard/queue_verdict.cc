// See queue_verdict.h.
#include "shard/queue_verdict.h"

#include "engine/policy/outcome.h"

namespace salvo {

QueueVerdict QueueVerdictFor(const QueueEntry& e, const RcptOutcome& out, bool account_unusable,
                             const std::string& account_reason, int64_t now_us, double unit_random,
                             const SendingConfig& sending) {
  QueueVerdict v;
  v.reply = AttemptReplyText(out);
  const Decision d =
      Decide({out, account_unusable, e.attempts, e.first_attempt_us, now_us, unit_random}, sending);
  switch (d.action) {
    case Action::kDelivered:
      v.state = QueueState::kDelivered;
      break;
    case Action::kBounce:
      v.state = QueueState::kBounced;
      v.suppress = true;
      break;
    case Action::kFail:
      v.state = QueueState::kFailed;
      break;
    case Action::kPauseAccount:
      v.kind = QueueVerdict::Kind::kPauseAccount;
      v.pause_reason = d.pause_reason;
      v.pause_until = d.pause_until;
      if (account_unusable && !account_reason.empty()) v.reply = account_reason;
      break;
    case Action::kThrottle:
      if (d.give_up) v.state = QueueState::kExpired;
      else v.kind = QueueVerdict::Kind::kThrottle;
      break;
    case Action::kRetry:
      v.state = d.give_up ? QueueState::kExpired : QueueState::kDeferred;
      v.next_attempt_us = d.give_up ? 0 : d.retry_at_us;
      break;
  }
  return v;
}

Outcome MetricOutcome(QueueState s) {
  switch (s) {
    case QueueState::kDelivered: return Outcome::kDelivered;
    case QueueState::kBounced: return Outcome::kBounced;
    case QueueState::kFailed: return Outcome::kFailed;
    case QueueState::kSuppressed: return Outcome::kSuppressed;
    default: return Outcome::kDeferred;
  }
}

}  // namespace salvo
