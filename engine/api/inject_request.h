// The body of POST /api/v1/messages (the inject API, shaped like KumoMTA's):
//
//   {"envelope_sender": "bounces@example.com",
//    "content": "From: ...\r\n...\r\n\r\nbody"            raw RFC 5322 text, sent as given, or
//    "content": {"from", "reply_to", "subject", "text_body", "html_body", "headers": {...}},
//    "recipients": [{"email": "a@example.com", "substitutions": {"name": "Ann"}}],
//    "route": "transactional", "track": true}
//
// Parsing only checks the JSON shape and the bounds; addresses are checked by the caller (a bad
// recipient is reported per recipient, not as a malformed request). Trust: the body is hostile;
// every string, array and object is bounded, and an error names the field
// (`recipients[3].substitutions.name: must be a string`). No I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

inline constexpr size_t kInjectMaxRecipients = 10000;
inline constexpr size_t kInjectMaxSubstitutions = 100;   // per recipient
inline constexpr size_t kInjectMaxHeaders = 50;
inline constexpr size_t kInjectMaxNameBytes = 128;       // substitution and header names
inline constexpr size_t kInjectMaxValueBytes = 64 << 10; // one substitution or header value
inline constexpr size_t kInjectMaxShortBytes = 998;      // from, reply_to, subject, sender, route

struct InjectRecipient {
  std::string email;
  std::vector<std::pair<std::string, std::string>> substitutions;  // sorted by name, unique
};

struct InjectRequest {
  std::string envelope_sender;  // may be empty (null sender)
  bool raw = false;             // content was a string
  std::string raw_content;      // raw: the message text as given
  // structured content
  std::string from, reply_to, subject, text_body, html_body;
  std::vector<std::pair<std::string, std::string>> headers;  // in request order
  std::vector<InjectRecipient> recipients;
  std::string route;            // empty: the key's route
  bool track = false;           // structured content: tracked links and open pixel
};

// InvalidArgument naming the field when the body is not such a request.
[[nodiscard]] absl::StatusOr<InjectRequest> ParseInjectRequest(std::string_view body);

}  // namespace salvo
