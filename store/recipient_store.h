// Recipients, consent, fields and list membership.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/recipient.h"
#include "store/queue_store.h"
#include "store/store.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace salvo {

struct ListInfo {
  std::string name;
  uint64_t members = 0;
};

// Result of upserting one batch.
struct UpsertCounts {
  uint64_t imported = 0;   // new recipients
  uint64_t updated = 0;    // existing recipients whose record or membership changed
  uint64_t unchanged = 0;  // identical to what was stored
  uint64_t duplicate = 0;  // same key seen earlier in this batch (or, with a run_id, this run)
};

struct UpsertOptions {
  // Non-zero: marks each membership written with this id, so a key seen again in a later batch of
  // the same run (one import) counts as `duplicate` and is skipped: first occurrence wins.
  uint64_t run_id = 0;
  bool sync = false;  // fsync the WAL before returning (WAL is always on; a SIGKILLed process
                      // keeps every acknowledged batch either way)
};

// A batch made ready for the store without touching it: deduplicated (first occurrence wins),
// sorted by recipients key (shard, then address key: store/record_codec.h RecipientKey), keys
// built and new-record values encoded. An import pipeline prepares
// batch k+1 on one thread while another writes batch k. Reusable: Prepare() keeps capacity.
struct PreparedBatch {
  std::string list;
  const std::vector<Recipient>* rows = nullptr;
  std::vector<uint32_t> order;             // indices of unique rows, sorted by recipients key
  std::vector<uint32_t> member_order;      // positions in `order`, sorted by member key
  std::string arena;                       // keys and encoded records, back to back
  std::vector<std::pair<uint32_t, uint32_t>> record_key_at;  // per position: (offset, length)
  std::vector<std::pair<uint32_t, uint32_t>> member_key_at;  // per position: (offset, length)
  std::vector<std::pair<uint32_t, uint32_t>> encoded_at;     // per position: (offset, length)
  uint64_t duplicate = 0;
};

// How one unique row of an upsert changed the store (what UpsertAndEnqueue's plan decides on).
struct UpsertRowChange {
  uint32_t row = 0;             // index into the upserted batch
  bool new_member = false;      // was not a member of the list before
  bool gained_consent = false;  // had no consent on record (or no record) and has it now
  const Recipient* merged = nullptr;  // the record as stored after the upsert (valid in the plan)
};
// Given the changes of a batch, the messages to queue with it (may be none). Runs with the
// Store's write mutex held: no I/O but reads.
using EnqueuePlan = std::function<absl::StatusOr<std::vector<NewMessage>>(
    const std::vector<UpsertRowChange>& changes)>;

// Merges `in` onto `stored` by Upsert's merge rule (below) into *out.
void MergeRecipient(const Recipient& stored, const Recipient& in, Recipient* out);

class RecipientStore {
 public:
  explicit RecipientStore(Store* store) : store_(store) {}

  // Inserts or updates recipients and adds them to `list`, atomically per batch (one WriteBatch,
  // WAL on). Re-upserting identical records changes nothing and counts them as unchanged.
  // Merge rule for an existing recipient: the new address spelling replaces the old; non-empty
  // consent values replace stored ones; named fields replace fields of the same name, other stored
  // fields are kept. batch[i].key must be NormalizeAddress(...).key and fields sorted by name.
  [[nodiscard]]
  absl::StatusOr<UpsertCounts> Upsert(std::string_view list, const std::vector<Recipient>& batch);
  [[nodiscard]]
  absl::StatusOr<UpsertCounts> Upsert(std::string_view list, const std::vector<Recipient>& batch,
                                      const UpsertOptions& options);

  // Prepare + UpsertPrepared in two steps. Prepare does no I/O and keeps a pointer to `batch`,
  // which must outlive the prepared batch.
  [[nodiscard]]
  static absl::Status Prepare(std::string_view list, const std::vector<Recipient>& batch,
                              PreparedBatch* out);
  [[nodiscard]] absl::StatusOr<UpsertCounts> UpsertPrepared(const PreparedBatch& batch,
                                              const UpsertOptions& options);

  // Upsert + QueueStore::Enqueue in one WriteBatch, fsynced (the leads API): the recipients, their
  // memberships and the messages `plan` asks for are all written or none is. The membership
  // reads and the write happen under the Store's write mutex, so a lead posted twice at once is
  // new to the list (and triggers its messages) once. *ids: the queue ids, as Enqueue returns.
  [[nodiscard]] absl::StatusOr<UpsertCounts> UpsertAndEnqueue(std::string_view list,
                                                              const std::vector<Recipient>& batch,
                                                              const EnqueuePlan& plan,
                                                              std::vector<std::string>* ids);

  [[nodiscard]] absl::StatusOr<std::optional<Recipient>> Get(std::string_view address_key);

  // The address keys of stored recipients whose AddressHash is `hash` (engine/base/shard.h), at
  // most `limit`: resolves a VERP bounce tag. Almost always one; more only on a 64-bit collision.
  [[nodiscard]]
  absl::StatusOr<std::vector<std::string>> KeysWithHash(uint64_t hash, size_t limit = 16);

  // Members of `list` in virtual shard `shard` whose key sorts after `after_key` (empty: from the
  // start), in key order, at most `limit`. A range scan; never reads other shards or lists.
  [[nodiscard]]
  absl::Status ScanListShard(std::string_view list, uint32_t shard, std::string_view after_key,
                             size_t limit, std::vector<Recipient>* out);

  [[nodiscard]] absl::StatusOr<std::vector<ListInfo>> Lists();
  [[nodiscard]] absl::StatusOr<uint64_t> ListSize(std::string_view list);

  // A list name is 1..200 bytes of printable text (UTF-8 allowed), no control characters.
  [[nodiscard]] static absl::Status ValidateListName(std::string_view list);

 private:
  // The reads and writes of one upsert, into *out (the caller holds the write mutex and writes
  // it). With `changes`, one entry per unique row; merged records are kept in *merged_rows.
  [[nodiscard]] absl::Status BuildUpsert(const PreparedBatch& pb, const UpsertOptions& options,
                                         rocksdb::WriteBatch* out, UpsertCounts* counts,
                                         std::vector<UpsertRowChange>* changes,
                                         std::deque<Recipient>* merged_rows);

  Store* store_;
};

}  // namespace salvo
