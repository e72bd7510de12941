// Label values: sanitizing values that came from outside, and bounding destination domains to a
// configured top list so label cardinality stays small. No I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/address.h"

namespace salvo::metrics {

inline constexpr size_t kMaxLabelValueBytes = 128;

// Copy of `in` safe as a label value: invalid UTF-8 and control bytes other than '\n' become
// '?', cut to kMaxLabelValueBytes (on a UTF-8 boundary). '\\', '"' and '\n' stay (the exposition
// escapes them). Empty stays empty.
std::string SanitizeLabelValue(std::string_view in);

// Prometheus text-format escaping of a label value: '\\' -> "\\\\", '"' -> "\\\"", '\n' -> "\\n".
std::string EscapeLabelValue(std::string_view in);
// Escaping of HELP text: '\\' -> "\\\\", '\n' -> "\\n".
std::string EscapeHelp(std::string_view in);

// Maps destination domains to themselves when they are in the top list (case-insensitive,
// trailing dot ignored) and to "other" otherwise. Immutable, thread-safe.
class DomainBucketer {
 public:
  explicit DomainBucketer(const std::vector<std::string>& top_domains);
  // A view into this object's storage ("gmail.com") or kOther; valid while it lives.
  std::string_view Bucket(std::string_view domain) const;
  const std::vector<std::string>& top() const { return top_; }

 private:
  std::vector<std::string> top_;  // lower-cased, no trailing dot
};

// The domain of an address ("Bob@Gmail.COM" -> "Gmail.COM"); empty when there is no '@'.
using ::salvo::DomainOf;

}  // namespace salvo::metrics
