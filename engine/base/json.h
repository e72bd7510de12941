// JSON string literals for the JSON salvo prints (status, --json output): one escaper, so that
// outside text (replies, addresses, names) can never break the document.
#pragma once

#include <string>
#include <string_view>

namespace salvo {

// Appends `s` as a quoted JSON string: '"', '\\' and control characters escaped (\n, \r, \t, or
// \u00XX); other bytes as they are.
void AppendJsonString(std::string* out, std::string_view s);
inline std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

}  // namespace salvo
