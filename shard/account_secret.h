// The password (or API key) of an SMTP account, read from where its config says: the environment
// variable `password_env` or the file `password_file`. Read by the runtime when a pool first
// needs it, never by engine/; never logged or put into a report.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "engine/config/config.h"

namespace salvo {

// "" for an account without either key. Errors (FailedPrecondition, naming the account): the
// variable is unset or empty, the file cannot be read or is empty.
[[nodiscard]] absl::StatusOr<std::string> AccountPassword(const AccountConfig& account);

}  // namespace salvo
