// rspamd's /checkv2 answer (JSON): score, required score and the symbols hit, bounded.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

struct RspamdReply {
  double score = 0;
  double required_score = 0;
  std::string action;                                   // "no action", "add header", "reject", ...
  std::vector<std::pair<std::string, double>> symbols;  // by score, highest first
  std::string Summary(size_t max_symbols = 12) const;   // "SYMBOL(1.5), ..."
};

[[nodiscard]] absl::StatusOr<RspamdReply> ParseRspamdReply(std::string_view json);

}  // namespace salvo
