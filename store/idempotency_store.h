// Replies remembered by Idempotency-Key for the HTTP API: a client that retries a request with
// the same key (and the same API key) within the window gets the first reply again and nothing
// is done twice. Meta family key: "idem" '\0' API-KEY-NAME '\0' IDEMPOTENCY-KEY; value:
// u8 version = 1, zigzag-varint stored_at (unix µs), varint status, lp body. An entry older than
// the window counts as absent and is overwritten by the next reply stored under its key; Sweep
// deletes such entries (the daemon calls it with the queue's sweep) so the family stays bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/store.h"

namespace salvo {

inline constexpr size_t kMaxIdempotencyKeyBytes = 200;

struct StoredReply {
  int status = 0;
  std::string body;
};

class IdempotencyStore {
 public:
  explicit IdempotencyStore(Store* store, absl::Duration window = absl::Hours(24))
      : store_(store), window_(window) {}

  // The reply stored for (api_key_name, key) less than the window before now_us, if any.
  [[nodiscard]] absl::StatusOr<std::optional<StoredReply>> Get(std::string_view api_key_name,
                                                               std::string_view key,
                                                               int64_t now_us);
  // Remembers the reply (fsynced: it stands for work that was durably done).
  [[nodiscard]] absl::Status Put(std::string_view api_key_name, std::string_view key,
                                 int64_t now_us, const StoredReply& reply);

  // Deletes every entry stored a window or more before now_us; returns how many. A scan of the
  // "idem" keys (at most a window's worth of requests), in batches of 1,000 deletes.
  [[nodiscard]] absl::StatusOr<uint64_t> Sweep(int64_t now_us);

  // An Idempotency-Key header is 1..200 printable ASCII characters.
  static bool ValidKey(std::string_view key);

 private:
  Store* store_;
  absl::Duration window_;
};

}  // namespace salvo
