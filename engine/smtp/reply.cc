// engine/smtp/reply.cc — SmtpReply as one line of text for reports and logs.
#include "engine/smtp/reply.h"

namespace salvo {

std::string SmtpReply::ToString() const {
  if (code == 0) return "(no reply)";
  std::string s = std::to_string(code);
  if (!enhanced.empty()) {
    s += ' ';
    s += enhanced;
  }
  if (!text.empty()) {
    s += ' ';
    for (char c : text) s += (c == '\n') ? ' ' : c;  // multi-line replies on one line
  }
  return s;
}

}  // namespace salvo
