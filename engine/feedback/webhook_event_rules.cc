// The webhook event table (see webhook_event_rules.h). Per provider: the conditional rules of an
// event first, then its unconditional rule, and a last "*" rule for everything else.
#include "engine/feedback/webhook_event_rules.h"

namespace salvo {
namespace {

using P = WebhookProvider;
using C = FeedbackClass;

constexpr WebhookEventRule kRules[] = {
    // SendGrid: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
    {P::kSendGrid, "bounce", "type", "blocked", C::kSoftBounce},
    {P::kSendGrid, "bounce", "", "", C::kHardBounce},
    {P::kSendGrid, "dropped", "reason", "Bounced Address", C::kHardBounce},
    {P::kSendGrid, "dropped", "reason", "Invalid", C::kHardBounce},
    {P::kSendGrid, "dropped", "reason", "Spam Reporting Address", C::kComplaint},
    {P::kSendGrid, "dropped", "reason", "Unsubscribed Address", C::kUnsubscribe},
    {P::kSendGrid, "dropped", "reason", "Unsubscribed Group", C::kUnsubscribe},
    {P::kSendGrid, "deferred", "", "", C::kSoftBounce},
    {P::kSendGrid, "spamreport", "", "", C::kComplaint},
    {P::kSendGrid, "unsubscribe", "", "", C::kUnsubscribe},
    {P::kSendGrid, "group_unsubscribe", "", "", C::kUnsubscribe},
    {P::kSendGrid, "*", "", "", C::kIgnore},  // processed, delivered, open, click, resubscribe

    // Mailgun: event-data.event, with severity for "failed".
    {P::kMailgun, "failed", "severity", "permanent", C::kHardBounce},
    {P::kMailgun, "failed", "", "", C::kSoftBounce},
    {P::kMailgun, "complained", "", "", C::kComplaint},
    {P::kMailgun, "unsubscribed", "", "", C::kUnsubscribe},
    {P::kMailgun, "*", "", "", C::kIgnore},  // accepted, delivered, opened, clicked, stored

    // Amazon SES (SNS notifications): fields as the parser hands them over.
    {P::kSes, "Bounce", "bounceType", "Permanent", C::kHardBounce},
    {P::kSes, "Bounce", "", "", C::kSoftBounce},
    {P::kSes, "Complaint", "complaintFeedbackType", "not-spam", C::kIgnore},
    {P::kSes, "Complaint", "", "", C::kComplaint},
    {P::kSes, "DeliveryDelay", "", "", C::kSoftBounce},
    {P::kSes, "Subscription", "opt_out", "true", C::kUnsubscribe},
    {P::kSes, "*", "", "", C::kIgnore},  // Delivery, Send, Open, Click, Reject, ...

    // Postmark: RecordType, and TypeCode for bounces (the BounceTypeCode list of its API).
    {P::kPostmark, "Bounce", "TypeCode", "1", C::kHardBounce},       // HardBounce
    {P::kPostmark, "Bounce", "TypeCode", "100000", C::kHardBounce},  // BadEmailAddress
    {P::kPostmark, "Bounce", "TypeCode", "16", C::kUnsubscribe},     // Unsubscribe request
    {P::kPostmark, "Bounce", "TypeCode", "100001", C::kComplaint},   // SpamComplaint
    {P::kPostmark, "Bounce", "TypeCode", "32", C::kIgnore},          // Subscribe request
    {P::kPostmark, "Bounce", "TypeCode", "64", C::kIgnore},          // AutoResponder
    {P::kPostmark, "Bounce", "TypeCode", "128", C::kIgnore},         // AddressChange
    {P::kPostmark, "Bounce", "TypeCode", "1024", C::kIgnore},        // OpenRelayTest
    {P::kPostmark, "Bounce", "TypeCode", "16384", C::kIgnore},       // ChallengeVerification
    {P::kPostmark, "Bounce", "TypeCode", "100003", C::kIgnore},      // Unconfirmed
    {P::kPostmark, "Bounce", "TypeCode", "100008", C::kIgnore},      // InboundError
    {P::kPostmark, "Bounce", "TypeCode", "100010", C::kIgnore},      // TemplateRenderingFailed
    {P::kPostmark, "Bounce", "", "", C::kSoftBounce},                // Transient, SoftBounce, ...
    {P::kPostmark, "SpamComplaint", "", "", C::kComplaint},
    {P::kPostmark, "SubscriptionChange", "SuppressSending", "true", C::kUnsubscribe},
    {P::kPostmark, "*", "", "", C::kIgnore},  // Delivery, Open, Click, SubscriptionChange off

    // SparkPost: msys.*_event.type, bounce_class 10, 30, 90 are hard.
    {P::kSparkPost, "bounce", "bounce_class", "10", C::kHardBounce},
    {P::kSparkPost, "bounce", "bounce_class", "30", C::kHardBounce},
    {P::kSparkPost, "bounce", "bounce_class", "90", C::kHardBounce},
    {P::kSparkPost, "bounce", "", "", C::kSoftBounce},
    {P::kSparkPost, "out_of_band", "bounce_class", "10", C::kHardBounce},
    {P::kSparkPost, "out_of_band", "bounce_class", "30", C::kHardBounce},
    {P::kSparkPost, "out_of_band", "bounce_class", "90", C::kHardBounce},
    {P::kSparkPost, "out_of_band", "", "", C::kSoftBounce},
    {P::kSparkPost, "delay", "", "", C::kSoftBounce},
    {P::kSparkPost, "spam_complaint", "", "", C::kComplaint},
    {P::kSparkPost, "list_unsubscribe", "", "", C::kUnsubscribe},
    {P::kSparkPost, "link_unsubscribe", "", "", C::kUnsubscribe},
    {P::kSparkPost, "*", "", "", C::kIgnore},

    // Mailjet: event, hard_bounce, error_related_to / error for "blocked".
    {P::kMailjet, "bounce", "hard_bounce", "true", C::kHardBounce},
    {P::kMailjet, "bounce", "", "", C::kSoftBounce},
    {P::kMailjet, "blocked", "error_related_to", "mailjet", C::kHardBounce},
    {P::kMailjet, "blocked", "error", "preblocked", C::kHardBounce},
    {P::kMailjet, "blocked", "", "", C::kSoftBounce},
    {P::kMailjet, "spam", "", "", C::kComplaint},
    {P::kMailjet, "unsub", "", "", C::kUnsubscribe},
    {P::kMailjet, "*", "", "", C::kIgnore},  // sent, open, click

    // Brevo: event.
    {P::kBrevo, "hard_bounce", "", "", C::kHardBounce},
    {P::kBrevo, "invalid_email", "", "", C::kHardBounce},
    {P::kBrevo, "soft_bounce", "", "", C::kSoftBounce},
    {P::kBrevo, "deferred", "", "", C::kSoftBounce},
    {P::kBrevo, "blocked", "", "", C::kSoftBounce},
    {P::kBrevo, "error", "", "", C::kSoftBounce},
    {P::kBrevo, "spam", "", "", C::kComplaint},
    {P::kBrevo, "complaint", "", "", C::kComplaint},
    {P::kBrevo, "unsubscribed", "", "", C::kUnsubscribe},
    {P::kBrevo, "*", "", "", C::kIgnore},  // request, delivered, opened, click, ...
};

}  // namespace

std::span<const WebhookEventRule> WebhookEventRules() { return kRules; }

FeedbackClass ClassifyWebhookEvent(WebhookProvider provider, std::string_view event,
                                   const std::function<std::string(std::string_view)>& field) {
  for (const WebhookEventRule& r : kRules) {
    if (r.provider != provider || (r.event != "*" && r.event != event)) continue;
    if (!r.field.empty() && field(r.field) != r.value) continue;
    return r.klass;
  }
  return FeedbackClass::kIgnore;
}

}  // namespace salvo
