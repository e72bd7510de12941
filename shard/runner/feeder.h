// shard/runner: a feeder scans its shards of the list and keeps its SMTP worker fed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/base/latency_histogram.h"
#include "shard/runner/decision_applier.h"
#include "shard/runner/egress_chooser.h"
#include "shard/runner/item.h"
#include "shard/runner/run_state.h"
#include "shard/sender.h"

namespace salvo {

// One feeder thread per SMTP worker. It owns the virtual shards with
// WorkerOfShard(shard, workers) == its index, scans their members in key order in batches
// (never the whole list in memory), skips recipients with a final outcome from an earlier run,
// evaluates segment and consent, checks global suppression at send time, picks the egress,
// renders (on the run's render board), writes one "attempt started" marker per batch with the
// accounts' daily counts, and submits to its worker. Reports come back on the worker thread and are applied
// here (DecisionApplier). In memory: a window of in-flight messages and a bounded delay heap.
class Feeder {
 public:
  // `worker` is null in a dry run (nothing is sent).
  Feeder(RunState* s, uint32_t index, Worker* worker);

  // Runs until every member of its shards has an outcome for this run (or is waiting in the
  // delay heap when the run stops), or the run stops and nothing is in flight.
  void Run();

  bool scan_done() const { return scan_done_; }
  size_t delayed() const { return heap_.size(); }
  // The SMTP transactions of the reports applied so far (read after Run() returned).
  const LatencyHistogram& latency() const { return latency_; }

 private:
  using ItemPtr = std::unique_ptr<RunItem>;
  static bool Later(const ItemPtr& a, const ItemPtr& b) { return a->due > b->due; }
  static constexpr size_t kMaxHeap = 100'000;
  // An item waiting longer than this (retry backoff, throttled domain) gives up its recipient
  // data (address, consent, fields) until it is due: ~300 of the ~850 bytes each of the up to
  // kMaxHeap waiting items of a deferral wave cost (measured with 5 fields per recipient).
  static constexpr int64_t kSlimAfterUs = 2'000'000;

  // Reads the next members of this feeder's shards; appends the ones to try now to *batch.
  bool Scan(size_t want, std::vector<ItemPtr>* batch);
  void PushHeap(ItemPtr item);
  // Reads back the recipient data of the slim items of *batch.
  bool Reload(std::vector<ItemPtr>* batch);
  // Suppression check at send time, pick egress, render, mark, submit.
  bool Dispatch(std::vector<ItemPtr> batch);
  // No account of the route can take mail: the run pauses, saying why for each account.
  void PauseNoAccounts();
  // The campaign's send window (one zone for all) is closed at `now`: nothing new goes out.
  // *end: the run ends here, waiting for the opening (the daemon, nothing in flight); else the
  // feeder waits in the run. *open_at: the opening (µs).
  bool OutsideWindow(int64_t now, bool* end, int64_t* open_at);
  // per_recipient_tz: whether *r's window is open at `now` in its zone (the window's tz when
  // the field is missing or not a zone); when not, *r is held for a later run.
  bool RecipientWindowOpen(const Recipient& r, int64_t now);
  void WaitReports(int64_t us);
  void DrainReports();

  RunState* s_;
  uint32_t index_;
  Worker* worker_;
  EgressChooser egress_;
  DecisionApplier applier_;
  std::vector<uint32_t> shards_;
  size_t shard_pos_ = 0;
  std::string after_key_;
  bool scan_done_ = false;
  size_t window_ = 256;
  std::vector<ItemPtr> heap_;
  absl::flat_hash_map<uint64_t, ItemPtr> inflight_;
  absl::flat_hash_map<uint64_t, uint32_t> batch_left_;  // attempt batch -> messages unreported
  uint64_t next_id_ = 1;
  std::mt19937 rng_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SendReport> reports_;  // guarded by mu_
  // WaitReports wakes when this many reports are in (guarded by mu_); 1 when not waiting.
  size_t wake_at_ = 1;
  static constexpr size_t kMaxReportBatch = 256;
  absl::flat_hash_map<std::string, absl::TimeZone> zones_;  // per_recipient_tz, bounded
  LatencyHistogram latency_;  // transactions of the applied reports (one per feeder: no lock)
};

}  // namespace salvo
