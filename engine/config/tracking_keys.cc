// See tracking_keys.h.
#include "engine/config/tracking_keys.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"

namespace salvo {

std::string PreviousKeysPath(const std::string& secret_file) {
  return secret_file + ".previous";
}

std::vector<std::string> ParseKeyLines(std::string_view text) {
  std::vector<std::string> keys;
  for (absl::string_view line : absl::StrSplit(Av(text), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) keys.emplace_back(line);
  }
  return keys;
}

absl::Status LoadTrackingKeys(TrackingConfig* t) {
  t->secret.clear();
  t->previous_secrets.clear();
  if (t->secret_file.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> current = ReadSecretFile(t->secret_file);
  if (!current.ok())
    return absl::Status(current.status().code(),
                        absl::StrCat("secret_file: ", current.status().message()));
  t->secret = *std::move(current);
  for (const std::string& f : t->previous_secret_files) {
    absl::StatusOr<std::string> k = ReadSecretFile(f);
    if (!k.ok())
      return absl::Status(k.status().code(),
                          absl::StrCat("previous_secret_files: ", k.status().message()));
    t->previous_secrets.push_back(*std::move(k));
  }
  const std::string ring = PreviousKeysPath(t->secret_file);
  absl::StatusOr<std::string> text = ReadFile(ring, 1 << 20, "key ring file");
  // Absent until the first rotation; any other failure (permissions) is an error, since keys
  // that silently stop verifying would break the links of mail already sent.
  if (absl::IsNotFound(text.status()) &&
      absl::EndsWith(text.status().message(), std::strerror(ENOENT)))
    return absl::OkStatus();
  RETURN_IF_ERROR(text.status());
  for (std::string& k : ParseKeyLines(*text)) t->previous_secrets.push_back(std::move(k));
  return absl::OkStatus();
}

}  // namespace salvo
