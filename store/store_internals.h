// store/-internal access to a Store's RocksDB handle, column families and write mutex. Only the
// stores in store/ (and their tests) include this header; the rest of the program uses the
// stores' APIs (recipients, suppression, campaigns, links, events) and never sees the DB.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "rocksdb/db.h"
#include "store/rocks_status.h"
#include "store/store.h"

namespace salvo {

inline rocksdb::DB* DbOf(const Store* s) { return s->db_; }
inline rocksdb::ColumnFamilyHandle* CfOf(const Store* s, Cf which) {
  return s->cfs_[static_cast<int>(which)];
}
// Serializes read-modify-write batches (list member counts, the suppression count) within this
// process; the data_dir lock guarantees that no other process writes.
inline std::mutex& WriteMutexOf(Store* s) { return s->write_mu_; }
// The queue's per-Store state (group commit, id clock, transition mutex): every QueueStore on
// one Store shares it. Defined in store/queue_store.cc.
QueueShared& QueueSharedOf(Store* s);
class WalSync;  // store/group_commit.h
// The Store's shared WAL sync for writes made under WriteMutexOf (defined in queue_store.cc).
WalSync& WalSyncOf(Store* s);

// The keys of one column family that start with `prefix`, whose last byte is '\0' (the layout
// "name\0rest"): RocksDB's upper bound (the prefix with '\1') ends the scan there.
//   for (PrefixScan scan(store, Cf::kMeta, prefix); scan.Valid(); scan.Next()) ... scan.rest()
class PrefixScan {
 public:
  PrefixScan(Store* s, Cf cf, std::string prefix) : prefix_(std::move(prefix)), upper_(prefix_) {
    upper_.back() = '\1';
    upper_slice_ = rocksdb::Slice(upper_);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice_;
    it_.reset(DbOf(s)->NewIterator(ro, CfOf(s, cf)));
    it_->Seek(prefix_);
  }
  bool Valid() const { return it_->Valid(); }
  void Next() { it_->Next(); }
  std::string_view rest() const { return it_->key().ToStringView().substr(prefix_.size()); }
  std::string_view value() const { return it_->value().ToStringView(); }
  // The scan's error (after the loop), as FromRocks(status, what).
  [[nodiscard]] absl::Status status(std::string_view what) const {
    return FromRocks(it_->status(), what);
  }

 private:
  std::string prefix_, upper_;
  rocksdb::Slice upper_slice_;  // read by the iterator for its whole life
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace salvo
