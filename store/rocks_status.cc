// RocksDB status -> absl::Status (see rocks_status.h).
#include "store/rocks_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {

[[nodiscard]] absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(Av(what), ": ", s.ToString());
  using C = rocksdb::Status::Code;
  switch (s.code()) {
    case C::kNotFound: return absl::NotFoundError(msg);
    case C::kCorruption: return absl::DataLossError(msg);
    case C::kInvalidArgument: return absl::InvalidArgumentError(msg);
    case C::kNotSupported: return absl::UnimplementedError(msg);
    case C::kIOError:
      if (s.IsNoSpace()) return absl::ResourceExhaustedError(msg);
      return absl::UnavailableError(msg);
    case C::kBusy:
    case C::kTryAgain:
    case C::kTimedOut:
    case C::kAborted:
    case C::kShutdownInProgress:
    case C::kIncomplete:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace salvo
