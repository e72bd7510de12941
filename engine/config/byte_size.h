// Sizes in config: "64MB", "512KB", "1GB" (binary multiples: 1 KB = 1024 bytes; "MiB" and
// friends are accepted too), "4096B" or a bare integer of bytes.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace salvo {

// Errors: InvalidArgument naming the text (no number, unknown unit, negative, above 1 TB).
[[nodiscard]] absl::StatusOr<uint64_t> ParseByteSize(std::string_view text);

}  // namespace salvo
