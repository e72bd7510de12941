// Placeholder until the store work lands (issue 2).
#include "store/store.h"

namespace salvo {

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions&) {
  return absl::UnimplementedError("Store::Open");
}
Store::~Store() = default;
absl::Status Store::Flush() { return absl::OkStatus(); }

}  // namespace salvo
