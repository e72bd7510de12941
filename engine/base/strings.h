// Small string helpers for text that came from outside.
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace salvo {

// Debian 12's abseil is built with its own absl::string_view (not std::string_view): convert
// explicitly when passing std::string_view to absl::StrCat, StrSplit, ... e.g. StrCat(Av(sv)).
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Copy of `in` safe to store and log: bytes outside printable ASCII (and CR/LF/TAB) become '?',
// and the result is cut to `max_len` bytes with "..." appended when cut.
std::string SanitizeForLog(std::string_view in, size_t max_len = 512);

// RFC 5322 atext (its ASCII part): what an unquoted local part or a header atom may contain.
inline bool IsAtext(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// Length of the well-formed UTF-8 sequence (RFC 3629) starting at s[i]: 1 for ASCII, 2..4 for a
// valid multi-byte sequence, 0 when invalid (overlong, surrogate, > U+10FFFF, truncated).
size_t Utf8SeqLen(std::string_view s, size_t i);

// `s` with ASCII A-Z folded to a-z; other bytes unchanged (UTF-8 stays valid).
std::string AsciiLower(std::string_view s);

// a == b with ASCII letters compared case-insensitively (SMTP keywords, header field names).
bool EqualsAsciiNoCase(std::string_view a, std::string_view b);

// 1 to max_len bytes, each an ASCII letter, digit, '-', '_' or '.': campaign ids, template field
// names, DKIM domains and selectors.
bool IsNameToken(std::string_view s, size_t max_len);

// `s` without the leading / trailing / both bytes that occur in `chars` (callers name the exact
// set they mean: " \t" for header values and CSV fields, " \t\r\n" for lines, ...).
constexpr std::string_view TrimLeft(std::string_view s, std::string_view chars) {
  const size_t i = s.find_first_not_of(chars);
  return i == std::string_view::npos ? std::string_view() : s.substr(i);
}
constexpr std::string_view TrimRight(std::string_view s, std::string_view chars) {
  const size_t i = s.find_last_not_of(chars);
  return i == std::string_view::npos ? std::string_view() : s.substr(0, i + 1);
}
constexpr std::string_view Trim(std::string_view s, std::string_view chars) {
  return TrimRight(TrimLeft(s, chars), chars);
}
inline constexpr std::string_view kBlanks = " \t";                  // RFC 5234 WSP
inline constexpr std::string_view kAsciiSpace = " \t\n\v\f\r";      // C isspace()

// True when `s` contains CR or LF (header injection guard).
inline bool HasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// out->append(p, n) with a length the compiler cannot bound: GCC expands a copy of a length it
// knows to be small (e.g. <= 75) as an inline `rep movsq`, whose start-up cost dominates the
// short copies of the render path (MIME encoding, DKIM canonicalization); an unknown length calls the library memcpy.
inline void AppendOpaque(std::string* out, const char* p, size_t n) {
#if defined(__GNUC__)
  asm("" : "+r"(n));
#endif
  out->append(p, n);
}

}  // namespace salvo
