#include "engine/base/strings.h"

namespace salvo {

std::string SanitizeForLog(std::string_view in, size_t max_len) {
  std::string out;
  const bool cut = in.size() > max_len;
  if (cut) in = in.substr(0, max_len);
  out.reserve(in.size() + (cut ? 3 : 0));
  for (unsigned char c : in) out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  if (cut) out += "...";
  return out;
}

}  // namespace salvo
