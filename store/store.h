// The RocksDB store behind one data_dir. One process owns a data_dir at a time; a second
// process gets an error naming the holder (pid and command), never RocksDB's raw lock message.
//
// Column families (key layout documented in store/README.md):
//   recipients   shard(1 byte) address_key -> Recipient record (address, consent, fields);
//                RocksDB name "recipients_by_shard" (schema 2: a shard's recipients contiguous;
//                key built only by RecipientKey, store/record_codec.h)
//   members      list '\0' shard(1 byte) address_key -> import run marker (range scan per
//                list and shard)
//   lists        list -> member count (fixed64)
//   suppression  "user@dom" | "@dom" -> SuppressionEntry record
//   campaigns    campaign_id -> campaign record (state, counters)      (store/campaign_store.h)
//   progress     campaign_id '\0' shard(1 byte) address_key -> outcome record
//   events       event id / time-ordered keys -> click, open, webhook events (store/event_store.h)
//   meta         misc (schema version "schema\0version", dedup markers, attempt markers)
//   addr_hash    AddressHash(address_key) (8 bytes BE) address_key -> "" : resolves the recipient
//                named by a VERP bounce tag (engine/links/token.h); written with new recipients
//   queue        message id -> queue entry (one recipient each; store/queue_store.h)
//   queue_body   body id -> message bytes shared by the entries of one Enqueue'd message
//   queue_due    next attempt (8 bytes BE, unix us) id -> "" : queued and deferred entries
//   queue_state  state(1 byte) id -> "" : entries by state (list, recovery, sweep)
//   queue_addr   AddressHash(address_key) (8 bytes BE) id -> "" : entries by recipient
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/rocksdb_fwd.h"

namespace salvo {

class QueueShared;  // store/queue_store.cc: the queue's write group and id clock

struct StoreOptions {
  std::string data_dir;
  bool create_if_missing = true;
  // RocksDB memory, from salvo.toml's [store] (engine/config/config.h StoreConfig: same
  // defaults). One LRU cache of block_cache bytes holds the blocks of every column family and,
  // charged by a WriteBufferManager, their memtables, which flush once together they pass
  // memtables. write_buffer_size is one memtable of recipients and members (progress: a quarter,
  // the others: half), max_write_buffers the memtables a column family may hold.
  uint64_t block_cache = 96ull << 20;
  uint64_t memtables = 64ull << 20;
  uint64_t write_buffer_size = 32ull << 20;
  uint32_t max_write_buffers = 3;
};

enum class Cf : int { kDefault = 0, kRecipients, kMembers, kLists, kSuppression, kCampaigns,
                      kProgress, kEvents, kMeta, kAddrHash, kQueue, kQueueBody, kQueueDue,
                      kQueueState, kQueueAddr, kCount };

// The directory under data_dir that holds an import's SST files until they are ingested
// (store/import_writer.h); Store::Open removes what a killed import left there.
inline constexpr const char* kImportTmpDir = "import-tmp";

// Key in Cf::kAddrHash: AddressHash(address_key) as 8 big-endian bytes, then address_key.
void AddressHashKey(std::string_view address_key, std::string* out);

class Store {
 public:
  // Opens (creating when allowed) the store in options.data_dir and records this process as its
  // holder. If another live process holds it: FailedPrecondition "data_dir X is in use by pid N
  // (salvo serve ...)".
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& data_dir() const { return data_dir_; }

  // Flushes memtables (tests, clean shutdown).
  [[nodiscard]] absl::Status Flush();

 private:
  // The RocksDB handle, column families and write mutex are for store/ only
  // (store/store_internals.h), never handed out to the rest of the program.
  friend rocksdb::DB* DbOf(const Store* s);
  friend rocksdb::ColumnFamilyHandle* CfOf(const Store* s, Cf which);
  friend std::mutex& WriteMutexOf(Store* s);
  friend QueueShared& QueueSharedOf(Store* s);
  Store() = default;
  rocksdb::ColumnFamilyHandle* cf(Cf which) const { return cfs_[static_cast<int>(which)]; }

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::string data_dir_;
  int lock_fd_ = -1;
  std::mutex write_mu_;
  std::once_flag queue_once_;
  std::shared_ptr<QueueShared> queue_;  // created on first use by store/queue_store.cc
};

}  // namespace salvo
