// An SMTP server reply and a recipient's outcome, as data (a 5xx is an outcome, not an error).
#pragma once

#include <cstdint>
#include <string>

namespace salvo {

struct SmtpReply {
  int code = 0;            // 3-digit basic code, e.g. 250; 0 when there was no reply
  std::string enhanced;    // RFC 3463 "5.1.1" when present, else empty
  std::string text;        // all lines joined with "\n", codes stripped, sanitized, bounded
  std::string ToString() const;  // "550 5.1.1 user unknown"
};

enum class RcptResult : uint8_t {
  kDelivered,  // 2xx after the end of data
  kDeferred,   // 4xx, or a connection-level failure (timeout, TLS, peer closed, DNS)
  kRejected,   // 5xx
};

struct RcptOutcome {
  RcptResult result = RcptResult::kDeferred;
  SmtpReply reply;             // the reply that decided it (RCPT or end-of-data)
  std::string failure;         // connection-level reason, e.g. "timeout waiting for RCPT reply",
                               // "TLS handshake failed: certificate verify failed", "peer closed"
  bool connection_level = false;
};

}  // namespace salvo
