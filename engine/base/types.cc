#include "engine/base/types.h"

namespace salvo {

std::string_view SuppressionReasonName(SuppressionReason r) {
  switch (r) {
    case SuppressionReason::kUnsubscribe: return "unsubscribe";
    case SuppressionReason::kHardBounce: return "hard_bounce";
    case SuppressionReason::kComplaint: return "complaint";
    case SuppressionReason::kManual: return "manual";
  }
  return "manual";
}

bool ParseSuppressionReason(std::string_view s, SuppressionReason* out) {
  for (auto r : {SuppressionReason::kUnsubscribe, SuppressionReason::kHardBounce,
                 SuppressionReason::kComplaint, SuppressionReason::kManual}) {
    if (s == SuppressionReasonName(r)) {
      *out = r;
      return true;
    }
  }
  return false;
}

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPending: return "pending";
    case Outcome::kDelivered: return "delivered";
    case Outcome::kDeferred: return "deferred";
    case Outcome::kBounced: return "bounced";
    case Outcome::kFailed: return "failed";
    case Outcome::kSuppressed: return "suppressed";
    case Outcome::kNoConsent: return "no_consent";
    case Outcome::kOutsideSegment: return "outside_segment";
  }
  return "pending";
}

}  // namespace salvo
