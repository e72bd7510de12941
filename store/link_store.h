// A campaign's link table: link index -> original URL, written when the campaign's template is
// compiled (salvo render / salvo send) and read by the click redirector (GET /c/{token}).
// Stored in Cf::kCampaigns under "links\0<campaign_id>\0<index, 4 bytes big-endian>".
//
// Shared tables (the inject API's): a request's table is named by a hash of its URLs
// ("api.<hash>"), so every request with the same links uses one table. Such a table carries a
// stamp, "linkstamp\0<campaign_id>" -> unix µs (8 bytes big-endian), of the last request that used
// it (refreshed at most once per kSharedStampRefresh), and SweepShared deletes the tables nobody
// has used for longer than the click tokens live.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/store.h"

namespace salvo {

class LinkStore {
 public:
  explicit LinkStore(Store* store) : store_(store) {}
  // Replaces the campaign's link table (idempotent for the same URLs).
  [[nodiscard]]
  absl::Status Put(std::string_view campaign_id, const std::vector<std::string>& urls);
  [[nodiscard]]
  absl::StatusOr<std::optional<std::string>> Get(std::string_view campaign_id, uint32_t index);

  // A shared table: `urls` must be what `id` names (the caller hashes them). Written when absent,
  // with no range delete; when present only its stamp moves to now_us, and only when it is
  // kSharedStampRefresh old, so a request that reuses a table usually costs one read.
  static constexpr absl::Duration kSharedStampRefresh = absl::Hours(24);
  [[nodiscard]]
  absl::Status PutShared(std::string_view id, const std::vector<std::string>& urls, int64_t now_us);

  // Deletes every table whose id starts with `id_prefix` and whose stamp is before before_us
  // (entries and stamp); returns how many. A table under the prefix without a stamp (written by
  // a version before stamps) gets now_us as its stamp, so it is deleted one lifetime later.
  [[nodiscard]]
  absl::StatusOr<uint64_t> SweepShared(std::string_view id_prefix, int64_t before_us,
                                       int64_t now_us);

 private:
  Store* store_;
};

}  // namespace salvo
