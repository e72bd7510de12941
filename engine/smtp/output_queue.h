// engine/smtp/output_queue.h — the bytes a session wants written, as an iovec list for
// writev/sendmsg: zero-copy views into message segments, static pieces (dot-stuffing inserts,
// CRLF fixes) and small owned pieces (commands) copied into a block arena.
//
// Address stability: the bytes an iovec points at stay valid and unmoved until they are reported
// written with Consume() (or Clear()); owned pieces live in fixed arena blocks that are recycled
// only when the whole queue has drained. The iovec ARRAY itself (iovecs()) may move whenever
// something is appended: a runtime that keeps a write in flight must copy the iovecs it submits.
// No I/O; no allocation in steady state (vector and arena capacity are reused).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace salvo {

class OutputQueue {
 public:
  OutputQueue();
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  // Appends a view; the caller keeps the bytes alive and unchanged until they are consumed.
  // Adjacent views that are contiguous in memory are merged into one iovec. Empty views ignored.
  void AppendView(std::string_view bytes);
  // Copies `bytes` into the arena and appends them.
  void AppendCopy(std::string_view bytes);
  // Reserves `n` bytes in the arena, to be filled by the caller and then passed to CommitCopy
  // (with the length actually used, <= n). Only one reservation at a time.
  char* ReserveCopy(size_t n);
  void CommitCopy(size_t used);

  // Appends an empty slot, filled later by FillSlotCopy (e.g. a BDAT command whose size is known
  // only after the body was appended). Fill it before anything is consumed.
  size_t AppendSlot();
  // Copies `bytes` into the arena and puts them in the slot.
  void FillSlotCopy(size_t slot, std::string_view bytes);

  // The unwritten bytes, in order. Valid until the next non-const call.
  std::span<const iovec> iovecs() const {
    return std::span<const iovec>(iov_.data() + head_, iov_.size() - head_);
  }
  size_t bytes() const { return bytes_; }  // total unwritten bytes
  bool empty() const { return bytes_ == 0; }

  // The first `n` bytes were written (n <= bytes()). Partial iovecs are handled.
  void Consume(size_t n);
  // Drops everything (connection closed).
  void Clear();

  // Copies the unwritten bytes into one string (tests, debugging).
  std::string Flatten() const;

 private:
  static constexpr size_t kBlockBytes = 16 * 1024;
  struct Block {
    std::unique_ptr<char[]> data;
    size_t cap = 0;
  };
  char* Allocate(size_t n);

  std::vector<iovec> iov_;
  size_t head_ = 0;      // first unwritten iovec
  size_t bytes_ = 0;
  std::vector<Block> blocks_;
  size_t block_ = 0;     // current block index
  size_t used_ = 0;      // bytes used in the current block
  size_t reserved_ = 0;  // open reservation size (0: none)
};

}  // namespace salvo
