// See group_commit.h.
#include "store/group_commit.h"

#include <algorithm>

#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/rocks_status.h"

namespace salvo {

absl::Status GroupCommit::Write(const std::vector<GroupCommitOp>& ops) {
  Writer w;
  w.ops = &ops;
  for (const GroupCommitOp& op : ops) w.bytes += op.key.size() + op.value.size();
  writes_.fetch_add(1, std::memory_order_relaxed);

  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&w);
  while (!w.done && &w != queue_.front()) w.cv.wait(lock);
  if (w.done) return w.status;  // a leader wrote our ops

  // Leader: take every queued writer up to the byte bound (always our own ops).
  std::vector<Writer*> group;
  size_t bytes = 0;
  for (Writer* x : queue_) {
    if (!group.empty() && bytes + x->bytes > kMaxGroupBytes) break;
    group.push_back(x);
    bytes += x->bytes;
  }
  lock.unlock();  // followers keep queueing behind the group while we write

  rocksdb::WriteBatch batch(bytes + 64 * group.size() + 64);
  rocksdb::Status rs;
  for (const Writer* x : group) {
    for (const GroupCommitOp& op : *x->ops) {
      rs = op.kind == GroupCommitOp::Kind::kPut ? batch.Put(op.cf, op.key, op.value)
                                                : batch.Delete(op.cf, op.key);
      if (!rs.ok()) break;
    }
    if (!rs.ok()) break;
  }
  absl::Status st;
  if (!rs.ok()) {
    st = FromRocks(rs, "building the queue's write batch");
  } else {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    st = FromRocks(db_->Write(wo, &batch), "writing the queue (synced)");
    syncs_.fetch_add(1, std::memory_order_relaxed);
  }

  lock.lock();
  for (Writer* x : group) {
    queue_.pop_front();  // the group is the front of the queue, in order
    if (x != &w) {
      x->status = st;
      x->done = true;
      x->cv.notify_one();
    }
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();  // the next leader
  return st;
}

GroupCommitStats GroupCommit::Stats() const {
  GroupCommitStats s;
  s.writes = writes_.load(std::memory_order_relaxed);
  s.syncs = syncs_.load(std::memory_order_relaxed);
  return s;
}

uint64_t WalSync::Ticket() {
  tickets_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  return ++written_;
}

absl::Status WalSync::WaitDurable(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  while (synced_ < ticket) {
    if (syncing_) {
      cv_.wait(lock);
      continue;
    }
    // Leader: one SyncWAL for every ticket handed out so far (their writes came before them).
    syncing_ = true;
    const uint64_t target = written_;
    lock.unlock();
    const rocksdb::Status rs = db_->SyncWAL();
    syncs_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    syncing_ = false;
    cv_.notify_all();
    if (!rs.ok()) return FromRocks(rs, "syncing the write-ahead log");  // waiters try their own
    synced_ = std::max(synced_, target);
  }
  return absl::OkStatus();
}

}  // namespace salvo
