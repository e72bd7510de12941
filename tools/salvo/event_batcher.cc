// See event_batcher.h.
#include "engine/base/clock.h"
#include "tools/salvo/event_batcher.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace salvo {

EventBatcher::EventBatcher(EventStore* events, Resolver resolve)
    : events_(events), resolve_(std::move(resolve)) {
  queue_.reserve(kBatch);
  ids_.reserve(kBatch);
  thread_ = std::thread([this] { Run(); });
}

EventBatcher::~EventBatcher() { Stop(); }

bool EventBatcher::Add(StoredEvent e, uint64_t recipient_id) {
  if (e.at_us == 0) e.at_us = NowUnixMicros();
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_ || queue_.size() >= kMaxQueued) return false;
  queue_.push_back(std::move(e));
  ids_.push_back(recipient_id);
  if (queue_.size() == kBatch) cv_.notify_one();
  return true;
}

void EventBatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void EventBatcher::Run() {
  std::vector<StoredEvent> batch;
  std::vector<uint64_t> ids;
  batch.reserve(kBatch);
  for (;;) {
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(2),
                   [this] { return stop_ || queue_.size() >= kBatch; });
      batch.swap(queue_);
      ids.swap(ids_);
      stopping = stop_;
    }
    if (resolve_) {
      for (size_t i = 0; i < batch.size(); ++i)
        if (ids[i] != 0 && batch[i].address.empty())
          batch[i].address = resolve_(ids[i], batch[i].campaign_id);
    }
    if (!batch.empty()) {
      absl::Status st = events_->AppendBatch(batch);
      if (st.ok()) {
        written_.fetch_add(batch.size(), std::memory_order_relaxed);
      } else {
        // Keep the events for the next attempt; Add() refuses new ones once the queue is full.
        failed_.fetch_add(1, std::memory_order_relaxed);
        std::fprintf(stderr, "salvo: writing %zu click/open events failed: %s\n", batch.size(),
                     std::string(st.message()).c_str());
        if (!stopping) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                          std::make_move_iterator(batch.end()));
            ids.assign(batch.size(), 0);  // resolved already
            ids_.insert(ids_.begin(), ids.begin(), ids.end());
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no busy retry
        }
      }
      batch.clear();
    }
    ids.clear();
    if (stopping) {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return;  // else one more round writes what arrived meanwhile
    }
  }
}

}  // namespace salvo
