// Writes the prepared batches of one import run (store/import_batch.h) into the store, one atomic
// unit per batch, with the counts and merge rule of RecipientStore::Upsert:
//  1. knows, for every key of the batch, its record and membership: a worker read them ahead from
//     one snapshot (Check: sorted MultiGets of the `recipients` CF, the bloom filters answering
//     for keys new to the store, then the memberships of the keys that exist), and the writer,
//     under the Store's write mutex, reads again the rows written since: those of this run's
//     last writes (by AddressHash), or every row when anything else wrote to the store after
//     the snapshot (RocksDB sequence numbers) — an exact check, so re-imports and duplicates
//     count as before;
//  2. decides per row: new, merged (changed or not), or a duplicate of an earlier batch of this
//     run: its membership carries this run's marker (written by this run), or it was already a
//     member and its key is in the run's set of members left as they were (see `kept_`);
//  3. writes the new and changed records, the memberships of keys not yet members (with this
//     run's marker; an existing membership is not rewritten), the addr_hash keys of new
//     recipients and the list count either as one WriteBatch (fewer than `ingest_min_rows` new
//     recipients: merges) or as sorted SST files, one per column family, ingested together
//     (IngestExternalFiles: atomic across column families, durable when it returns). Nothing
//     goes through the memtables, so a large import of new recipients skips the skip-list
//     inserts and the WAL. A batch with nothing to change (a re-import) writes nothing.
// Workers Prebuild a batch's files when the check found every row new; Write uses them as they
// are when that still holds (first imports), and builds the files it needs otherwise.
// Trust: batches come from ImportBatch (checked rows); store values are decoded defensively.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "store/import_batch.h"
#include "store/recipient_store.h"
#include "store/store.h"

namespace rocksdb {
struct Options;
struct ReadOptions;
}  // namespace rocksdb

namespace salvo {

// At most this many keys in ImportWriter's set of memberships left as they were (a flat_hash_set
// of 2^21 slots of 16 bytes).
inline constexpr size_t kImportMaxKept = 1'800'000;

class ImportWriter {
 public:
  // `ingest_min_rows`: batches with fewer new recipients use a WriteBatch.
  // `max_kept`: most keys in the set of memberships left as they were (kImportMaxKept).
  ImportWriter(Store* store, const UpsertOptions& options, size_t ingest_min_rows,
               size_t max_kept = kImportMaxKept);
  ~ImportWriter();  // removes this run's directory of SST files

  // Creates the directory for this run's SST files (data_dir/import-tmp/RUN).
  [[nodiscard]] absl::Status Init();

  // Any thread, concurrently: reads what the store holds for every row of the batch (records,
  // then the memberships of those that exist) from one snapshot into batch->check, so that the
  // writer re-reads only the rows written since (by this run's earlier batches). A failed read
  // leaves check.done false (the writer then reads every row and reports the error).
  void Check(ImportBatch* batch) const;

  // Any thread, concurrently, after Check: writes batch->records_file, members_file and
  // hashes_file when the batch is large and every row of it was new at the check.
  [[nodiscard]] absl::Status Prebuild(ImportBatch* batch) const;

  // One thread, batches in file order: writes the batch (see above) and removes its files.
  [[nodiscard]] absl::StatusOr<UpsertCounts> Write(ImportBatch* batch);

  // Removes a batch's prebuilt files (a batch that will not be written).
  void Discard(ImportBatch* batch) const;

  // How the batches were written (benchmarks, tests).
  uint64_t ingested_batches() const { return ingested_; }
  uint64_t write_batches() const { return write_batches_; }
  uint64_t l0_waits() const { return l0_waits_; }  // 5 ms waits for compactions
  uint64_t trigger_failures() const { return trigger_failures_; }  // SetOptions that failed
  uint64_t rechecked_rows() const { return rechecked_; }  // rows the writer read itself
  double check_seconds() const { return check_s_; }  // wall time of the existence checks
  double store_seconds() const { return store_s_; }  // wall time of building and writing

 private:
  struct CfFiles;
  // One write of this run: the store's sequence number before it and the AddressHash of every
  // row of its batch, sorted (a superset of the keys it wrote).
  struct OwnWrite {
    uint64_t before = 0;
    std::vector<uint64_t> hashes;
  };
  // Whether batch->check can be used, and which of its rows to read again (this run's writes
  // since the check may have changed them): rows in recipients key order into *stale.
  bool CheckUsable(const ImportBatch& b, uint64_t now, std::vector<uint32_t>* stale) const;
  // Records a write of this run made between sequence numbers `before` and `after`: a WriteBatch
  // of `ops` operations, or (ops 0) an ingestion, which takes at most `max_ops`.
  void NoteWrite(const ImportBatch& b, uint64_t before, uint64_t after, uint64_t ops,
                 uint64_t max_ops = 0);
  // Waits (up to a minute) while the recipient column families have many level-0 files.
  void WaitForCompactions();
  // While the import runs: raises each ingested column family's level-0 compaction trigger to
  // kImportL0CompactionTrigger (`now`: their options, in kIngestedCfs order), remembering the
  // ones it raised; RestoreL0Triggers puts those back.
  void RaiseL0Triggers(const std::array<const rocksdb::Options*, 3>& now);
  void RestoreL0Triggers();
  bool SetL0Trigger(Cf cf, int files);  // false (and counted) when SetOptions failed
  // Reads the memberships of `rows` (indices in member-key order) into (*member)[row]; a row
  // whose read failed is marked unreadable and the first such error returned.
  [[nodiscard]] absl::Status ReadMembers(const ImportBatch& b, const rocksdb::ReadOptions& ro,
                                         const std::vector<uint32_t>& rows,
                                         const std::string& marker,
                                         std::vector<uint8_t>* member) const;
  // Reads the records of `rows` (ascending: recipients key order) into `c`: exists[j], and
  // record[j] = 1 for a new row (its encoded record is written), 2 when merging changes the
  // stored record (the merged encoding appended to merged_arena at merged_at[j]), else 0.
  [[nodiscard]] absl::Status ReadRecords(const ImportBatch& b, const rocksdb::ReadOptions& ro,
                                         const std::vector<uint32_t>& rows, ImportCheck* c) const;
  Store* store_;
  UpsertOptions options_;
  size_t ingest_min_rows_;
  size_t max_kept_;
  std::string dir_;
  std::unique_ptr<CfFiles> cf_;  // per column family: SstFileWriter options
  mutable std::atomic<uint64_t> file_seq_{0};
  uint64_t ingested_ = 0;
  uint64_t write_batches_ = 0;
  uint64_t l0_waits_ = 0;
  // The level-0 compaction trigger of each column family the import ingests into (recipients,
  // members, addr_hash) as it was before the import raised it; 0: not raised. Restored by the
  // destructor.
  std::array<int, 3> saved_l0_trigger_{};
  uint64_t trigger_failures_ = 0;
  double check_s_ = 0, store_s_ = 0;
  // Checks made ahead are valid from this sequence number on: any write to the store that is not
  // one of this run's (found when the sequence number moved between two of them) invalidates
  // those made before it.
  uint64_t valid_from_ = 0;
  uint64_t last_after_ = 0;       // the sequence number after this run's last write
  std::vector<OwnWrite> recent_;  // this run's last writes, oldest first (kRecentWrites)
  uint64_t dropped_before_ = 0;   // `before` of the newest write dropped from recent_ (+1), or 0
  uint64_t rechecked_ = 0;        // rows the writer read again (tests, benchmarks)
  // Keys of this run that were members already and whose membership was left as it was (not
  // re-marked with the run id): two independent 64-bit hashes of the address key (XXH64 and
  // absl::Hash), so a later batch's row found here is a duplicate of this run (a false match
  // needs a 128-bit collision). Bounded (max_kept_, ~36 MB of slots): past it such
  // memberships are re-marked with the run id as before, which the store itself answers for.
  struct KeptHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& k) const { return k.first ^ k.second; }
  };
  absl::flat_hash_set<std::pair<uint64_t, uint64_t>, KeptHash> kept_;
};

}  // namespace salvo
