// RFC 3339 timestamps, one parser for the whole code base: consent times in imports
// (store/importer.cc, date-time required) and time literals in segment expressions
// (engine/policy/segment.cc, which also takes a bare date). Trust: the input is hostile text;
// the parser reads only within `s` and accepts only real calendar dates.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace salvo {

enum class Rfc3339Form {
  kDateTime,        // "2024-05-01T10:00:00Z", "2024-05-01 10:00:00.25+02:00"
  kDateOrDateTime,  // also a full-date "2024-05-01" (midnight UTC)
};

// Unix microseconds. 'T', 't' or ' ' between date and time; 'Z', 'z' or ±hh:mm offset; a
// fraction of 1 to 9 digits (truncated to microseconds); second 60 (a leap second) accepted as
// RFC 3339 allows. nullopt when malformed or not a calendar date (2023-02-29, 2024-04-31).
std::optional<int64_t> ParseRfc3339Micros(std::string_view s,
                                          Rfc3339Form form = Rfc3339Form::kDateTime);

}  // namespace salvo
