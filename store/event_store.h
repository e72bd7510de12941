// Feedback events (clicks, opens, unsubscribes, webhook / DSN / ARF events) appended to
// Cf::kEvents in time order, with idempotency markers in Cf::kMeta so that the same event
// delivered twice changes nothing the second time.
//
// Keys:
//   events  "ev" time_us(8 bytes BE) seq(8 bytes BE)  -> event record (see EncodeEvent)
//   meta    "dedup\0" source '\0' event_id              -> time_us (8 bytes BE) of first sight
// Trust: values come from outside (providers, mail); they are bounded and sanitized by the
// caller (engine/feedback); this file bounds them again before writing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/types.h"
#include "store/store.h"
#include "store/suppression_store.h"

namespace salvo {

struct StoredEvent {
  std::string kind;         // click | open | unsubscribe | webhook | dsn | arf
  std::string source;       // provider name, dsn, arf, one-click, tracking
  std::string event_id;     // idempotency id within source ("" for clicks / opens)
  std::string campaign_id;
  std::string address;      // recipient as named by the source (or address key)
  std::string klass;        // hard_bounce | soft_bounce | complaint | unsubscribe | ignore | ""
  std::string detail;       // reason / URL (bounded)
  uint32_t link_index = 0;  // clicks
  int64_t at_us = 0;        // when recorded (unix microseconds); set by Append when 0
};

void EncodeEvent(const StoredEvent& e, std::string* out);
[[nodiscard]] absl::Status DecodeEvent(std::string_view value, StoredEvent* e);

class EventStore {
 public:
  explicit EventStore(Store* store) : store_(store), suppression_(store) {}

  // Appends one event (no idempotency marker): clicks, opens.
  [[nodiscard]] absl::Status Append(const StoredEvent& ev);
  // Many of them in one atomic write (the click / open batcher).
  [[nodiscard]] absl::Status AppendBatch(const std::vector<StoredEvent>& events);

  // Applies one feedback event exactly once per (source, event_id): when the marker exists,
  // returns false and changes nothing. Otherwise adds `suppress` (if non-null) through
  // SuppressionStore::Add, then writes the event and the marker in one atomic batch, and
  // returns true. A crash between the two writes leaves the marker unwritten, so a redelivery
  // re-applies the (idempotent) suppression and completes the event.
  [[nodiscard]]
  absl::StatusOr<bool> ApplyOnce(const StoredEvent& ev, const SuppressionEntry* suppress);

  // ApplyOnce for many events with one marker lookup (MultiGet) and one atomic write: events
  // whose marker exists (or that repeat earlier in `events`) are skipped. suppress[i] may be
  // null. (*applied)[i] tells what happened to events[i].
  [[nodiscard]] absl::Status ApplyBatch(const std::vector<StoredEvent>& events,
                          const std::vector<const SuppressionEntry*>& suppress,
                          std::vector<bool>* applied);

  // True when (source, event_id) was applied before.
  [[nodiscard]] absl::StatusOr<bool> Seen(std::string_view source, std::string_view event_id);

  // Visits events in time order; fn returns false to stop.
  [[nodiscard]] absl::Status ForEach(const std::function<bool(const StoredEvent&)>& fn);
  // Same, from the first event recorded at or after `since_us` (a seek: older ones are not read).
  [[nodiscard]] absl::Status ForEachSince(int64_t since_us,
                                          const std::function<bool(const StoredEvent&)>& fn);

 private:
  std::string NextKey(int64_t at_us);

  Store* store_;
  SuppressionStore suppression_;
  std::mutex apply_mu_;  // serializes check-then-write of markers within this process
  std::atomic<uint64_t> seq_{0};
};

}  // namespace salvo
