// What preflight reads from a rendered sample message: its headers (unfolded), whether it has a
// text part, and the List-Unsubscribe check (RFC 8058: List-Unsubscribe and
// List-Unsubscribe-Post present, both covered by a DKIM-Signature's h=).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/preflight/report.h"

namespace salvo {

struct SampleMessage {
  std::vector<std::pair<std::string, std::string>> headers;  // name as written, unfolded value
  bool has_text_part = false;
  bool has_html_part = false;
  size_t size = 0;
  // The first header of that name (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

SampleMessage ParseSampleMessage(std::string_view message);

// "unsubscribe.headers": pass, or fail naming what is missing / unsigned.
CheckResult CheckUnsubscribeHeaders(const SampleMessage& m);

}  // namespace salvo
