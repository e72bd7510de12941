#include "engine/base/recipient.h"

#include <algorithm>

namespace salvo {

const std::string* Recipient::Field(std::string_view name) const {
  if (name == "email") return &address;
  auto it = std::lower_bound(fields.begin(), fields.end(), name,
                             [](const auto& f, std::string_view n) { return f.first < n; });
  if (it != fields.end() && it->first == name) return &it->second;
  return nullptr;
}

}  // namespace salvo
