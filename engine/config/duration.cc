#include "engine/config/duration.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {

[[nodiscard]] absl::StatusOr<absl::Duration> ParseConfigDuration(std::string_view text) {
  std::string t(absl::StripAsciiWhitespace(Av(text)));
  int64_t secs = 0;
  if (absl::SimpleAtoi(t, &secs) && secs >= 0) return absl::Seconds(secs);
  absl::Duration d;
  if (!t.empty() && absl::ParseDuration(t, &d) && d >= absl::ZeroDuration()) return d;
  // Whole days first ("7d", "2d12h"): abseil's parser has no day unit.
  if (size_t at = t.find('d'); at > 0 && at != std::string::npos) {
    int64_t days = 0;
    absl::Duration rest = absl::ZeroDuration();
    if (absl::SimpleAtoi(t.substr(0, at), &days) && days >= 0 && days <= 100000 &&
        (at + 1 == t.size() ||
         (absl::ParseDuration(t.substr(at + 1), &rest) && rest >= absl::ZeroDuration())))
      return absl::Hours(24 * days) + rest;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration \"", t, "\" (use e.g. \"30s\", \"5m\", \"24h\", \"7d\")"));
}

}  // namespace salvo
