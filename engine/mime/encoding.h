// Byte-level encoders for building messages: UTF-8 sanitizing, HTML escaping, quoted-printable
// (RFC 2045) and header encoding (RFC 5322 folding, RFC 2047 encoded-words, quoted phrases).
// Trust: inputs may be hostile (recipient fields); every output is CRLF-only, 7-bit for bodies,
// with lines <= 76 (QP) / <= 78 where possible and never > 998 (headers).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/base/base64.h"  // AppendBase64, used by DKIM and RFC 2047 words

namespace salvo {

// Valid UTF-8 copy of `in`: invalid sequences become U+FFFD. With `single_line`, C0 controls
// (CR, LF, TAB, ...) and DEL become a space. The result is cut (at a character boundary) to at
// most `max_bytes`.
std::string SanitizeUtf8(std::string_view in, bool single_line, size_t max_bytes = 64 * 1024);
// The same, appended to *out (max_bytes counts the appended bytes).
void AppendSanitizedUtf8(std::string_view in, bool single_line, size_t max_bytes,
                         std::string* out);

// Appends `in` with & < > " ' escaped as HTML entities.
void AppendHtmlEscaped(std::string_view in, std::string* out);

// Quoted-printable encoder whose output is also invariant under DKIM relaxed body
// canonicalization: no TAB (=09), never two WSP in a row or WSP at a line end (=20), so the body
// hash can be computed over the bytes as they are. A '.' or "From " at a line start is encoded
// (=2E, =46rom) so no transport can mangle it. CR, LF and CRLF in the input become a hard CRLF.
// Lines are at most 76 octets including a soft-break '='.
class QpEncoder {
 public:
  explicit QpEncoder(std::string* out) : out_(out) {}
  void Append(std::string_view in);
  // Ends the current line with a soft break if it is not empty (next output starts a line).
  void SoftBreak();
  // Ends the encoded text (a pending space is written as =20); no line break is added.
  void Finish();
  size_t column() const { return col_; }

 private:
  void AppendOne(unsigned char c);
  void Token(const char* s, size_t n, bool literal_space);
  void FlushSpace(bool at_line_end);
  void HardBreak();
  std::string* out_;
  size_t col_ = 0;
  bool last_wsp_ = false;       // the last octet emitted on this line is a literal space
  bool pending_space_ = false;  // a space whose encoding depends on what follows
  bool pending_cr_ = false;     // a CR was seen: a following LF belongs to it
};

// Appends "Name: value\r\n" for an unstructured value (Subject, custom headers): folded at spaces
// when printable ASCII without "=?", otherwise as RFC 2047 UTF-8 B encoded-words of <= 75 chars,
// one per folded line. `value` must be sanitized (valid UTF-8, single line).
void AppendUnstructuredHeader(std::string_view name, std::string_view value, std::string* out);

// Appends a display-name phrase: atoms as is, ASCII with specials as a quoted-string, non-ASCII
// as encoded-words. `value` must be sanitized.
void AppendPhrase(std::string_view value, std::string* out);


}  // namespace salvo
