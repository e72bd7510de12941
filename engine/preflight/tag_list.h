// DKIM / DMARC tag lists ("v=DMARC1; p=reject; adkim=s"): RFC 6376 §3.2. Bounded, tolerant of
// folding white space; a tag appearing twice or a malformed tag is an error naming it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

inline constexpr size_t kMaxTagListBytes = 8192;

struct TagList {
  std::vector<std::pair<std::string, std::string>> tags;  // lowercase names, values trimmed
  // The value of `name`, or nullptr.
  const std::string* Get(std::string_view name) const;
};

[[nodiscard]] absl::StatusOr<TagList> ParseTagList(std::string_view text);

}  // namespace salvo
