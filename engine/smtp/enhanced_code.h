// RFC 3463 enhanced status codes ("5.1.1"): a class digit 2, 4 or 5, then a subject and a detail
// of one to three digits each. One parser for the reply parser, the reply classifier and the
// DSN reader; what may stand around a code is each caller's rule.
#pragma once

#include <cstddef>
#include <string_view>

namespace salvo {

// Length of the code at the start of `s` (at most three digits per part are taken), 0 when `s`
// does not start with one.
size_t EnhancedCodeLength(std::string_view s);

// The first code in free text that is not glued to a digit or '.' on either side ("" when none):
// "smtp; 550 5.1.1 <a@b>" -> "5.1.1"; "1.5.1.1" and "5.1.1234" are not codes.
std::string_view FindEnhancedCode(std::string_view text);

}  // namespace salvo
