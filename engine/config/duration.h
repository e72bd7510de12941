// Durations in config: "30s", "5m", "24h", "1h30m", "250ms", "7d", "2d12h" or a bare integer of
// seconds.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace salvo {

[[nodiscard]] absl::StatusOr<absl::Duration> ParseConfigDuration(std::string_view text);

}  // namespace salvo
