// store/-internal access to a Store's RocksDB handle, column families and write mutex. Only the
// stores in store/ (and their tests) include this header; the rest of the program uses the
// stores' APIs (recipients, suppression, campaigns, links, events) and never sees the DB.
#pragma once

#include <mutex>

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

}  // namespace salvo
