// Campaign file (TOML): what to send, to which list, from whom. The key names are the contract
// (see README "Campaigns, rendering and DKIM"): id, list, segment, route, from, reply_to,
// subject, html_file, text_file, headers, track_clicks, track_opens, window, per_recipient_tz. Unknown keys and wrong types
// are errors naming the file and line. Relative paths resolve against the campaign file's dir.
// Trust: the file is operator input, but still parsed with size limits and full validation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/policy/send_window.h"

namespace salvo {

struct CampaignConfig {
  std::string path;      // the campaign file as given (messages)
  std::string base_dir;  // its directory; html_file / text_file are resolved against it
  std::string id;        // [A-Za-z0-9._-], 1..64 bytes
  std::string list;
  std::string segment;   // optional; evaluated by the campaign runner
  std::string route;     // optional
  std::string from;      // "Display Name <addr@domain>" or "addr@domain"
  std::string reply_to;  // optional, same forms as from
  std::string subject;   // may contain {{field}} / {{field|default}}
  std::string html_file; // absolute after parsing
  std::string text_file; // optional; absolute after parsing; empty: generated from the HTML
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, in file order
  bool track_clicks = true;
  bool track_opens = false;
  // window = { days, from, to, tz[, per_recipient_tz] }: nothing is handed to SMTP outside it.
  // per_recipient_tz (in the window or top-level) names a recipient field holding its zone.
  std::optional<SendWindow> window;
};

// Reads and validates a campaign file (<= 1 MB).
[[nodiscard]] absl::StatusOr<CampaignConfig> LoadCampaign(const std::string& path);
// Same from text (tests); `path` is used in messages and for resolving relative paths.
[[nodiscard]]
absl::StatusOr<CampaignConfig> ParseCampaign(std::string_view toml_text, const std::string& path);

// An extra header's name (campaign `headers`, the inject API's content.headers): an RFC 5322
// field-name of printable ASCII except ':' and space, 1..76 characters.
bool ValidHeaderName(std::string_view s);

// A template for responders and deliveries (salvo.toml [[responder]] / [[delivery]] template =):
// a campaign file without list, segment and route (the section names them). `id` is optional;
// default `default_id` (the responder's name): it is the campaign id carried in the tokens.
[[nodiscard]] absl::StatusOr<CampaignConfig> LoadCampaignTemplate(const std::string& path,
                                                                  const std::string& default_id);
[[nodiscard]] absl::StatusOr<CampaignConfig> ParseCampaignTemplate(std::string_view toml_text,
                                                                   const std::string& path,
                                                                   const std::string& default_id);

}  // namespace salvo
