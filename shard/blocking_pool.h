// shard/: BlockingPool — a fixed set of threads for work that blocks (store reads, a queue
// Enqueue waiting for its fsync), so that io_uring loops never wait on it. A job reports back by
// posting to its loop (RingLoop::Post). Jobs run in submission order per thread, not globally.
// Trusts its callers (same process).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace salvo {

class BlockingPool {
 public:
  explicit BlockingPool(size_t threads);
  ~BlockingPool();  // Drain()
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Thread-safe. After Drain() the job is dropped.
  void Submit(std::function<void()> job);
  // Runs every job submitted so far, then stops and joins the threads. Idempotent.
  void Drain();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace salvo
