// engine/smtp/output_queue.cc — iovec list + stable block arena (see output_queue.h).
#include "engine/smtp/output_queue.h"

#include <cassert>
#include <cstring>
#include <string>

namespace salvo {

OutputQueue::OutputQueue() { iov_.reserve(64); }

void OutputQueue::AppendView(std::string_view bytes) {
  if (bytes.empty()) return;
  if (iov_.size() > head_) {
    iovec& last = iov_.back();
    if (static_cast<const char*>(last.iov_base) + last.iov_len == bytes.data()) {
      last.iov_len += bytes.size();
      bytes_ += bytes.size();
      return;
    }
  }
  iov_.push_back(iovec{const_cast<char*>(bytes.data()), bytes.size()});
  bytes_ += bytes.size();
}

char* OutputQueue::Allocate(size_t n) {
  if (!blocks_.empty() && blocks_[block_].cap - used_ >= n) {
    char* p = blocks_[block_].data.get() + used_;
    used_ += n;
    return p;
  }
  // Next block that can hold n (recycled ones first), else a new one.
  size_t next = blocks_.empty() ? 0 : block_ + 1;
  while (next < blocks_.size() && blocks_[next].cap < n) ++next;
  if (next >= blocks_.size()) {
    Block b;
    b.cap = n > kBlockBytes ? n : kBlockBytes;
    b.data.reset(new char[b.cap]);
    blocks_.push_back(std::move(b));
    next = blocks_.size() - 1;
  }
  block_ = next;
  used_ = n;
  return blocks_[block_].data.get();
}

void OutputQueue::AppendCopy(std::string_view bytes) {
  if (bytes.empty()) return;
  char* p = Allocate(bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  AppendView(std::string_view(p, bytes.size()));
}

char* OutputQueue::ReserveCopy(size_t n) {
  assert(reserved_ == 0);
  reserved_ = n;
  return Allocate(n);
}

void OutputQueue::CommitCopy(size_t used) {
  assert(used <= reserved_);
  used_ -= reserved_ - used;  // give back the unused tail (it is the end of the current block)
  const char* p = blocks_[block_].data.get() + used_ - used;
  reserved_ = 0;
  AppendView(std::string_view(p, used));
}

size_t OutputQueue::AppendSlot() {
  iov_.push_back(iovec{nullptr, 0});
  return iov_.size() - 1;
}

void OutputQueue::FillSlotCopy(size_t slot, std::string_view bytes) {
  assert(slot >= head_ && slot < iov_.size() && iov_[slot].iov_len == 0);
  char* p = Allocate(bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  iov_[slot] = iovec{p, bytes.size()};
  bytes_ += bytes.size();
}

void OutputQueue::Consume(size_t n) {
  assert(n <= bytes_);
  bytes_ -= n;
  while (n > 0 && head_ < iov_.size()) {
    iovec& v = iov_[head_];
    if (n < v.iov_len) {
      v.iov_base = static_cast<char*>(v.iov_base) + n;
      v.iov_len -= n;
      n = 0;
      break;
    }
    n -= v.iov_len;
    ++head_;
  }
  if (bytes_ == 0) Clear();
}

void OutputQueue::Clear() {
  iov_.clear();
  head_ = 0;
  bytes_ = 0;
  block_ = 0;
  used_ = 0;
  reserved_ = 0;
  // Keep at most a few blocks for reuse (bounded memory after a large command burst).
  if (blocks_.size() > 4) blocks_.resize(4);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    if (blocks_[i].cap > kBlockBytes) {
      blocks_.erase(blocks_.begin() + static_cast<long>(i), blocks_.end());
      break;
    }
  }
}

std::string OutputQueue::Flatten() const {
  std::string s;
  s.reserve(bytes_);
  for (const iovec& v : iovecs()) s.append(static_cast<const char*>(v.iov_base), v.iov_len);
  return s;
}

}  // namespace salvo
