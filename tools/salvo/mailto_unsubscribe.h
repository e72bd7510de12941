// Unsubscribe requests mailed to [tracking] unsubscribe_mailto (read by `salvo bounces ingest`):
// the tag in the address or subject (engine/feedback/unsubscribe_mail.h) is verified and
// resolved to its recipient, who goes into global suppression (reason unsubscribe, source
// mailto, salvo_unsubscribes_total{source="mailto"}), once per campaign and recipient. A tag
// that does not verify (forged, altered, signed with a key no longer in the ring) names nobody.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "engine/feedback/unsubscribe_mail.h"
#include "tools/salvo/feedback_service.h"

namespace salvo {

enum class MailtoOutcome : uint8_t {
  kUnsubscribed,      // applied (or already applied before: counts->duplicates)
  kNoTag,             // no tag in the address or subject: nobody named
  kForgedTag,         // no candidate verifies: nobody named
  kUnknownRecipient,  // authentic tag, but no stored recipient has its id
};

// *detail: the recipient, or what was wrong (for the report line). Errors: the store failed.
[[nodiscard]] absl::StatusOr<MailtoOutcome> ApplyUnsubscribeMail(FeedbackService& svc,
                                                                 const UnsubscribeMail& mail,
                                                                 ApplyCounts* counts,
                                                                 std::string* detail);

}  // namespace salvo
