// The one place engine/ code reads a file: whole small files (config, campaign, templates, keys,
// secrets), bounded in size. Everything else engine/ gets is passed in by its caller.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace salvo {

// The whole content of `path`, at most `max_bytes` (never reads more than max_bytes + 1 bytes).
// `what` names the file in errors ("config file", "DKIM key", ...). Errors: NotFound "cannot read
// WHAT PATH: REASON" when it cannot be opened; InvalidArgument "WHAT PATH is larger than N
// bytes"; Unavailable on a read error.
[[nodiscard]] absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes,
                                                   std::string_view what = "file");

// A secret (key, password) kept in a file: its content without trailing white space (editors
// add a newline). Errors as ReadFile ("secret file" in them, at most 64 KiB), and
// InvalidArgument "secret file PATH is empty".
[[nodiscard]] absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace salvo
