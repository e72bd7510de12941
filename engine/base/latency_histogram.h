// LatencyHistogram: a fixed-bucket histogram of durations for percentiles in reports (the
// transaction latency p50/p99 of `salvo send --json`). Log-linear buckets: exact below 16 µs,
// then 16 buckets per doubling (each at most 1/16 = 6.25 % wide) up to 2^32 µs (~71 min);
// longer durations land in the last bucket. Recording is an index computation and an increment:
// no allocation, no lock. One writer per histogram; histograms merge by adding counts (after
// their writers are done, e.g. one per feeder merged at the end of a run).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace salvo {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 4;  // 2^4 buckets per doubling
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kMaxLog2 = 32;  // µs
  static constexpr size_t kBuckets = static_cast<size_t>(kMaxLog2 - kSubBits + 1) * kSub;

  // Records one duration in nanoseconds (negative: 0).
  void RecordNs(int64_t ns) {
    const uint64_t us = ns > 0 ? static_cast<uint64_t>(ns) / 1000 : 0;
    ++counts_[BucketOf(us)];
    ++count_;
    sum_us_ += us;
    if (us > max_us_) max_us_ = us;
  }
  // Adds the counts of `o`.
  void Merge(const LatencyHistogram& o);

  uint64_t count() const { return count_; }
  uint64_t max_us() const { return max_us_; }
  double mean_us() const { return count_ ? static_cast<double>(sum_us_) / count_ : 0; }
  // The q-quantile (0 < q <= 1) in µs: the middle of the bucket holding the ceil(q * count)-th
  // smallest value (exact below 16 µs), never above the largest value recorded; 0 when empty.
  double QuantileUs(double q) const;

  // The bucket of a value in µs, and the [lower, upper) bounds of a bucket (tests, QuantileUs).
  static size_t BucketOf(uint64_t us) {
    if (us < static_cast<uint64_t>(kSub)) return static_cast<size_t>(us);
    const int e = 63 - __builtin_clzll(us);  // floor(log2(us)) >= kSubBits
    if (e >= kMaxLog2) return kBuckets - 1;
    const uint64_t sub = (us >> (e - kSubBits)) & (kSub - 1);
    return static_cast<size_t>(e - kSubBits + 1) * kSub + sub;
  }
  static uint64_t LowerUs(size_t bucket);
  static uint64_t UpperUs(size_t bucket);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_us_ = 0;
  uint64_t max_us_ = 0;
};

}  // namespace salvo
