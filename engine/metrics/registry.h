// In-process metrics registry: counters, gauges and fixed-bucket histograms with labels. No I/O.
//
// Hot path. Shard workers update metrics without locks and without sharing cache lines: every
// child (one label set of a family) owns one cell per *slot*, and slots live in separate memory
// regions. A thread bound to worker index w (SetThreadWorker) owns slot w+1 exclusively and
// updates it with a relaxed load + relaxed store (no read-modify-write, no lock prefix); every
// other thread (HTTP threads, the CLI thread) shares slot 0 and uses atomic read-modify-write.
// A scrape sums the slots with relaxed loads, so it never blocks a worker.
//
// Cold path. Resolving a label set to a handle (WithLabels) takes the registry mutex and a hash
// lookup: resolve once (per campaign/account/...) and keep the handle; handles stay valid as
// long as the Registry lives (children are never removed).
//
// Trust. Label values may come from outside (campaign, account and domain names): they are
// sanitized (SanitizeLabelValue: bounded length, control bytes and invalid UTF-8 replaced) and
// every family has a hard cap on its number of children; label sets beyond the cap are folded
// into label value "other" (see FamilyOptions).
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo::metrics {

// Worker indexes 0..kMaxWorkers-1 get a private slot; others share slot 0 (correct, slower).
inline constexpr int kMaxWorkers = 64;
inline constexpr uint32_t kSlots = kMaxWorkers + 1;
// Cells per slot per allocation chunk. A slot's region in a chunk is 8 KB, 64-byte aligned.
inline constexpr size_t kChunkCells = 1024;
// Label value used for folded label sets (cardinality cap, domains outside the top list).
inline constexpr std::string_view kOther = "other";

namespace internal {
using Cell = std::atomic<uint64_t>;
// The calling thread's slot: 0 (shared) unless SetThreadWorker was called.
inline thread_local uint32_t tls_slot = 0;

inline void AddU64(Cell* c, uint32_t slot, uint64_t n) {
  if (slot != 0) {
    c->store(c->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  } else {
    c->fetch_add(n, std::memory_order_relaxed);
  }
}
inline void AddF64(Cell* c, uint32_t slot, double d) {
  if (slot != 0) {
    const double v = std::bit_cast<double>(c->load(std::memory_order_relaxed)) + d;
    c->store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
  } else {
    uint64_t old = c->load(std::memory_order_relaxed);
    while (!c->compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + d),
                                     std::memory_order_relaxed)) {
    }
  }
}
}  // namespace internal

// Binds the calling thread to worker index `worker` (the shard runtime calls this once at the
// start of each worker thread, with the worker's number 0..N-1). At most one live thread may hold
// a given index. Negative or >= kMaxWorkers: the thread uses the shared slot.
void SetThreadWorker(int worker);
// The calling thread's worker index, or -1 when it uses the shared slot.
int ThreadWorker();

// RAII: binds the current thread to `worker` and restores the previous binding on destruction.
class ScopedThreadWorker {
 public:
  explicit ScopedThreadWorker(int worker) : previous_(ThreadWorker()) { SetThreadWorker(worker); }
  ~ScopedThreadWorker() { SetThreadWorker(previous_); }
  ScopedThreadWorker(const ScopedThreadWorker&) = delete;
  ScopedThreadWorker& operator=(const ScopedThreadWorker&) = delete;

 private:
  int previous_;
};

// A monotonically increasing integer (messages, bytes). A default-constructed handle is
// detached: updates are dropped.
class Counter {
 public:
  Counter() = default;
  void Inc() const { Add(1); }
  void Add(uint64_t n) const {
    if (base_ == nullptr) return;
    const uint32_t slot = internal::tls_slot;
    internal::AddU64(base_ + slot * kChunkCells, slot, n);
  }
  // Sum over all slots (relaxed; for tests and status views).
  uint64_t Value() const;
  bool attached() const { return base_ != nullptr; }

 private:
  friend class CounterFamily;
  explicit Counter(internal::Cell* base) : base_(base) {}
  internal::Cell* base_ = nullptr;
};

// A value that goes up and down. Two ways to use one, do not mix them on one child:
//  - Add/Sub from any threads (connections open: +1 on open, -1 on close, possibly on different
//    workers): per-slot deltas, summed on scrape.
//  - Set from a single owner (queue depth of worker 3, suppression list size): overwrites.
class Gauge {
 public:
  Gauge() = default;
  void Add(double d) const {
    if (base_ == nullptr) return;
    const uint32_t slot = internal::tls_slot;
    internal::AddF64(base_ + slot * kChunkCells, slot, d);
  }
  void Sub(double d) const { Add(-d); }
  void Inc() const { Add(1); }
  void Dec() const { Add(-1); }
  // Stores `v` in the shared slot (atomic store). Only for gauges with a single owner.
  void Set(double v) const {
    if (base_ != nullptr) base_->store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
  }
  double Value() const;
  bool attached() const { return base_ != nullptr; }

 private:
  friend class GaugeFamily;
  explicit Gauge(internal::Cell* base) : base_(base) {}
  internal::Cell* base_ = nullptr;
};

// A fixed-bucket histogram (latencies in seconds, sizes in bytes). Observe is lock-free: one
// bucket cell and the sum cell of the caller's slot. NaN observations are dropped.
class Histogram {
 public:
  Histogram() = default;
  void Observe(double v) const {
    if (base_ == nullptr || v != v) return;
    uint32_t i = 0;
    while (i < nbounds_ && v > bounds_[i]) ++i;  // bucket i: v <= bounds_[i]; nbounds_: +Inf
    const uint32_t slot = internal::tls_slot;
    internal::Cell* s = base_ + slot * kChunkCells;
    internal::AddU64(s + i, slot, 1);
    internal::AddF64(s + nbounds_ + 1, slot, v);
  }
  // Totals over all slots (tests, status views).
  uint64_t Count() const;
  double Sum() const;
  bool attached() const { return base_ != nullptr; }

 private:
  friend class HistogramFamily;
  Histogram(internal::Cell* base, const double* bounds, uint32_t nbounds)
      : base_(base), bounds_(bounds), nbounds_(nbounds) {}
  internal::Cell* base_ = nullptr;  // cells: nbounds_+1 buckets (last: +Inf), then the sum
  const double* bounds_ = nullptr;
  uint32_t nbounds_ = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };
std::string_view MetricTypeName(MetricType t);  // "counter", "gauge", "histogram"

struct FamilyOptions {
  // Hard cap on distinct label sets. When reached, a new label set is folded: every label not
  // in `bounded_labels` gets the value "other" (at most kOverflowChildren such folded sets,
  // after that every label is "other"). So a family never has more than
  // max_children + kOverflowChildren + 1 children.
  size_t max_children = 2000;
  // Labels whose values come from a small fixed set (outcome, class): kept when folding.
  std::vector<std::string> bounded_labels;
};
inline constexpr size_t kOverflowChildren = 64;

// One child's values at scrape time.
struct ChildSnapshot {
  std::vector<std::string> label_values;  // sanitized, same order as the family's label names
  double value = 0;                       // counter / gauge
  std::vector<uint64_t> buckets;          // histogram: cumulative counts, last one is +Inf
  double sum = 0;                         // histogram
  uint64_t count = 0;                     // histogram (== buckets.back())
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;            // histogram upper bounds (without +Inf)
  std::vector<ChildSnapshot> children;   // sorted by label values
};

class Registry;

// Common part of a family: name, help, label names, children. Thread-safe.
class Family {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;
  virtual ~Family();

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  size_t children() const;  // current number of children
  uint64_t folded() const;  // label sets folded into "other" because of the cap

 protected:
  friend class Registry;
  struct Child;
  Family(Registry* registry, MetricType type, std::string name, std::string help,
         std::vector<std::string> label_names, FamilyOptions options, uint32_t cells);
  // Finds or creates the child for these label values (registry mutex held inside). Returns
  // nullptr when the number of values does not match the label names (a programming error).
  internal::Cell* Resolve(std::span<const std::string_view> values);

  Registry* registry_;
  MetricType type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  FamilyOptions options_;
  std::vector<bool> bounded_;  // per label: kept when folding
  uint32_t cells_;             // cells per child
  struct State;
  std::unique_ptr<State> state_;  // guarded by registry_->mu_
};

class CounterFamily : public Family {
 public:
  // Values in the order of label_names(). A wrong number of values gives a detached handle.
  Counter WithLabels(std::span<const std::string_view> values);
  Counter WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // Sum over every child (tests, summaries): e.g. all delivered messages in the process.
  // `match` filters on one label: {"outcome", "delivered"}; empty name: no filter.
  uint64_t Total(std::string_view label = {}, std::string_view value = {}) const;

 private:
  friend class Registry;
  using Family::Family;
};

class GaugeFamily : public Family {
 public:
  Gauge WithLabels(std::span<const std::string_view> values);
  Gauge WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }

 private:
  friend class Registry;
  using Family::Family;
};

class HistogramFamily : public Family {
 public:
  Histogram WithLabels(std::span<const std::string_view> values);
  Histogram WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  friend class Registry;
  HistogramFamily(Registry* registry, std::string name, std::string help,
                  std::vector<std::string> label_names, FamilyOptions options,
                  std::vector<double> bounds);
  std::vector<double> bounds_;
};

// Owns families and cell memory. Thread-safe; one mutex for the cold path (registration,
// resolving label sets, snapshots). Families and handles live as long as the registry.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family. Errors (InvalidArgument): a name not matching [a-zA-Z_:][a-zA-Z0-9_:]*,
  // a label name not matching [a-zA-Z_][a-zA-Z0-9_]* or starting with "__", duplicate label
  // names, "le" on a histogram, a counter whose name does not end in "_total", histogram bounds
  // not strictly increasing / not finite / empty / more than 64, or a name already registered
  // with a different type or labels (the same registration twice returns the same family).
  [[nodiscard]]
  absl::StatusOr<CounterFamily*> AddCounter(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names,
                                            FamilyOptions options = {});
  [[nodiscard]] absl::StatusOr<GaugeFamily*> AddGauge(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        FamilyOptions options = {});
  [[nodiscard]]
  absl::StatusOr<HistogramFamily*> AddHistogram(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds,
                                                FamilyOptions options = {});

  // Values of every family, in registration order, children sorted by label values.
  std::vector<FamilySnapshot> Snapshot() const;
  // Number of families registered.
  size_t families() const;

 private:
  friend class Family;
  friend class CounterFamily;
  struct Chunk;
  // Allocates `n` consecutive cells (per slot) for a child; mu_ held. Returns the slot-0 cell.
  internal::Cell* AllocateCellsLocked(uint32_t n);
  Family* FindLocked(std::string_view name) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::unique_ptr<Chunk>> chunks_;
  size_t chunk_used_ = kChunkCells;  // cells used in chunks_.back()
};

// The process-wide registry (never destroyed). salvo's own families live here: see
// engine/metrics/salvo_metrics.h.
Registry& DefaultRegistry();

}  // namespace salvo::metrics
