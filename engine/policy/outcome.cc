// The outcome decision (see outcome.h).
#include "engine/policy/outcome.h"

#include "absl/strings/str_cat.h"

#include "engine/policy/reply_class.h"
#include "engine/policy/throttle.h"

namespace salvo {

Decision Decide(const Attempt& a, const SendingConfig& sending, const ProviderReplyTable& table) {
  Decision d;
  const RcptOutcome& out = a.outcome;
  d.first_attempt_us = a.first_attempt_us != 0 ? a.first_attempt_us : a.now_us;
  if (out.result == RcptResult::kDelivered) {
    d.action = Action::kDelivered;
    return d;
  }
  if (const ProviderReplyRule* rule = table.Match(out.reply)) {
    d.action = Action::kPauseAccount;
    d.pause_reason = std::string(AccountReplyClassName(rule->klass));
    d.pause_until = rule->PauseEnd(a.now_us / 1'000'000);
    return d;
  }
  ReplyClass cls = ClassifyReply(out.reply);
  if (out.connection_level && cls != ReplyClass::kAuth && cls != ReplyClass::kThrottle)
    cls = ReplyClass::kSoft;
  if (a.account_unusable) cls = ReplyClass::kAuth;
  const int64_t retry_for = absl::ToInt64Microseconds(sending.retry_for);
  switch (cls) {
    case ReplyClass::kDelivered:  // a 2xx that did not deliver cannot happen; treat as soft
      break;
    case ReplyClass::kHard:
      d.action = Action::kBounce;
      return d;
    case ReplyClass::kPolicy:
      if (out.result == RcptResult::kRejected) {
        d.action = Action::kFail;
        return d;
      }
      break;  // a 4xx classed as policy: retried like soft
    case ReplyClass::kAuth:
      d.action = Action::kPauseAccount;
      d.pause_reason = std::string(AccountReplyClassName(AccountReplyClass::kAuth));
      return d;
    case ReplyClass::kThrottle:
      // Throttles burn no attempt, but retry_for still bounds them.
      d.action = Action::kThrottle;
      d.give_up = a.now_us - d.first_attempt_us > retry_for;
      return d;
    case ReplyClass::kSoft:
    case ReplyClass::kQuota:
      break;
  }
  // Soft, over quota, connection failures: retry with backoff until retry_for.
  d.action = Action::kRetry;
  d.attempts = a.attempts + 1;
  const int64_t next = a.now_us + RetryDelayUs(sending, d.attempts, a.unit_random);
  d.give_up = next - d.first_attempt_us > retry_for;
  d.retry_at_us = d.give_up ? 0 : next;
  return d;
}

std::string AttemptReplyText(const RcptOutcome& out) {
  if (!out.connection_level || out.failure.empty()) return out.reply.ToString();
  return out.reply.code ? absl::StrCat(out.failure, ": ", out.reply.ToString()) : out.failure;
}

}  // namespace salvo
