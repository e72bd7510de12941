// Group commit: many threads' writes share one WAL fsync. A leader/follower write queue, as in
// LevelDB's DBImpl::Write: each caller queues its operations and waits; the caller at the front
// becomes the leader, combines the queued operations of everyone behind it (up to kMaxGroupBytes)
// into one WriteBatch, writes it with sync=true, and wakes the followers it wrote for with the
// same status. Callers that arrive during the fsync form the next group. A Write returns only
// after its operations are in the WAL and the WAL is on disk (or with the error that prevented it).
// Thread-safe. The counters let tests and benchmarks check that writes were grouped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "store/rocksdb_fwd.h"

namespace salvo {

struct GroupCommitOp {
  enum class Kind : uint8_t { kPut, kDelete };
  Kind kind = Kind::kPut;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::string key;
  std::string value;
};

struct GroupCommitStats {
  uint64_t writes = 0;  // Write calls that reached the queue
  uint64_t syncs = 0;   // synced RocksDB writes issued (one per group)
};

class GroupCommit {
 public:
  // Groups stop growing at this many bytes of keys and values (a leader's own write may be
  // larger): a follower should not wait for a huge group's write.
  static constexpr size_t kMaxGroupBytes = 8u << 20;

  explicit GroupCommit(rocksdb::DB* db) : db_(db) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Writes `ops` atomically (all or none) and durably, sharing the fsync with concurrent callers.
  // The ops of one call are never split across groups.
  [[nodiscard]] absl::Status Write(const std::vector<GroupCommitOp>& ops);

  GroupCommitStats Stats() const;

 private:
  struct Writer {
    const std::vector<GroupCommitOp>* ops = nullptr;
    size_t bytes = 0;
    bool done = false;
    absl::Status status;
    std::condition_variable cv;
  };

  rocksdb::DB* db_;
  std::mutex mu_;
  std::deque<Writer*> queue_;  // guarded by mu_; front = the current leader
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> syncs_{0};
};

// Durability for writes that must be made under a lock that should not be held across an fsync
// (RecipientStore::UpsertAndEnqueue: membership reads and the write under the store's write
// mutex, so that a lead posted twice at once triggers once). The caller writes without sync,
// takes a Ticket() after the write returned (with or without its lock), releases the lock and
// calls WaitDurable(ticket): it returns once a SyncWAL that began after the ticket was taken has
// ended. Concurrent callers share one SyncWAL: the first to find none running starts it for every
// ticket taken so far, the others wait for it (or start the next). Thread-safe.
class WalSync {
 public:
  explicit WalSync(rocksdb::DB* db) : db_(db) {}
  WalSync(const WalSync&) = delete;
  WalSync& operator=(const WalSync&) = delete;

  uint64_t Ticket();
  // OK once every write made before Ticket() returned is on disk; the SyncWAL error otherwise.
  [[nodiscard]] absl::Status WaitDurable(uint64_t ticket);

  uint64_t tickets() const { return tickets_.load(std::memory_order_relaxed); }
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  rocksdb::DB* db_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t written_ = 0;  // tickets handed out (guarded by mu_)
  uint64_t synced_ = 0;   // every ticket <= this is durable (guarded by mu_)
  bool syncing_ = false;  // a SyncWAL runs (guarded by mu_)
  std::atomic<uint64_t> tickets_{0};
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace salvo
