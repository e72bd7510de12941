// The durable message queue of `salvo serve`: single messages (responders, deliveries, injected
// and submitted mail) waiting for, in, or done with delivery. Column families `queue`,
// `queue_body`, `queue_due`, `queue_state`, `queue_addr` (layout in store/README.md).
//
// One entry per recipient: an Enqueue'd message to N recipients becomes N entries with ids
// allocated consecutively, all pointing at one stored body (so the bytes are written once), and
// each entry has its own state, attempts and outcome. Ids are 16 lowercase hex digits of a
// per-Store counter that starts at the current unix time in microseconds: they sort by creation
// time and are unique within a data_dir. The id is the message's identity for the delivery
// loop: X-Salvo-ID and the VERP tag name (campaign id = entry id, recipient), and a DSN/ARF
// report's tag is resolved back through ByAddressHash() (filtering on CampaignRef(id)).
//
// States and transitions (anything else is FailedPrecondition naming the id and its state):
//
//   Enqueue           -> queued (due at not_before, default now)
//   TakeDue           queued | deferred, due <= now -> in_flight
//   RecordAttempt     in_flight -> deferred (next attempt at T) | delivered | bounced | failed |
//                     suppressed | expired, the attempt's reply kept with the entry
//   Release           in_flight -> queued (due at T), no attempt counted (throttled, paused,
//                     shutting down)
//   RecordBounceReport delivered | queued | deferred -> bounced (a DSN or webhook came back)
//   Retry             queued | deferred -> queued, due now
//   RetryAllDeferred  every deferred -> queued, due now
//   Cancel            queued | deferred -> cancelled
//   RecoverInFlight   every in_flight -> queued, due now (daemon start)
//   Sweep             final (delivered .. cancelled) for longer than `keep` -> deleted
//
// Durability: Enqueue returns only once the entries are in the WAL and the WAL is fsynced; many
// concurrent Enqueue calls share one fsync (store/group_commit.h). State changes are written
// with the WAL but not fsynced: a killed process loses none; a power loss may lose the last
// ones, which at worst sends a message again. Delivery is at-least-once at the SMTP level: an
// entry whose attempt was cut by a crash (the SMTP server may have accepted it) is in_flight
// at the next start and RecoverInFlight queues it again. The copy carries the same X-Salvo-ID
// (the entry id), so partners and the recipient's provider can drop the duplicate.
//
// Thread-safety: QueueStore is a cheap handle (like the other stores); any number of them on one
// Store, from any threads, share the Store's write group, id counter and transition mutex.
// Trust: records are read back from disk and decoded with bounds checks; a damaged record is a
// DataLoss error naming the id. Enqueue's inputs (from HTTP, SMTP and the CLI) are checked
// against QueueLimits before anything is written.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/store.h"

namespace salvo {

struct GroupCommitOp;  // store/group_commit.h

enum class QueueState : uint8_t {
  kQueued = 0,
  kInFlight,
  kDeferred,
  kDelivered,
  kBounced,
  kFailed,
  kSuppressed,
  kExpired,
  kCancelled,
};
inline constexpr int kQueueStateCount = 9;

// queued | in_flight | deferred | delivered | bounced | failed | suppressed | expired | cancelled
std::string_view QueueStateName(QueueState s);
// InvalidArgument naming `name` and the known states when it is none of them.
[[nodiscard]] absl::StatusOr<QueueState> ParseQueueState(std::string_view name);
// delivered .. cancelled: nothing more happens to the entry but the sweep.
constexpr bool IsFinal(QueueState s) { return s >= QueueState::kDelivered; }

// Bounds on what Enqueue accepts; exceeding one is InvalidArgument (ResourceExhausted for sizes)
// naming the limit, and nothing of the call is written.
struct QueueLimits {
  uint64_t max_message_bytes = 25u << 20;  // one body
  uint64_t max_call_bytes = 64u << 20;     // all bodies of one Enqueue call
  uint32_t max_recipients = 10000;         // of one message
  uint32_t max_entries = 10000;            // of one Enqueue call (all messages)
};

inline constexpr size_t kMaxKeptAttempts = 20;   // per entry: the newest are kept
inline constexpr size_t kMaxReplyBytes = 512;    // of one attempt's reply (sanitized)
inline constexpr size_t kMaxRouteBytes = 200;
inline constexpr size_t kMaxOriginBytes = 200;

// One message to queue. Every recipient gets its own entry (and id).
struct NewMessage {
  std::string route;                    // route name (config [[route]]); 1..200 bytes
  std::string sender;                   // envelope sender (MAIL FROM); empty: the null sender
  std::vector<std::string> recipients;  // 1..max_recipients addresses (normalized on enqueue)
  std::string body;                     // the RFC 5322 bytes as they will be sent
  // Who queued it, for operators and metrics: "responder:dk-welcome", "api-key:shop", ...
  std::string origin;
  int64_t not_before_us = 0;            // first attempt not before (responder delay); 0: now
};

struct QueueAttempt {
  int64_t at_us = 0;             // when the reply came (unix microseconds)
  std::string account;           // the SMTP account that tried (<= 128 bytes)
  std::string reply;             // the server's reply or the reason, sanitized on write
  QueueState result = QueueState::kDeferred;  // the state it led to
};

struct QueueEntry {
  std::string id;
  QueueState state = QueueState::kQueued;
  int64_t created_us = 0;
  int64_t state_since_us = 0;    // when it entered `state`
  int64_t next_attempt_us = 0;   // queued / deferred: when it is due; else 0
  int64_t first_attempt_us = 0;  // 0 until the first attempt (retry_for counts from here)
  uint32_t attempts = 0;         // attempts recorded, including those no longer kept
  std::string route;
  std::string sender;
  std::string recipient;         // stored form (NormalizedAddress::address)
  std::string address_key;       // case-folded identity (suppression, VERP)
  std::string origin;
  std::string body_id;           // GetBody(body_id); shared by the message's entries
  uint32_t body_entries = 1;     // entries sharing the body: ids [body_id, body_id + n)
  uint64_t body_bytes = 0;
  std::vector<QueueAttempt> history;  // the last kMaxKeptAttempts attempts, oldest first
};

struct QueueFilter {
  std::optional<QueueState> state;
  std::string route;   // empty: any
  std::string after;   // list ids greater than this one (paging); empty: from the start
  size_t limit = 100;  // at most this many (capped at 10,000)
};

struct QueueStats {
  uint64_t enqueue_calls = 0;  // Enqueue calls that reached the write group
  uint64_t syncs = 0;          // fsynced writes they needed (< calls when grouped)
};

class QueueStore {
 public:
  explicit QueueStore(Store* store, QueueLimits limits = {}) : store_(store), limits_(limits) {}

  // Queues the messages durably (WAL fsynced, shared with concurrent callers) and returns the
  // new ids: messages[0]'s recipients in order, then messages[1]'s, ... Invalid input
  // (a recipient that is not an address, a route that is empty, a body over the limit) fails the
  // whole call, naming the message index and the value, and writes nothing.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> Enqueue(
      const std::vector<NewMessage>& messages);

  // Enqueue's checks and id allocation, with the writes appended to *ops instead of written: for
  // store/ operations that queue messages atomically with other changes
  // (RecipientStore::UpsertAndEnqueue). The caller writes *ops with sync, then calls
  // Enqueued(*earliest_due_us) so that TakeDue looks that far back.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> PrepareEnqueue(
      const std::vector<NewMessage>& messages, std::vector<GroupCommitOp>* ops,
      int64_t* earliest_due_us);
  // After the write of PrepareEnqueue's ops: entries due at `earliest_due_us` exist now.
  void Enqueued(int64_t earliest_due_us);

  // `listener(earliest_due_us)` is called after the write of every Enqueue and UpsertAndEnqueue
  // on this Store, on the enqueuing thread and under the queue's state mutex (so that once
  // SetEnqueueListener({}) returns it is never called again): the delivery loop's wake-up, so
  // that mail due now does not wait for its next poll. It must be quick and must not call the
  // QueueStore. One listener per Store; an empty function removes it.
  void SetEnqueueListener(std::function<void(int64_t earliest_due_us)> listener);

  // Marks up to `limit` entries due at `now_us` (queued or deferred with next attempt <= now)
  // in_flight, earliest due first, and returns them (bodies: GetBody).
  [[nodiscard]] absl::StatusOr<std::vector<QueueEntry>> TakeDue(int64_t now_us, size_t limit);

  // The delivery of an in_flight entry ended with `attempt.result` (deferred: due again at
  // next_attempt_us, which must be > 0). The attempt is appended to the entry's history.
  [[nodiscard]] absl::Status RecordAttempt(std::string_view id, const QueueAttempt& attempt,
                                           int64_t next_attempt_us = 0);
  // A bounce report (DSN, provider webhook) for the entry after its attempt: a delivered, queued
  // or deferred entry becomes bounced, the report kept in its history (not counted as an
  // attempt). OK and nothing changes when it is already bounced.
  [[nodiscard]] absl::Status RecordBounceReport(std::string_view id, const QueueAttempt& report);
  // Gives an in_flight entry back without an attempt: queued, due at not_before_us.
  [[nodiscard]] absl::Status Release(std::string_view id, int64_t now_us, int64_t not_before_us);

  // NotFound "no queued message \"ID\"" when absent.
  [[nodiscard]] absl::StatusOr<QueueEntry> Get(std::string_view id);
  [[nodiscard]] absl::StatusOr<std::string> GetBody(std::string_view body_id);
  // In id (creation) order; with a state, through the state index.
  [[nodiscard]] absl::StatusOr<std::vector<QueueEntry>> List(const QueueFilter& filter);
  // Ids of entries whose recipient's AddressHash (engine/base/shard.h) is `hash`, oldest first,
  // at most `limit`: resolves a VERP / X-Salvo-ID tag to its entry.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> ByAddressHash(uint64_t hash,
                                                                       size_t limit = 100);
  // Entries per state (a scan of the state index).
  [[nodiscard]] absl::StatusOr<std::vector<uint64_t>> CountByState();

  // Operator actions (salvo queue retry|cancel). `now_us` is the time of the action.
  [[nodiscard]] absl::Status Retry(std::string_view id, int64_t now_us);
  [[nodiscard]] absl::StatusOr<uint64_t> RetryAllDeferred(int64_t now_us);
  [[nodiscard]] absl::Status Cancel(std::string_view id, int64_t now_us);

  // Daemon start: every in_flight entry (its attempt was cut by a crash or kill) becomes queued,
  // due now. Returns how many.
  [[nodiscard]] absl::StatusOr<uint64_t> RecoverInFlight(int64_t now_us);

  // Deletes entries that have been final for longer than `keep` (and bodies no entry uses any
  // more). Returns how many entries were deleted.
  [[nodiscard]] absl::StatusOr<uint64_t> Sweep(int64_t now_us, absl::Duration keep);

  QueueStats Stats() const;

 private:
  // Every entry in state `from` becomes queued, due now; `what` names the work in errors.
  [[nodiscard]] absl::StatusOr<uint64_t> RequeueAll(QueueState from, int64_t now_us,
                                                    std::string_view what);

  Store* store_;
  QueueLimits limits_;
};

// Entry value codec (exposed for tests). Decode checks every length; DataLoss names `id`.
void EncodeQueueEntry(const QueueEntry& e, std::string* out);
[[nodiscard]] absl::Status DecodeQueueEntry(std::string_view id, std::string_view value,
                                           QueueEntry* e);

}  // namespace salvo
