// What happens to a recipient after one attempt: the one place that decides, from the server's
// reply (or the connection-level failure) and where the recipient stands, whether it is
// delivered, bounced (and suppressed), failed, retried after a backoff, slowed by a throttle, or
// handed to another account because this one must pause. Pure: the clock and the backoff's
// randomness are inputs. The campaign runner (and later the queue) only applies a Decision.
//
// In order: a reply about the ACCOUNT (engine/policy/provider_replies.tsv) or an account the
// runtime found unusable (AUTH refused) pauses the account; then the reply class
// (engine/policy/reply_class.h, tested against tests/fixtures/smtp_replies.tsv): 2xx delivered,
// hard 5xx bounced + suppressed, other 5xx failed, throttling 4xx slowed, other 4xx and
// connection failures retried with exponential backoff until [sending] retry_for.
#pragma once

#include <cstdint>
#include <string>

#include "engine/config/config.h"
#include "engine/policy/provider_replies.h"
#include "engine/smtp/reply.h"

namespace salvo {

enum class Action : uint8_t {
  kDelivered,     // final
  kBounce,        // final; the address goes to global suppression (hard_bounce, source smtp)
  kFail,          // final for this campaign; the receiver refuses the sender, not the address
  kPauseAccount,  // pause the account (pause_reason, pause_until); retry the recipient at once
                  // elsewhere; no attempt is burned
  kThrottle,      // slow account x domain down; retry when its rate allows; no attempt burned
  kRetry,         // deferred: retry at retry_at_us
};

struct Decision {
  Action action = Action::kRetry;
  std::string pause_reason;    // kPauseAccount: account_quota, ..., account_auth
  int64_t pause_until = 0;     // kPauseAccount: unix seconds; 0 = until resumed by hand
  bool give_up = false;        // kThrottle / kRetry: retry_for is over: deferred, final
  int64_t retry_at_us = 0;     // kRetry (when !give_up)
  uint32_t attempts = 0;       // kRetry: deferrals counted after this one
  int64_t first_attempt_us = 0;  // the recipient's first attempt (now when this was it)
};

struct Attempt {
  RcptOutcome outcome;
  bool account_unusable = false;  // the runtime found the account unusable (AUTH refused, ...)
  uint32_t attempts = 0;          // deferrals before this attempt
  int64_t first_attempt_us = 0;   // 0: this is the first attempt
  int64_t now_us = 0;
  double unit_random = 0.5;       // [0, 1): the backoff's jitter
};

Decision Decide(const Attempt& a, const SendingConfig& sending,
                const ProviderReplyTable& table = ProviderReplyTable::Default());

// The text kept for an attempt: the server's reply, or the connection-level reason (with the
// reply that came with it, if any).
std::string AttemptReplyText(const RcptOutcome& out);

}  // namespace salvo
