// See mailto_unsubscribe.h.
#include "tools/salvo/mailto_unsubscribe.h"

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"

namespace salvo {

absl::StatusOr<MailtoOutcome> ApplyUnsubscribeMail(FeedbackService& svc,
                                                   const UnsubscribeMail& mail,
                                                   ApplyCounts* counts, std::string* detail) {
  detail->clear();
  if (mail.tags.empty()) {
    *detail = "no salvo tag in the address or subject";
    return MailtoOutcome::kNoTag;
  }
  BounceTagResolver* tags = svc.tags();
  std::string campaign, address;
  bool verified = false;
  for (const std::string& t : mail.tags) {
    if (tags != nullptr && tags->Resolve(t, &campaign, &address)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    *detail = absl::StrCat("tag ", SanitizeForLog(mail.tags.front(), 64),
                           " does not verify (forged or altered)");
    return MailtoOutcome::kForgedTag;
  }
  if (address.empty()) {
    *detail = "the tag names no stored recipient";
    return MailtoOutcome::kUnknownRecipient;
  }
  FeedbackEvent ev;
  ev.provider = "mailto";
  ev.event_id = absl::StrCat(campaign, ":", address);
  ev.recipient = address;
  ev.klass = FeedbackClass::kUnsubscribe;
  ev.type = "unsubscribe";
  ev.reason = mail.message_id.empty() ? "unsubscribe mail"
                                      : absl::StrCat("unsubscribe mail ", mail.message_id);
  ev.campaign_id = campaign;
  RETURN_IF_ERROR(svc.Apply({ev}, "unsubscribe", counts));
  *detail = address;
  return MailtoOutcome::kUnsubscribed;
}

}  // namespace salvo
