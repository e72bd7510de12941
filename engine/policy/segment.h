// Segment expressions over recipient fields, compiled once per campaign and evaluated per
// recipient. The expression text comes from a campaign file (trusted author, but still parsed
// with a length limit and errors that name the column).
//
//   country = "DK" and plan != "free"
//   country in ["DK", "SE"] and not (plan = "free" or unsubscribed exists)
//   opted_in_at > 2026-01-01 and score >= 10
//
// Operators: = != in [...] exists < > <= >= ; and or not ( ). `<`/`>` compare numbers when both
// sides are numbers, RFC 3339 timestamps (or dates) when both are; otherwise they are false.
// A missing field makes every comparison except `!=` false (`!=` is true).
// Field names: recipient fields, `email`, and the consent fields `opted_in_at`,
// `consent_source`, `consent_ip`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/recipient.h"
#include "engine/base/rfc3339.h"  // ParseRfc3339Micros: time literals (dates allowed)

namespace salvo {

// Parses a decimal number (integer or with fraction / exponent), the whole string.
std::optional<double> ParseNumber(std::string_view s);

class Segment {
 public:
  static constexpr size_t kMaxLength = 16 * 1024;

  // Compiles `expr`. An empty (or all-blank) expression matches everyone. Errors read
  // `segment:1:17: expected value`.
  [[nodiscard]] static absl::StatusOr<Segment> Compile(std::string_view expr);

  bool Matches(const Recipient& r) const;
  bool empty() const { return nodes_.empty(); }

  enum class Op : uint8_t { kEq, kNe, kIn, kExists, kLt, kGt, kLe, kGe, kAnd, kOr, kNot };
  struct Literal {
    std::string text;
    std::optional<double> number;
    std::optional<int64_t> time_us;
  };
  struct Node {
    Op op;
    std::string field;              // comparisons
    std::vector<Literal> values;    // one, or several for `in`
    int lhs = -1, rhs = -1;         // children (and/or; not uses lhs)
  };

 private:
  bool Eval(int n, const Recipient& r) const;
  std::vector<Node> nodes_;
  int root_ = -1;
  friend class SegmentParser;
};

}  // namespace salvo
