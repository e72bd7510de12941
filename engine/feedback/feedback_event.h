// One classified feedback event (a webhook event, a DSN recipient block, an ARF report): who it
// is about and what it means for suppression. Produced by the pure parsers in engine/feedback/;
// the daemon and `salvo bounces ingest` apply it to the store.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace salvo {

// What an event means for the recipient (tests/fixtures/README.md, "Rules behind the expected
// classes"). Only hard_bounce, complaint and unsubscribe lead to global suppression.
enum class FeedbackClass : uint8_t { kHardBounce, kSoftBounce, kComplaint, kUnsubscribe, kIgnore };

std::string_view FeedbackClassName(FeedbackClass c);  // "hard_bounce", "soft_bounce", ...
bool ParseFeedbackClass(std::string_view s, FeedbackClass* out);
// True for the classes that put the address into global suppression.
bool Suppresses(FeedbackClass c);

struct FeedbackEvent {
  std::string provider;     // sendgrid, mailgun, ses, postmark, sparkpost, mailjet, brevo, dsn, arf
  std::string event_id;     // unique per provider and recipient event (idempotency key)
  std::string recipient;    // address as given by the source (not normalized); empty: none named
  FeedbackClass klass = FeedbackClass::kIgnore;
  std::string type;         // the source's own event type ("bounce", "dropped", "failed", ...)
  std::string reason;       // status / diagnostic / provider reason (sanitized, bounded)
  std::string campaign_id;  // from salvo's own tag (VERP / X-Salvo-ID) when known
};

// Bounds applied to every text copied out of a payload.
inline constexpr size_t kMaxReasonBytes = 512;
inline constexpr size_t kMaxIdBytes = 256;
inline constexpr size_t kMaxEventsPerPayload = 100000;

}  // namespace salvo
