// A campaign's link table: link index -> original URL, written when the campaign's template is
// compiled (salvo render / salvo send) and read by the click redirector (GET /c/{token}).
// Stored in Cf::kCampaigns under "links\0<campaign_id>\0<index, 4 bytes big-endian>".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
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

 private:
  Store* store_;
};

}  // namespace salvo
