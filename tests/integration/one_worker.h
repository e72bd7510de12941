// Helper for the shard runtime's integration tests: send a batch of requests through one worker
// of a fresh WorkerGroup and collect every report.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <vector>

#include "engine/config/config.h"
#include "gtest/gtest.h"
#include "shard/sender.h"

namespace salvo::test {

// Submits `requests` (ids 0..n-1) from one worker of a fresh group with `config`'s timeouts;
// `on_worker` runs first on the worker thread. Returns the reports by id after a drained stop.
// When not every request got a report within `timeout`, the calling test fails, the group is
// aborted instead and *all_reported (when given) is false.
inline std::vector<SendReport> SendOnOneWorker(const Config& config,
                                               std::vector<SendRequest> requests,
                                               std::chrono::seconds timeout,
                                               const std::function<void()>& on_worker = {},
                                               bool* all_reported = nullptr) {
  std::vector<SendReport> reports(requests.size());
  if (requests.empty()) return reports;
  WorkerGroup group;
  SenderOptions opt;
  opt.timeouts = config.smtp_timeouts;
  opt.workers = 1;
  EXPECT_TRUE(group.Start(opt).ok());
  std::promise<void> done;
  size_t remaining = requests.size();
  Worker& w = group.worker(0);
  w.Post([&] {
    if (on_worker) on_worker();
    for (SendRequest& req : requests) {
      w.Submit(std::move(req), [&](const SendReport& r) {
        reports[r.id] = r;
        if (--remaining == 0) done.set_value();
      });
    }
  });
  auto fut = done.get_future();
  const bool all = fut.wait_for(timeout) == std::future_status::ready;
  EXPECT_TRUE(all) << "not every message got a report";
  if (all_reported) *all_reported = all;
  group.Stop(all ? StopMode::kDrain : StopMode::kAbort);
  return reports;
}

}  // namespace salvo::test
