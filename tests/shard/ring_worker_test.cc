// Unit tests for shard/ring_worker: cross-thread Post() runs on the loop thread in order,
// timers fire in deadline order, cancelled timers never fire, RequestExit/Join end the loop;
// with completion batching, timers, Post() and a lone completion are not held back.
#include "shard/ring_worker.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace salvo {
namespace {

TEST(RingLoopTest, PostRunsOnLoopThreadInOrder) {
  RingLoop loop;
  ASSERT_TRUE(loop.Start(64).ok());
  std::vector<int> seen;
  std::promise<void> done;
  std::atomic<bool> wrong_thread{false};
  for (int i = 0; i < 1000; ++i) {
    loop.Post([&, i] {
      if (!loop.InLoopThread()) wrong_thread = true;
      seen.push_back(i);
      if (i == 999) done.set_value();
    });
  }
  done.get_future().wait();
  loop.StopAndJoin();
  EXPECT_FALSE(wrong_thread.load());
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}

TEST(RingLoopTest, PostFromManyThreads) {
  RingLoop loop;
  ASSERT_TRUE(loop.Start(64).ok());
  std::atomic<int> count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) loop.Post([&] { ++count; });
    });
  for (auto& t : threads) t.join();
  loop.StopAndJoin();  // runs what was posted before it
  EXPECT_EQ(count.load(), 2000);
}

// On the loop thread: `arm`, then a last timer in `last` that appends `last_id` to *fired. Waits
// for that last timer and stops the loop.
void ArmThenFinish(RingLoop& loop, const std::function<void()>& arm, absl::Duration last,
                   int last_id, std::vector<int>* fired) {
  std::promise<void> done;
  loop.Post([&] {
    arm();
    loop.AddTimer(last, [&] {
      fired->push_back(last_id);
      done.set_value();
    });
  });
  done.get_future().wait();
  loop.StopAndJoin();
}

TEST(RingLoopTest, TimersFireInOrderAndCancelWorks) {
  RingLoop loop;
  ASSERT_TRUE(loop.Start(64).ok());
  std::vector<int> fired;
  auto arm = [&] {
    loop.AddTimer(absl::Milliseconds(30), [&] { fired.push_back(3); });
    loop.AddTimer(absl::Milliseconds(10), [&] { fired.push_back(1); });
    uint64_t cancelled = loop.AddTimer(absl::Milliseconds(20), [&] { fired.push_back(99); });
    loop.AddTimer(absl::Milliseconds(20), [&] { fired.push_back(2); });
    loop.CancelTimer(cancelled);
  };
  ArmThenFinish(loop, arm, absl::Milliseconds(50), 4, &fired);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3, 4}));
}

// An idle timer re-armed for every message (long delay, cancelled at once) must not keep an
// entry per message until its deadline; the live timers still fire in order.
TEST(RingLoopTest, CancelledTimersDoNotAccumulate) {
  RingLoop loop;
  ASSERT_TRUE(loop.Start(64).ok());
  std::vector<int> fired;
  size_t max_entries = 0;
  auto arm = [&] {
    loop.AddTimer(absl::Milliseconds(20), [&] { fired.push_back(2); });
    loop.AddTimer(absl::Milliseconds(10), [&] { fired.push_back(1); });
    uint64_t idle = 0;
    for (int i = 0; i < 100'000; ++i) {
      if (idle) loop.CancelTimer(idle);
      idle = loop.AddTimer(absl::Seconds(60), [&] { fired.push_back(99); });
      max_entries = std::max(max_entries, loop.timer_entries());
    }
    loop.CancelTimer(idle);
  };
  ArmThenFinish(loop, arm, absl::Milliseconds(30), 3, &fired);
  EXPECT_LT(max_entries, 1000u);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
}

TEST(RingLoopTest, RequestExitThenJoin) {
  RingLoop loop;
  ASSERT_TRUE(loop.Start(64).ok());
  bool exit_requested = false;
  bool later_ran = false;
  loop.Post([&] {
    // A pending timer far in the future does not keep the loop alive after RequestExit.
    loop.AddTimer(absl::Hours(1), [&] { later_ran = true; });
    loop.AddTimer(absl::Milliseconds(5), [&] {
      exit_requested = true;
      loop.RequestExit();
    });
  });
  loop.Join();  // returns only once the loop thread has ended
  EXPECT_TRUE(exit_requested);
  EXPECT_FALSE(later_ran);
  EXPECT_FALSE(loop.InLoopThread());
}

// --- completion batching (SetCompletionBatch) ---------------------------------------------
// Bounds are generous (a shared, loaded machine); the bugs they catch cost a whole min wait.

int64_t MsSince(int64_t start_ns) { return (MonoNowNs() - start_ns) / 1000000; }

// A timer due after the min wait fires on time, and one due before it too.
TEST(RingLoopBatchTest, TimersFireOnTime) {
  RingLoop loop;
  loop.SetCompletionBatch(16, absl::Milliseconds(100));
  ASSERT_TRUE(loop.Start(64).ok());
  std::printf("batching active: %d\n", loop.batching());
  int64_t start = 0, short_ms = -1, long_ms = -1;
  std::promise<void> done;
  loop.Post([&] {
    start = MonoNowNs();
    loop.AddTimer(absl::Milliseconds(20), [&] { short_ms = MsSince(start); });
    loop.AddTimer(absl::Milliseconds(250), [&] {
      long_ms = MsSince(start);
      done.set_value();
    });
  });
  done.get_future().wait();
  loop.StopAndJoin();
  EXPECT_GE(short_ms, 20);
  EXPECT_LT(short_ms, 20 + 60);
  EXPECT_GE(long_ms, 250);
  EXPECT_LT(long_ms, 250 + 60);
}

// A Post() to a loop asleep in a long min wait runs at once, not when the wait ends.
TEST(RingLoopBatchTest, PostWakesAtOnce) {
  RingLoop loop;
  loop.SetCompletionBatch(16, absl::Milliseconds(500));
  ASSERT_TRUE(loop.Start(64).ok());
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the loop is waiting
    std::promise<int64_t> ran;
    int64_t posted = MonoNowNs();
    loop.Post([&] { ran.set_value(MsSince(posted)); });
    EXPECT_LT(ran.get_future().get(), 250) << "post " << i;
  }
  loop.StopAndJoin();
}

// Reads one byte of a pipe on the loop; reports when its completion was handled.
class PipeRead : public IoHandler {
 public:
  explicit PipeRead(RingLoop* loop, int fd) : loop_(loop), fd_(fd) {}
  void Arm() { io_uring_prep_read(loop_->Sqe(this, 0), fd_, &byte_, 1, 0); }
  void OnCompletion(uint8_t, int res, uint32_t) override { done_.set_value({res, MonoNowNs()}); }
  std::future<std::pair<int, int64_t>> Done() { return done_.get_future(); }

 private:
  RingLoop* loop_;
  int fd_;
  char byte_ = 0;
  std::promise<std::pair<int, int64_t>> done_;
};

// One completion alone (fewer than wait_nr) is handled within the min wait, not later.
TEST(RingLoopBatchTest, LoneCompletionWaitsAtMostTheMinWait) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  RingLoop loop;
  loop.SetCompletionBatch(16, absl::Milliseconds(50));
  ASSERT_TRUE(loop.Start(64).ok());
  for (int i = 0; i < 5; ++i) {
    PipeRead read(&loop, fds[0]);
    auto done = read.Done();
    std::promise<void> armed;
    loop.Post([&] {
      read.Arm();
      armed.set_value();
    });
    armed.get_future().wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int64_t written = MonoNowNs();
    ASSERT_EQ(write(fds[1], "x", 1), 1);
    auto [res, at] = done.get();
    EXPECT_EQ(res, 1);
    EXPECT_LT((at - written) / 1000000, 50 + 100) << "read " << i;
  }
  loop.StopAndJoin();
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace salvo
