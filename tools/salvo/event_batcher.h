// Click and open events written in batches by one background thread, so that a redirect or pixel
// answers without waiting on (and contending for) the store's write path: with every request
// writing its own event, two HTTP threads spent most of their time in RocksDB's write-group
// hand-off. The event time is taken when the request arrives. A batch is written every 2 ms or
// at 512 events; Stop() (daemon shutdown) writes what is queued, so only a crash of the process
// can lose events, at most the last ~2 ms of them. Unsubscribes and webhooks stay synchronous:
// they are applied before the response.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#include "store/event_store.h"

namespace salvo {

class EventBatcher {
 public:
  // Tokens name the recipient by an opaque id: `resolve` (optional) turns it back into the
  // address on the batcher's thread, off the request path ("" when no stored recipient has it).
  using Resolver = std::function<std::string(uint64_t recipient_id, const std::string& campaign)>;
  explicit EventBatcher(EventStore* events, Resolver resolve = nullptr);
  ~EventBatcher();  // Stop()
  EventBatcher(const EventBatcher&) = delete;
  EventBatcher& operator=(const EventBatcher&) = delete;

  // Queues one event (at_us set now when 0). False when the queue is full (the store is not
  // keeping up, or failing): the caller answers 503 instead of dropping the event silently.
  // With a recipient_id and an empty e.address, the address is resolved before writing.
  bool Add(StoredEvent e, uint64_t recipient_id = 0);
  // Writes what is queued and stops the thread; Add() fails afterwards.
  void Stop();

  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  void Run();

  static constexpr size_t kBatch = 512;
  static constexpr size_t kMaxQueued = 100000;

  EventStore* events_;
  Resolver resolve_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StoredEvent> queue_;  // guarded by mu_
  std::vector<uint64_t> ids_;       // recipient id of each queued event (guarded by mu_)
  bool stop_ = false;               // guarded by mu_
  std::atomic<uint64_t> written_{0}, failed_{0};
  std::thread thread_;
};

}  // namespace salvo
