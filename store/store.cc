// Opens the RocksDB store of one data_dir with every column family, after taking the data_dir's
// process lock (flock on data_dir/salvo.lock holding "pid cmdline"). Trust: the lock file's
// content is only displayed (sanitized, bounded), never parsed for decisions.
#include "store/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"
#include "store/record_codec.h"
#include "store/rocks_status.h"

namespace salvo {
namespace {

// Cf::kRecipients is "recipients_by_shard" since store schema 2 (keys shard, address key);
// schema 1's "recipients" (keys: address key) is migrated into it on open.
constexpr const char* kCfNames[] = {"default", "recipients_by_shard", "members", "lists",
                                    "suppression", "campaigns",  "progress", "events", "meta",
                                    "addr_hash",   "queue",      "queue_body", "queue_due",
                                    "queue_state", "queue_addr"};
static_assert(sizeof(kCfNames) / sizeof(kCfNames[0]) == static_cast<size_t>(Cf::kCount));

constexpr const char* kLockFile = "salvo.lock";

std::string ErrnoText(int e) { return std::strerror(e); }

// "pid cmdline" of this process, cmdline's NULs turned into spaces, bounded.
std::string SelfDescription() {
  std::string cmd;
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    ::close(fd);
    for (ssize_t i = 0; i < n; ++i) cmd.push_back(buf[i] == '\0' ? ' ' : buf[i]);
    while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
  }
  return absl::StrCat(getpid(), " ", SanitizeForLog(cmd, 400), "\n");
}

// Reads what the holder wrote into the lock file (it may be mid-write: retry briefly).
std::string ReadHolder(const std::string& path) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    char buf[600];
    ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n > 0 && buf[n - 1] == '\n') return std::string(buf, n - 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

[[nodiscard]] absl::Status HeldError(const std::string& data_dir, const std::string& holder) {
  size_t sp = holder.find(' ');
  if (holder.empty() || sp == std::string::npos || sp == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir ", data_dir, " is in use by another process"));
  }
  std::string pid = SanitizeForLog(holder.substr(0, sp), 20);
  std::string cmd = SanitizeForLog(holder.substr(sp + 1), 400);
  return absl::FailedPreconditionError(
      absl::StrCat("data_dir ", data_dir, " is in use by pid ", pid, " (", cmd, ")"));
}

// Takes data_dir's process lock and records this process in it. Returns the open fd.
[[nodiscard]] absl::StatusOr<int> TakeLock(const std::string& data_dir) {
  std::string path = data_dir + "/" + kLockFile;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", ErrnoText(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return HeldError(data_dir, ReadHolder(path));
    return absl::UnavailableError(absl::StrCat("cannot lock ", path, ": ", ErrnoText(e)));
  }
  std::string me = SelfDescription();
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) !=
                                     static_cast<ssize_t>(me.size())) {
    int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", ErrnoText(e)));
  }
  return fd;
}

// Counters in `meta` (per-account daily counts) are LEB128 varints that writers only add to:
// RocksDB merges the increments, so concurrent writers (two campaigns on one account) never
// overwrite each other. A value that is not a varint fails the merge (Corruption on read).
class VarintAddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    uint64_t base = 0, add = 0;
    if (existing != nullptr) {
      std::string_view in(existing->data(), existing->size());
      if (!GetVarint64(&in, &base) || !in.empty()) return false;
    }
    std::string_view in(value.data(), value.size());
    if (!GetVarint64(&in, &add) || !in.empty()) return false;
    new_value->clear();
    PutVarint64(new_value, base + add);
    return true;
  }
  const char* Name() const override { return "salvo.VarintAdd"; }
};

rocksdb::ColumnFamilyOptions CfOptions(Cf which, const std::shared_ptr<rocksdb::Cache>& cache,
                                       const StoreOptions& so) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));  // point lookups: MultiGet
  // Index and filter blocks live in the block cache (memory stays bounded), partitioned into
  // small blocks: whole ones grow with the store (a 1 M-recipient file's filter is ~1.2 MB, more
  // than one 1.5 MB shard of a 96 MB cache can keep), so every MultiGet of a large send re-read
  // and re-checksummed them and evicted the data blocks of the scan. Only the top-level index
  // of each file stays pinned.
  t.cache_index_and_filter_blocks = true;
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  t.partition_filters = true;
  t.metadata_block_size = 4096;
  t.pin_top_level_index_and_filter = true;
  t.format_version = 5;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  bool lz4 = false;
  for (auto c : rocksdb::GetSupportedCompressions()) {
    if (c == rocksdb::kLZ4Compression) lz4 = true;
  }
  o.compression = lz4 ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
  o.level_compaction_dynamic_level_bytes = true;
  switch (which) {
    case Cf::kRecipients:
    case Cf::kMembers:
    case Cf::kProgress:
      // `progress` is written once per message by a send (its outcome; the attempt markers are
      // one per batch, in `meta`) and read back only on resume: small memtables keep a send's
      // memory low (32 MB ones were a third of a 1 M send's peak RSS).
      o.write_buffer_size = which == Cf::kProgress ? so.write_buffer_size / 4 : so.write_buffer_size;
      o.max_write_buffer_number = static_cast<int>(so.max_write_buffers);
      // Imports look up mostly new keys: a memtable bloom filter answers those misses without
      // walking the skip list.
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.05;
      // A send writes `progress` in near key order, once per message: universal compaction
      // rewrites it less than levels do (10 M send: 1.1 GB and 32 s of compaction CPU, against
      // 1.35 GB and 42 s). Stores written with level compaction open unchanged.
      if (which == Cf::kProgress) o.compaction_style = rocksdb::kCompactionStyleUniversal;
      break;
    case Cf::kSuppression:
      // Mostly misses at send time: the whole-key bloom filter answers those without I/O.
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.02;
      o.write_buffer_size = so.write_buffer_size / 2;
      break;
    case Cf::kQueueBody:
      // Message bodies (KBs to MBs, written once, deleted by the sweep): kept in blob files so
      // that compactions move 20-byte references, not the bodies.
      o.enable_blob_files = true;
      o.min_blob_size = 4096;
      o.enable_blob_garbage_collection = true;
      o.write_buffer_size = so.write_buffer_size / 2;
      break;
    case Cf::kMeta:
      o.merge_operator = std::make_shared<VarintAddOperator>();
      o.write_buffer_size = so.write_buffer_size / 2;
      break;
    default:
      o.write_buffer_size = so.write_buffer_size / 2;
      break;
  }
  return o;
}

constexpr const char* kLegacyRecipientsCf = "recipients";  // schema 1
// meta "schema\0version": the store's key layout, a decimal number (absent: 1).
//   1  recipients keyed by address key (column family "recipients")
//   2  recipients keyed by shard, address key (RecipientKey; "recipients_by_shard")
constexpr int kSchemaVersion = 2;
const std::string& SchemaVersionKey() {
  static const std::string k = std::string("schema", 6) + '\0' + "version";
  return k;
}

// Copies schema 1's recipients into Cf::kRecipients under their new keys, then records schema 2
// (fsynced) and drops the old column family. The copy is written without the WAL and flushed
// before the version is: a crash before that leaves schema 1, and the next open copies again
// (the same puts); a crash after it leaves only the drop to do. `legacy` may be null (no
// schema 1 data). Runs inside Store::Open, before anything else can read or write.
[[nodiscard]]
absl::Status MigrateSchema(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* recipients,
                           rocksdb::ColumnFamilyHandle* meta, rocksdb::ColumnFamilyHandle* legacy) {
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, SchemaVersionKey(), &v);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the store's schema version");
  const int version = s.ok() ? std::atoi(v.c_str()) : 1;
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the store's schema version is ", SanitizeForLog(v, 20), "; this salvo knows ",
                     kSchemaVersion, " (written by a newer release?)"));
  }
  if (version < kSchemaVersion && legacy != nullptr) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, legacy));
    rocksdb::WriteOptions no_wal;
    no_wal.disableWAL = true;
    rocksdb::WriteBatch wb;
    std::string key;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      RecipientKey(std::string_view(it->key().data(), it->key().size()), &key);
      wb.Put(recipients, key, it->value());
      if (wb.GetDataSize() >= (8u << 20)) {
        s = db->Write(no_wal, &wb);
        if (!s.ok()) return FromRocks(s, "migrating recipients to schema 2");
        wb.Clear();
      }
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading schema 1 recipients");
    s = db->Write(no_wal, &wb);
    if (s.ok()) {
      rocksdb::FlushOptions fo;
      fo.wait = true;
      s = db->Flush(fo, recipients);
    }
    if (!s.ok()) return FromRocks(s, "migrating recipients to schema 2");
  }
  if (version < kSchemaVersion) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, meta, SchemaVersionKey(), std::to_string(kSchemaVersion));
    if (!s.ok()) return FromRocks(s, "writing the store's schema version");
  }
  if (legacy != nullptr) {
    s = db->DropColumnFamily(legacy);
    if (!s.ok()) return FromRocks(s, "dropping schema 1's recipients");
  }
  return absl::OkStatus();
}

// Stores written before the addr_hash index existed get it once, built from the recipients' keys
// (an idempotent scan: a kill during it just repeats it at the next open).
[[nodiscard]]
absl::Status EnsureAddressHashIndex(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* recipients,
                                    rocksdb::ColumnFamilyHandle* meta,
                                    rocksdb::ColumnFamilyHandle* index) {
  static const std::string kMarker = std::string("schema", 6) + '\0' + "addr_hash";
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kMarker, &v);
  if (s.ok()) return absl::OkStatus();
  if (!s.IsNotFound())
    return FromRocks(s, "reading store schema marker");
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, recipients));
  rocksdb::WriteBatch wb;
  std::string key;
  uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AddressHashKey(AddressKeyOfRecipientKey(std::string_view(it->key().data(), it->key().size())),
                   &key);
    wb.Put(index, key, rocksdb::Slice());
    if (++n % 65536 == 0) {
      s = db->Write(rocksdb::WriteOptions(), &wb);
      if (!s.ok()) return FromRocks(s, "indexing recipients");
      wb.Clear();
    }
  }
  if (!it->status().ok())
    return FromRocks(it->status(), "scanning recipients");
  wb.Put(meta, kMarker, "1");
  s = db->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return FromRocks(s, "indexing recipients");
  return absl::OkStatus();
}

}  // namespace

void AddressHashKey(std::string_view address_key, std::string* out) {
  out->clear();
  PutBe64(out, AddressHash(address_key));
  out->append(address_key);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir is empty");
  std::error_code ec;
  if (!std::filesystem::is_directory(options.data_dir, ec)) {
    if (!options.create_if_missing) {
      return absl::NotFoundError(absl::StrCat("data_dir ", options.data_dir, " does not exist"));
    }
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create data_dir ", options.data_dir, ": ", ec.message()));
    }
  }
  std::unique_ptr<Store> store(new Store());
  store->data_dir_ = options.data_dir;
  auto fd = TakeLock(options.data_dir);
  if (!fd.ok()) return fd.status();
  store->lock_fd_ = *fd;
  // SST files an import killed before ingesting them left behind (no import runs: we hold the
  // lock).
  std::filesystem::remove_all(std::filesystem::path(options.data_dir) / kImportTmpDir, ec);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.max_open_files = 512;
  db_options.keep_log_file_num = 3;
  db_options.max_total_wal_size = 256 << 20;
  db_options.avoid_unnecessary_blocking_io = true;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;

  // One cache for blocks and (charged to it) memtables: RocksDB's memory stays near block_cache.
  auto cache = rocksdb::NewLRUCache(options.block_cache);
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.memtables, cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    cfds.emplace_back(kCfNames[i], CfOptions(static_cast<Cf>(i), cache, options));
  }
  // Keep column families written by a newer release openable (they are left untouched).
  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(db_options, options.data_dir, &existing);
  for (const auto& name : existing) {
    bool known = false;
    for (const auto& d : cfds) known = known || d.name == name;
    if (!known) cfds.emplace_back(name, CfOptions(Cf::kDefault, cache, options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.data_dir, cfds, &handles, &db);
  if (!s.ok()) {
    return FromRocks(s, absl::StrCat("cannot open store in ", options.data_dir));
  }
  store->db_ = db;
  store->cfs_ = std::move(handles);
  // Schema 1's recipients, if any (opened above as a column family this release does not use).
  rocksdb::ColumnFamilyHandle* legacy = nullptr;
  size_t legacy_at = 0;
  for (size_t i = static_cast<size_t>(Cf::kCount); i < store->cfs_.size(); ++i) {
    if (store->cfs_[i]->GetName() == kLegacyRecipientsCf) {
      legacy = store->cfs_[i];
      legacy_at = i;
    }
  }
  if (absl::Status st =
          MigrateSchema(db, store->cf(Cf::kRecipients), store->cf(Cf::kMeta), legacy);
      !st.ok())
    return st;
  if (legacy != nullptr) {
    db->DestroyColumnFamilyHandle(legacy);
    store->cfs_.erase(store->cfs_.begin() + static_cast<ptrdiff_t>(legacy_at));
  }
  if (absl::Status st = EnsureAddressHashIndex(db, store->cf(Cf::kRecipients), store->cf(Cf::kMeta),
                                               store->cf(Cf::kAddrHash));
      !st.ok())
    return st;
  return store;
}

Store::~Store() {
  if (db_ != nullptr) {
    for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h);
    cfs_.clear();
    db_->Close();
    delete db_;
    db_ = nullptr;
  }
  if (lock_fd_ >= 0) {
    if (::ftruncate(lock_fd_, 0) != 0) {
      // Nothing to do: the flock is released by close() below either way.
    }
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

absl::Status Store::Flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles(
      cfs_.begin(), cfs_.begin() + static_cast<int>(Cf::kCount));
  rocksdb::Status s = db_->Flush(fo, handles);
  if (!s.ok()) return FromRocks(s, "flush failed");
  return absl::OkStatus();
}

}  // namespace salvo
