// Account secrets from the environment or a file (see account_secret.h).
#include "shard/account_secret.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "engine/base/file.h"

namespace salvo {

[[nodiscard]] absl::StatusOr<std::string> AccountPassword(const AccountConfig& account) {
  if (!account.password_env.empty()) {
    const char* v = std::getenv(account.password_env.c_str());
    if (v == nullptr || *v == '\0')
      return absl::FailedPreconditionError(absl::StrCat("account \"", account.name,
                                                        "\": environment variable ",
                                                        account.password_env, " is not set"));
    return std::string(v);
  }
  if (!account.password_file.empty()) {
    absl::StatusOr<std::string> s = ReadSecretFile(account.password_file);
    if (!s.ok())
      return absl::FailedPreconditionError(
          absl::StrCat("account \"", account.name, "\": ", s.status().message()));
    return s;
  }
  return std::string();
}

}  // namespace salvo
