// Global suppression: independent of list, route and account. Keys are case-folded addresses
// ("user@example.com") or domain-wide entries ("@example.com").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/types.h"
#include "store/store.h"

namespace salvo {

struct SuppressionEntry {
  std::string key;                 // "user@example.com" or "@example.com"
  SuppressionReason reason = SuppressionReason::kManual;
  std::string source;              // sendgrid, mailgun, ..., dsn, arf, smtp, one-click, cli
  int64_t first_seen = 0;          // unix seconds
  int64_t last_seen = 0;
  std::string detail;              // SMTP reply, provider event id and reason (sanitized, bounded)
};

class SuppressionStore {
 public:
  explicit SuppressionStore(Store* store);

  // Adds or refreshes an entry: first_seen is kept, last_seen/reason/source/detail updated.
  // `key` must already be normalized (NormalizeAddress(...).key or NormalizeDomainKey).
  [[nodiscard]] absl::Status Add(const SuppressionEntry& entry);
  // The same for many entries in one atomic WriteBatch (one MultiGet); a key given twice merges
  // like two Adds. InvalidArgument (nothing written) when any key is not valid.
  [[nodiscard]] absl::Status AddBatch(const std::vector<SuppressionEntry>& entries);
  // Returns true when something was removed.
  [[nodiscard]] absl::StatusOr<bool> Remove(std::string_view key);

  // The entry that suppresses `address_key`: the address itself, else its domain ("@dom").
  [[nodiscard]] absl::StatusOr<std::optional<SuppressionEntry>> Check(std::string_view address_key);
  // Batched form for the send path: out[i] is true when keys[i] is suppressed.
  [[nodiscard]]
  absl::Status CheckBatch(const std::vector<std::string_view>& keys, std::vector<bool>* out);

  [[nodiscard]]
  absl::Status ForEach(const std::function<bool(const SuppressionEntry&)>& fn);  // false stops
  // O(1): a count kept with every change (the first call on an older store walks once).
  [[nodiscard]] absl::StatusOr<uint64_t> Count();

 private:
  Store* store_;
};

}  // namespace salvo
