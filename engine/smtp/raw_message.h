// engine/smtp/raw_message.h — turns arbitrary message bytes (an .eml file for `salvo send-one`)
// into a RenderedMessage the session can send: line endings normalized to CRLF (a bare CR or LF
// becomes CRLF), a final CRLF added when missing, body_8bit / smtputf8 detected.
//
// Trust: the bytes are hostile; the result never holds a bare CR or LF. Long lines (> 998) are
// left as they are (the server may refuse them: that is an outcome, not an error here).
#pragma once

#include <string>
#include <string_view>

#include "engine/mime/rendered_message.h"

namespace salvo {

// Returns `bytes` with every line ending as CRLF and a CRLF at the end (unless empty).
std::string NormalizeCrlf(std::string_view bytes);

// A message owning its (normalized) bytes in owned[0], with one segment viewing them.
// Do not copy the result (segments would view the source's storage); moving is fine.
RenderedMessage MessageFromBytes(std::string_view bytes, std::string envelope_from,
                                 std::string recipient);

}  // namespace salvo
