// engine/smtp: what SMTP submission does to an accepted message before it is queued: the route
// it goes out through (from the API key, or the X-Salvo-Route header the key may set, which is
// removed) and the Received: trace header (RFC 5321 §4.4) put on top. Pure functions over the
// CRLF-normalized body that engine/smtp/server_session.h produces; the header section is
// hostile text (bounded by the session's message limit, never echoed unsanitized).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace salvo {

inline constexpr std::string_view kRouteHeader = "X-Salvo-Route";

// Removes every X-Salvo-Route field (with its folded continuation lines) from the header section
// of `*body` and returns its unfolded, trimmed value; nullopt when there is none. InvalidArgument
// when the fields disagree or a value is empty; *body is then unchanged.
[[nodiscard]] absl::StatusOr<std::optional<std::string>> TakeRouteHeader(std::string* body);

// The route of a message submitted with key `key_name`: the key's route when it has one (a
// header naming another route is refused: the key may not leave its route), else the header's.
// FailedPrecondition naming the key when neither gives one.
[[nodiscard]] absl::StatusOr<std::string> SubmissionRoute(std::string_view key_name,
                                                          std::string_view key_route,
                                                          const std::optional<std::string>& header);

struct ReceivedTrace {
  std::string helo;       // the client's EHLO name (sanitized again here)
  std::string peer_ip;    // "127.0.0.1"
  std::string hostname;   // ours
  bool tls = false;       // ESMTPSA or ESMTPA (RFC 3848)
  std::string id;         // the first queue id
  absl::Time at;
};

// "Received: from HELO ([IP])\r\n\tby HOST (salvo) with ESMTPSA id ID;\r\n\tDATE\r\n".
std::string ReceivedHeader(const ReceivedTrace& t);

}  // namespace salvo
