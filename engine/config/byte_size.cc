// ParseByteSize (see byte_size.h).
#include "engine/config/byte_size.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {

[[nodiscard]] absl::StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  const std::string t(absl::StripAsciiWhitespace(Av(text)));
  size_t digits = 0;
  while (digits < t.size() && absl::ascii_isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  const std::string unit = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(t.substr(digits)));
  uint64_t n = 0;
  int shift = -1;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "KB" || unit == "KIB" || unit == "K") shift = 10;
  else if (unit == "MB" || unit == "MIB" || unit == "M") shift = 20;
  else if (unit == "GB" || unit == "GIB" || unit == "G") shift = 30;
  constexpr uint64_t kMax = uint64_t{1} << 40;
  if (digits == 0 || digits > 13 || shift < 0 || !absl::SimpleAtoi(t.substr(0, digits), &n) ||
      n > (kMax >> shift))
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid size \"", t, "\" (use e.g. \"64MB\", \"512KB\", \"1GB\"; at most 1 TB)"));
  return n << shift;
}

}  // namespace salvo
