#include "engine/preflight/tag_list.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"

namespace salvo {

const std::string* TagList::Get(std::string_view name) const {
  for (const auto& [n, v] : tags)
    if (n == name) return &v;
  return nullptr;
}

absl::StatusOr<TagList> ParseTagList(std::string_view text) {
  if (text.size() > kMaxTagListBytes) return absl::InvalidArgumentError("record over 8192 bytes");
  TagList out;
  for (absl::string_view part : absl::StrSplit(Av(text), ';')) {
    std::string_view p = Trim(Sv(part), kAsciiSpace);
    if (p.empty()) continue;  // a trailing ';' is allowed
    size_t eq = p.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return absl::InvalidArgumentError(absl::StrCat("malformed tag \"", SanitizeForLog(p, 60), "\""));
    std::string name = AsciiLower(Trim(p.substr(0, eq), kAsciiSpace));
    for (char c : name)
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_')
        return absl::InvalidArgumentError(absl::StrCat("bad tag name \"", SanitizeForLog(name, 60), "\""));
    if (out.Get(name) != nullptr)
      return absl::InvalidArgumentError(absl::StrCat("tag \"", name, "\" appears twice"));
    out.tags.emplace_back(std::move(name), std::string(Trim(p.substr(eq + 1), kAsciiSpace)));
  }
  return out;
}

}  // namespace salvo
