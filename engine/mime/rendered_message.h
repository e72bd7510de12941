// One personalized message ready for the wire: a list of byte segments (constant segments
// point into the compiled template, which outlives the message; filled slots are owned here).
// Segments concatenated are the exact message bytes: CRLF line endings only, no bare CR/LF,
// lines <= 998 octets, DKIM-Signature header(s) first when signing is configured.
// The SMTP layer still dot-stuffs (DATA) or chunks (BDAT) them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace salvo {

struct RenderedMessage {
  std::string envelope_from;   // VERP: bounces+TOKEN@bounce_domain
  std::string recipient;       // RCPT TO address (stored form)
  std::vector<std::string_view> segments;  // in order; views into `owned` or the template
  std::vector<std::string> owned;          // storage for filled slots (stable: reserve first)
  size_t size = 0;             // total bytes of segments
  bool body_8bit = false;      // needs BODY=8BITMIME
  bool smtputf8 = false;       // needs SMTPUTF8 (non-ASCII address)
  // Time spent signing (the render's clock): [0] rsa-sha256, [1] ed25519-sha256; 0 = not signed.
  int64_t dkim_sign_ns[2] = {0, 0};

  // Concatenates the segments (tests, salvo render).
  std::string Flatten() const {
    std::string s;
    s.reserve(size);
    for (auto seg : segments) s.append(seg);
    return s;
  }
};

}  // namespace salvo
