// tools/salvo/event_batcher.cc: every queued click / open event is written once, in time order
// of arrival per thread, and Stop() flushes the queue.
#include "tools/salvo/event_batcher.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/store/store_fixture.h"

namespace salvo {
namespace {

class EventBatcherTest : public StoreFixture {};

TEST_F(EventBatcherTest, EveryEventWrittenOnceAndStopFlushes) {
  EventStore events(store_.get());
  constexpr int kPerThread = 5000;
  {
    EventBatcher batcher(&events);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          StoredEvent e;
          e.kind = t == 0 ? "click" : "open";
          e.source = "tracking";
          e.campaign_id = "c";
          e.address = absl::StrCat("u", t, "-", i, "@example.com");
          ASSERT_TRUE(batcher.Add(std::move(e)));
        }
      });
    }
    for (auto& th : threads) th.join();
    batcher.Stop();
    EXPECT_EQ(batcher.written(), 2u * kPerThread);
    EXPECT_EQ(batcher.failed(), 0u);
    StoredEvent late;
    late.kind = "click";
    EXPECT_FALSE(batcher.Add(late)) << "no events accepted after Stop";
  }
  std::map<std::string, int> seen;
  int64_t last_at = 0;
  bool ordered = true;
  ASSERT_TRUE(events.ForEach([&](const StoredEvent& e) {
    ++seen[e.address];
    ordered = ordered && e.at_us >= last_at;
    last_at = e.at_us;
    return true;
  }).ok());
  EXPECT_EQ(seen.size(), 2u * kPerThread);
  for (const auto& [address, n] : seen) EXPECT_EQ(n, 1) << address;
  EXPECT_TRUE(ordered) << "keys are time-ordered";
}

}  // namespace
}  // namespace salvo
