// engine/smtp/raw_message.cc — arbitrary bytes -> CRLF-normalized RenderedMessage (send-one).
// Trust: hostile bytes; output has no bare CR/LF.
#include "engine/smtp/raw_message.h"

#include <utility>

namespace salvo {
namespace {

bool HasNonAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

}  // namespace

std::string NormalizeCrlf(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32 + 2);
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

RenderedMessage MessageFromBytes(std::string_view bytes, std::string envelope_from,
                                 std::string recipient) {
  RenderedMessage m;
  m.owned.reserve(1);
  m.owned.push_back(NormalizeCrlf(bytes));
  m.segments.push_back(m.owned[0]);
  m.size = m.owned[0].size();
  m.body_8bit = HasNonAscii(m.owned[0]);
  m.smtputf8 = HasNonAscii(envelope_from) || HasNonAscii(recipient);
  m.envelope_from = std::move(envelope_from);
  m.recipient = std::move(recipient);
  return m;
}

}  // namespace salvo
