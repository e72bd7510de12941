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
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration \"", t, "\" (use e.g. \"30s\", \"5m\", \"24h\")"));
}

}  // namespace salvo
