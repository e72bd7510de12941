// shard/: the event loop of one worker — one thread, one io_uring, a timer heap and a
// cross-thread post queue. Completions are reaped in batches; each CQE's user_data is an
// IoHandler pointer with the operation kind in its low 3 bits. A handler must keep itself alive
// until every operation it submitted has completed (it counts them), so the kernel never writes
// into freed memory; stale completions are recognised by the handler's generation counters.
// Trusts its callers (same process); no outside input is parsed here.
#pragma once

#include <liburing.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace salvo {

// Something that submitted ring operations and continues when they complete.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `kind` is the value given to RingLoop::Sqe(); res/flags from the CQE.
  virtual void OnCompletion(uint8_t kind, int res, uint32_t flags) = 0;
};

// Monotonic nanoseconds.
int64_t MonoNowNs();

class RingLoop {
 public:
  RingLoop() = default;
  ~RingLoop();
  RingLoop(const RingLoop&) = delete;
  RingLoop& operator=(const RingLoop&) = delete;

  // Before Start(): completion batching. When wait_nr > 1 and min_wait > 0 and the kernel has
  // IORING_FEAT_MIN_TIMEOUT (6.12+), the loop waits for up to `min_wait` until wait_nr completions
  // are in, then returns with the first one (one wake-up carries several completions instead of
  // one each). A timer due sooner than min_wait, a Post() and the first completion after
  // min_wait still wake the loop at once; other completions wait at most min_wait (clamped to
  // kMaxBatchWait). The min wait is used only while the loop's iterations reap fewer than 4
  // completions on average (a busy loop gains nothing from it but latency).
  // Older kernels, or wait_nr <= 1: one wake-up per completion.
  // While batching, Post() wakes the loop with SIGURG sent to its thread (a no-op handler is
  // installed once per process; the signal is blocked on the loop thread outside the wait): a
  // kernel wake-up for an eventfd completion would only count towards wait_nr.
  static constexpr absl::Duration kMaxBatchWait = absl::Milliseconds(1000);
  void SetCompletionBatch(uint32_t wait_nr, absl::Duration min_wait);
  // True once Start() found the kernel able to batch as set (loop thread, or after Start()).
  bool batching() const { return batch_active_; }

  // Starts the thread and sets up the ring on it. `on_start` runs first on the thread.
  [[nodiscard]] absl::Status Start(uint32_t entries, std::function<void()> on_start = nullptr);
  // Thread-safe. Stops the loop after the posted functions queued so far have run; joins.
  void StopAndJoin();
  // Joins a loop that ends by itself (RequestExit()) and releases the ring.
  void Join();

  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_; }
  void Post(std::function<void()> fn);  // thread-safe

  // --- loop thread only ---
  // A fresh SQE tagged for (handler, kind 0..7). Flushes the SQ when full. Never null.
  io_uring_sqe* Sqe(IoHandler* handler, uint8_t kind);
  uint64_t AddTimer(absl::Duration delay, std::function<void()> fn);
  uint64_t AddTimerAtNs(int64_t deadline_ns, std::function<void()> fn);
  void CancelTimer(uint64_t id);
  // Stop the loop as soon as the current iteration ends (from the loop thread).
  void RequestExit() { exit_ = true; }
  // Timer entries held (live and cancelled ones not yet dropped); loop thread only (tests).
  size_t timer_entries() const { return timer_heap_.size(); }

 private:
  struct TimerEntry {
    int64_t deadline_ns;
    uint64_t id;
    bool operator>(const TimerEntry& o) const {
      return deadline_ns != o.deadline_ns ? deadline_ns > o.deadline_ns : id > o.id;
    }
  };
  class WakeHandler : public IoHandler {
   public:
    explicit WakeHandler(RingLoop* loop) : loop_(loop) {}
    void OnCompletion(uint8_t kind, int res, uint32_t flags) override;
   private:
    RingLoop* loop_;
  };

  void Run();
  // One io_uring_enter: submits the queued SQEs and waits as SetCompletionBatch() says, or for
  // one completion when the timer deadline (wait_ns from now; < 0: none) is due within min_wait.
  int SubmitAndWait(int64_t wait_ns);
  void ArmWake();
  void Wake();  // any thread: makes the loop come round (eventfd, or kWakeSignal when batching)
  void RunPosted();
  void RunTimers();
  void PopTimer();  // removes the earliest entry of timer_heap_

  io_uring ring_{};
  bool ring_ok_ = false;
  uint32_t batch_nr_ = 1;
  uint32_t batch_wait_us_ = 0;
  bool batch_active_ = false;  // set on the loop thread before Start() returns
  int32_t cqe_avg_x16_ = 0;    // completions per loop iteration, x16, moving average (Run)
  uint64_t wait_sigmask_ = 0;  // the loop thread's signal mask without the wake signal
  pthread_t loop_pthread_{};
  int event_fd_ = -1;
  uint64_t wake_buf_ = 0;
  WakeHandler wake_{this};
  std::thread thread_;
  std::thread::id thread_id_;
  bool exit_ = false;
  bool stop_recheck_ = false;

  std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::atomic<bool> wake_pending_{false};

  // Min-heap on deadline (std::push_heap with std::greater). A cancelled timer leaves its entry
  // here until it reaches the top; CancelTimer compacts the heap when such stale entries are the
  // majority, so an idle timer re-armed per message (60 s) does not keep one entry per message.
  std::vector<TimerEntry> timer_heap_;
  absl::flat_hash_map<uint64_t, std::function<void()>> timers_;
  uint64_t next_timer_id_ = 1;
};

}  // namespace salvo
