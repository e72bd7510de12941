// [[responder]] and [[delivery]] sections of salvo.toml: what the daemon queues when a lead
// arrives through the leads API (POST /api/v1/lists/{list}/leads) or confirms its address.
// A responder mails the lead itself (a welcome, a confirmation request, a follow-up after
// `delay`); a delivery mails fixed addresses (a buyer) with the lead's fields filled in.
// Parsed with the rest of salvo.toml (errors name the file, line and key); the routes must have
// purpose = "responder", and LoadConfig reads each template (a campaign file without list and
// segment) so that a missing or broken one is a config error naming the responder.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/config/campaign.h"

namespace salvo {

struct Config;
class TableReader;

// confirmation: sent without marketing consent (a receipt, a welcome the lead asked for);
// marketing: needs consent, like a broadcast; double_opt_in: asks the lead to confirm its
// address ({{confirm_url}}); confirming records consent.
enum class ResponderKind : uint8_t { kConfirmation, kMarketing, kDoubleOptIn };
std::string_view ResponderKindName(ResponderKind k);

struct ResponderConfig {
  std::string name;           // 1..64 of A-Z a-z 0-9 . _ -
  std::string list;
  std::string template_file;  // absolute after parsing
  std::string route;          // a [[route]] with purpose = "responder"
  ResponderKind kind = ResponderKind::kConfirmation;
  absl::Duration delay = absl::ZeroDuration();  // first attempt this long after the lead arrived
  std::string segment;        // optional; the lead must match it
  std::string after;          // "" (when the lead arrives) or "confirmed" (double opt-in done)
  int line = 0;               // of the section, for messages
  CampaignConfig tmpl;        // the template, read by LoadConfig (ParseConfig leaves it empty)
};

struct DeliveryConfig {
  std::string name;
  std::string list;
  std::vector<std::string> to;  // fixed recipients (the buyer)
  std::string template_file;
  std::string route;
  int line = 0;
  CampaignConfig tmpl;
};

// Reads every [[responder]] and [[delivery]] table of the root into c->responders /
// c->deliveries (paths resolved against the config's directory). The first error goes to the root's status.
void ParseResponderSections(TableReader* root, Config* c);
// Cross-checks against the rest of the config: unique names, routes that exist and have
// purpose = "responder", a list and a template, `after = "confirmed"` only on marketing
// responders of a list that has a double_opt_in responder.
[[nodiscard]] absl::Status ValidateResponders(const Config& c);
// Reads and parses each template file (LoadConfig).
[[nodiscard]] absl::Status LoadResponderTemplates(Config* c);

}  // namespace salvo
