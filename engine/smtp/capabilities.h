// engine/smtp/capabilities.h — the ESMTP extensions a server announced in its EHLO reply.
//
// Trust: the EHLO reply is hostile; it has already been bounded and sanitized by ReplyParser.
// Unknown keywords are ignored; a malformed SIZE value counts as "no limit announced".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/smtp/reply.h"

namespace salvo {

struct SmtpCapabilities {
  bool esmtp = false;                 // EHLO succeeded (false after a HELO fallback)
  bool pipelining = false;            // RFC 2920
  bool size = false;                  // RFC 1870 SIZE offered
  uint64_t size_limit = 0;            // SIZE n; 0 = no limit announced
  bool eightbitmime = false;          // RFC 6152
  bool smtputf8 = false;              // RFC 6531
  bool starttls = false;              // RFC 3207
  bool enhanced_status_codes = false; // RFC 2034
  bool chunking = false;              // RFC 3030 BDAT
  bool auth_plain = false;            // RFC 4616
  bool auth_login = false;            // draft-murchison-sasl-login (SendGrid, Office 365, ...)
  std::vector<std::string> auth_mechanisms;  // all announced mechanisms, upper case
  std::string server_name;            // first word of the EHLO reply's first line

  // One line for humans, e.g. "PIPELINING SIZE=10240000 8BITMIME STARTTLS AUTH=PLAIN,LOGIN".
  std::string ToString() const;
};

// Parses a 250 EHLO reply (text lines joined with "\n", as ReplyParser stores them).
SmtpCapabilities ParseEhloReply(const SmtpReply& ehlo_reply);

}  // namespace salvo
