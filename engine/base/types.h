// Shared value types used across modules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace salvo {

// Why an address is globally suppressed.
enum class SuppressionReason : uint8_t { kUnsubscribe, kHardBounce, kComplaint, kManual };

std::string_view SuppressionReasonName(SuppressionReason r);  // "unsubscribe", "hard_bounce", ...
bool ParseSuppressionReason(std::string_view s, SuppressionReason* out);

// Final or interim outcome of one recipient in one campaign.
enum class Outcome : uint8_t {
  kPending = 0,   // not attempted yet
  kDelivered,     // 2xx after DATA
  kDeferred,      // 4xx / connection failure; retried until retry_for, then final
  kBounced,       // hard 5xx: address suppressed
  kFailed,        // other 5xx (sender-side refusal): failed for this campaign only
  kSuppressed,    // skipped: globally suppressed at send time
  kNoConsent,     // skipped: no opt-in record
  kOutsideSegment // skipped: segment predicate false
};

std::string_view OutcomeName(Outcome o);  // "delivered", "deferred", "bounced", ...

}  // namespace salvo
