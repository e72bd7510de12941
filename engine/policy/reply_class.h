// Classifies an SMTP reply into what the campaign runner does with the recipient. Pure table
// logic over the reply code, the RFC 3463 enhanced code and a few provider phrasings (the text
// is outside input: only searched, never trusted for anything else).
#pragma once

#include <string>
#include <string_view>

#include "engine/smtp/reply.h"

namespace salvo {

enum class ReplyClass : uint8_t {
  kDelivered,   // 2xx
  kHard,        // the address does not exist / is disabled: suppress (hard_bounce, source smtp)
  kPolicy,      // other 5xx, the receiver refuses *us*: failed for this campaign, not suppressed
  kSoft,        // other 4xx / connection failure: retry with backoff until retry_for
  kThrottle,    // rate limiting: slow the account x domain down, retry without burning attempts
  kQuota,       // mailbox over quota: retry, never suppress
  kAuth,        // account refused (535, out of credits): pause the account
};

std::string_view ReplyClassName(ReplyClass c);  // "delivered", "hard", "policy", ...

// Classifies a reply (code 0 = no reply: connection-level failure -> kSoft).
ReplyClass ClassifyReply(const SmtpReply& reply);

// Parses a reply as logs and DSNs show it ("550-5.1.1 text 550-5.1.1 more 550 5.1.1 end", an
// optional "smtp;" prefix) into code, enhanced code and text (continuation prefixes removed).
SmtpReply ParseLoggedReply(std::string_view line);

}  // namespace salvo
