// Unit tests for shard/ring_worker: cross-thread Post() runs on the loop thread in order,
// timers fire in deadline order, cancelled timers never fire, RequestExit/Join end the loop.
#include "shard/ring_worker.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
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

}  // namespace
}  // namespace salvo
