// The [tracking] key ring: the key that signs (secret_file) and the keys that still verify
// because mail signed with them is out there: every previous_secret_files entry and the lines of
// the key ring file next to secret_file (`<secret_file>.previous`, written by
// `salvo tracking rotate-key`, newest first). Reading only: rotation is tools/salvo's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/config/config.h"

namespace salvo {

// The file holding the keys rotated out of `secret_file`, one per line, newest first.
std::string PreviousKeysPath(const std::string& secret_file);

// The keys of a key ring file's text: one per line, surrounding white space and empty lines
// dropped.
std::vector<std::string> ParseKeyLines(std::string_view text);

// Fills t->secret and t->previous_secrets from secret_file, previous_secret_files and the key
// ring file (absent: none). Errors name the file. Nothing to do without a secret_file.
[[nodiscard]] absl::Status LoadTrackingKeys(TrackingConfig* t);

}  // namespace salvo
