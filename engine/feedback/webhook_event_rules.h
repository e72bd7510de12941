// What each provider's webhook event means for the recipient, as data: one table of rules
// (engine/feedback/webhook_event_rules.cc), checked in order, the first match wins. A provider's
// new event name or qualifier is one line there. Rules follow tests/fixtures/README.md ("Rules
// behind the expected classes") and each provider's event documentation.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "engine/feedback/feedback_event.h"
#include "engine/feedback/webhook_parser.h"

namespace salvo {

struct WebhookEventRule {
  WebhookProvider provider;
  std::string_view event;  // the provider's event type; "*" = any
  std::string_view field;  // "" = no condition; else the event field that must equal `value`
  std::string_view value;  // as the parser reads it: strings verbatim, numbers in decimal,
                           // booleans "true" / "false"
  FeedbackClass klass;
};

// The rules, in order.
std::span<const WebhookEventRule> WebhookEventRules();

// Class of a `provider` event of type `event`; `field(name)` returns the event's field as text
// ("" when absent). kIgnore when no rule matches.
FeedbackClass ClassifyWebhookEvent(WebhookProvider provider, std::string_view event,
                                   const std::function<std::string(std::string_view)>& field);

}  // namespace salvo
