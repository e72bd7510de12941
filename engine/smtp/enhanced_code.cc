// RFC 3463 enhanced status codes (see enhanced_code.h).
#include "engine/smtp/enhanced_code.h"

namespace salvo {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Digits at s[i..], at most three; returns the index after them (i when none).
size_t Digits(std::string_view s, size_t i) {
  const size_t start = i;
  while (i < s.size() && i - start < 3 && IsDigit(s[i])) ++i;
  return i;
}

}  // namespace

size_t EnhancedCodeLength(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return 0;
  size_t i = Digits(s, 2);
  if (i == 2 || i >= s.size() || s[i] != '.') return 0;
  const size_t detail = i + 1;
  i = Digits(s, detail);
  return i == detail ? 0 : i;
}

std::string_view FindEnhancedCode(std::string_view text) {
  for (size_t i = 0; i + 5 <= text.size(); ++i) {
    if (i > 0 && (IsDigit(text[i - 1]) || text[i - 1] == '.')) continue;
    const size_t n = EnhancedCodeLength(text.substr(i));
    if (n == 0) continue;
    if (i + n < text.size() && (IsDigit(text[i + n]) || text[i + n] == '.')) continue;
    return text.substr(i, n);
  }
  return {};
}

}  // namespace salvo
