// shard/: RingLoop — see ring_worker.h.
#include "shard/ring_worker.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

#include "absl/strings/str_cat.h"

namespace salvo {

namespace {
constexpr uint8_t kWakeRead = 1;
constexpr size_t kCqeBatch = 256;
// liburing 2.3's headers predate these (kernel 6.12: io_uring_getevents_arg.pad is min_wait_usec).
constexpr uint32_t kFeatMinTimeout = 1U << 15;   // IORING_FEAT_MIN_TIMEOUT
// The longest wait without a timer: the loop comes round once then (harmless), because a min
// wait without a general timeout ends the wait with -ETIME when nothing completed.
constexpr int64_t kIdleWaitNs = int64_t{10} * 1000000000;
// The min wait is used while wake-ups carry fewer completions than this on average.
constexpr uint32_t kBatchBelowCqes = 4;

// With batching, Post() interrupts the wait with this signal (see RingLoop::Wake). It is blocked
// on the loop thread except inside io_uring_enter (the wait's sigmask), so it interrupts nothing
// else; its handler does nothing. Not queued (a standard signal), default action "ignore".
constexpr int kWakeSignal = SIGURG;
void NoopSignalHandler(int) {}
std::once_flag wake_signal_once;
void InstallWakeSignalHandler() {
  std::call_once(wake_signal_once, [] {
    struct sigaction sa{};
    sa.sa_handler = NoopSignalHandler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(kWakeSignal, &sa, nullptr);
  });
}
}  // namespace

int64_t MonoNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

RingLoop::~RingLoop() { StopAndJoin(); }

void RingLoop::SetCompletionBatch(uint32_t wait_nr, absl::Duration min_wait) {
  min_wait = std::clamp(min_wait, absl::ZeroDuration(), kMaxBatchWait);
  batch_nr_ = std::max<uint32_t>(wait_nr, 1);
  batch_wait_us_ = static_cast<uint32_t>(absl::ToInt64Microseconds(min_wait));
}

absl::Status RingLoop::Start(uint32_t entries, std::function<void()> on_start) {
  std::promise<absl::Status> ready;
  auto ready_future = ready.get_future();
  thread_ = std::thread([this, entries, &ready, on_start = std::move(on_start)] {
    thread_id_ = std::this_thread::get_id();
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
    int r = io_uring_queue_init_params(entries, &ring_, &p);
    if (r < 0) {  // older kernel: plain ring
      p = io_uring_params{};
      r = io_uring_queue_init_params(entries, &ring_, &p);
    }
    if (r < 0) {
      ready.set_value(absl::InternalError(absl::StrCat("io_uring setup failed: ", strerror(-r))));
      return;
    }
    batch_active_ = batch_nr_ > 1 && batch_wait_us_ > 0 && (p.features & kFeatMinTimeout) != 0 &&
                    (p.features & IORING_FEAT_EXT_ARG) != 0;
    ring_ok_ = true;
    if (batch_active_) {
      InstallWakeSignalHandler();
      sigset_t block;
      sigemptyset(&block);
      sigaddset(&block, kWakeSignal);
      sigset_t old;
      pthread_sigmask(SIG_BLOCK, &block, &old);
      sigdelset(&old, kWakeSignal);
      std::memcpy(&wait_sigmask_, &old, sizeof wait_sigmask_);  // the kernel's 64-bit mask
      loop_pthread_ = pthread_self();
    }
    event_fd_ = eventfd(0, EFD_CLOEXEC);
    if (event_fd_ < 0) {
      ready.set_value(absl::InternalError(absl::StrCat("eventfd failed: ", strerror(errno))));
      return;
    }
    ready.set_value(absl::OkStatus());
    if (on_start) on_start();
    Run();
  });
  absl::Status st = ready_future.get();
  if (!st.ok()) {
    thread_.join();
    if (ring_ok_) io_uring_queue_exit(&ring_);
    ring_ok_ = false;
  }
  return st;
}

void RingLoop::StopAndJoin() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  Wake();
  Join();
}

void RingLoop::Join() {
  if (!thread_.joinable()) return;
  thread_.join();
  if (ring_ok_) io_uring_queue_exit(&ring_);
  ring_ok_ = false;
  if (event_fd_ >= 0) close(event_fd_);
  event_fd_ = -1;
}

void RingLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(fn));
  }
  if (!wake_pending_.exchange(true)) Wake();
}

void RingLoop::Wake() {
  if (batch_active_) {
    // The loop clears wake_pending_ before it takes posted_ (Run), so a Post() either sees
    // false and signals, or its function is taken by that iteration.
    pthread_kill(loop_pthread_, kWakeSignal);
    return;
  }
  uint64_t one = 1;
  if (event_fd_ >= 0) (void)!write(event_fd_, &one, sizeof one);
}

io_uring_sqe* RingLoop::Sqe(IoHandler* handler, uint8_t kind) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data64(sqe, reinterpret_cast<uintptr_t>(handler) | (kind & 7));
  return sqe;
}

uint64_t RingLoop::AddTimer(absl::Duration delay, std::function<void()> fn) {
  return AddTimerAtNs(MonoNowNs() + absl::ToInt64Nanoseconds(delay), std::move(fn));
}

uint64_t RingLoop::AddTimerAtNs(int64_t deadline_ns, std::function<void()> fn) {
  uint64_t id = next_timer_id_++;
  timers_.emplace(id, std::move(fn));
  timer_heap_.push_back({deadline_ns, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<TimerEntry>());
  return id;
}

void RingLoop::CancelTimer(uint64_t id) {
  timers_.erase(id);
  // Drop the entries of cancelled timers once they outnumber the live ones (amortized O(1)).
  if (timer_heap_.size() > 2 * timers_.size() + 64) {
    std::erase_if(timer_heap_, [this](const TimerEntry& e) { return !timers_.contains(e.id); });
    std::make_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<TimerEntry>());
    if (timer_heap_.capacity() > 4 * timer_heap_.size() + 256) timer_heap_.shrink_to_fit();
  }
}

void RingLoop::PopTimer() {
  std::pop_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<TimerEntry>());
  timer_heap_.pop_back();
}

void RingLoop::WakeHandler::OnCompletion(uint8_t, int, uint32_t) {
  loop_->wake_pending_.store(false);
  loop_->ArmWake();
}

void RingLoop::ArmWake() {
  io_uring_sqe* sqe = Sqe(&wake_, kWakeRead);
  io_uring_prep_read(sqe, event_fd_, &wake_buf_, sizeof wake_buf_, 0);
}

int RingLoop::SubmitAndWait(int64_t wait_ns) {
  if (!batch_active_) {
    __kernel_timespec ts{};
    if (wait_ns >= 0) {
      ts.tv_sec = wait_ns / 1000000000;
      ts.tv_nsec = wait_ns % 1000000000;
    }
    io_uring_cqe* cqe = nullptr;
    return io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, wait_ns >= 0 ? &ts : nullptr, nullptr);
  }
  // Publish the queued SQEs as liburing's (internal) flush does: the array maps slot i to SQE i
  // since setup, so moving the tail is all; the kernel reads it in the io_uring_enter below.
  io_uring_sq* sq = &ring_.sq;
  const unsigned tail = sq->sqe_tail;
  if (sq->sqe_head != tail) {
    sq->sqe_head = tail;
    io_uring_smp_store_release(sq->ktail, tail);
  }
  const unsigned to_submit = tail - io_uring_smp_load_acquire(sq->khead);
  // A timer due within the min wait, or wake-ups that carry several completions anyway: wait
  // for one completion (see Run()).
  const bool soon = (wait_ns >= 0 && wait_ns <= int64_t{batch_wait_us_} * 1000) ||
                    cqe_avg_x16_ >= int32_t{kBatchBelowCqes} * 16;
  if (wait_ns < 0) wait_ns = kIdleWaitNs;
  __kernel_timespec ts{};
  ts.tv_sec = wait_ns / 1000000000;
  ts.tv_nsec = wait_ns % 1000000000;
  io_uring_getevents_arg arg{};
  arg.sigmask = reinterpret_cast<uintptr_t>(&wait_sigmask_);
  arg.sigmask_sz = sizeof wait_sigmask_;   // _NSIG / 8
  arg.pad = soon ? 0 : batch_wait_us_;     // min_wait_usec
  arg.ts = reinterpret_cast<uintptr_t>(&ts);
  const unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  int r = static_cast<int>(syscall(__NR_io_uring_enter, ring_.enter_ring_fd, to_submit,
                                   soon ? 1u : batch_nr_, flags, &arg, sizeof arg));
  return r < 0 ? -errno : r;
}

void RingLoop::RunPosted() {
  std::vector<std::function<void()>> batch;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(posted_);
    stopping = stopping_;
    if (stopping && batch.empty()) exit_ = true;
  }
  for (auto& fn : batch) fn();
  // Stopping with work just run: come back without waiting (no further wake-up will come).
  stop_recheck_ = stopping && !exit_;
}

void RingLoop::RunTimers() {
  if (timer_heap_.empty()) return;
  int64_t now = MonoNowNs();
  while (!timer_heap_.empty() && timer_heap_.front().deadline_ns <= now) {
    uint64_t id = timer_heap_.front().id;
    PopTimer();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    std::function<void()> fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
  // Drop cancelled entries at the top so the wait below uses a live deadline.
  while (!timer_heap_.empty() && !timers_.contains(timer_heap_.front().id)) PopTimer();
}

void RingLoop::Run() {
  if (!batch_active_) ArmWake();  // else Post() signals (Wake)
  io_uring_cqe* batch[kCqeBatch];
  struct Done {
    uint64_t data;
    int res;
    uint32_t flags;
  };
  std::vector<Done> done;
  done.reserve(kCqeBatch);
  while (true) {
    if (batch_active_) wake_pending_.store(false);
    RunPosted();
    RunTimers();
    if (exit_) break;
    if (stop_recheck_) continue;
    int64_t wait_ns = -1;
    if (!timer_heap_.empty())
      wait_ns = std::max<int64_t>(0, timer_heap_.front().deadline_ns - MonoNowNs());
    int r = SubmitAndWait(wait_ns);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      // Nothing sensible to do but retry; avoid a hot loop.
      usleep(1000);
    }
    // Reap in batches; copy first so handlers may submit freely.
    unsigned reaped = 0;
    while (true) {
      unsigned n = io_uring_peek_batch_cqe(&ring_, batch, kCqeBatch);
      reaped += n;
      if (n == 0) break;
      done.clear();
      for (unsigned i = 0; i < n; ++i)
        done.push_back({batch[i]->user_data, batch[i]->res, batch[i]->flags});
      io_uring_cq_advance(&ring_, n);
      for (const Done& d : done) {
        if (d.data == 0) continue;
        auto* h = reinterpret_cast<IoHandler*>(d.data & ~uint64_t{7});
        h->OnCompletion(static_cast<uint8_t>(d.data & 7), d.res, d.flags);
      }
      if (n < kCqeBatch) break;
    }
    // Completions per wake-up, averaged (x16, over ~8 wake-ups): when they come one or two at a
    // time (a slow receiver answering connection by connection) the min wait saves wake-ups;
    // when a wake-up already finds many, it would only add latency.
    if (batch_active_) {
      cqe_avg_x16_ += (static_cast<int32_t>(std::min(reaped, 64u)) * 16 - cqe_avg_x16_) / 8;
    }
  }
}

}  // namespace salvo
