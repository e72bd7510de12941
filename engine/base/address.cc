// Placeholder until the store work lands its full implementation (issue 2).
#include "engine/base/address.h"

namespace salvo {

std::string_view NormalizedAddress::local() const {
  auto at = address.rfind('@');
  return std::string_view(address).substr(0, at);
}
std::string_view NormalizedAddress::domain() const {
  auto at = address.rfind('@');
  return std::string_view(address).substr(at + 1);
}

absl::StatusOr<NormalizedAddress> NormalizeAddress(std::string_view) {
  return absl::UnimplementedError("NormalizeAddress");
}
absl::StatusOr<std::string> NormalizeDomainKey(std::string_view) {
  return absl::UnimplementedError("NormalizeDomainKey");
}

}  // namespace salvo
