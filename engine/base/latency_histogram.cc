// LatencyHistogram (see latency_histogram.h).
#include "engine/base/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace salvo {

void LatencyHistogram::Merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_us_ += o.sum_us_;
  max_us_ = std::max(max_us_, o.max_us_);
}

uint64_t LatencyHistogram::LowerUs(size_t bucket) {
  if (bucket < static_cast<size_t>(kSub)) return bucket;
  const int e = static_cast<int>(bucket / kSub) + kSubBits - 1;
  const uint64_t sub = bucket % kSub;
  return (static_cast<uint64_t>(kSub) + sub) << (e - kSubBits);
}

uint64_t LatencyHistogram::UpperUs(size_t bucket) {
  if (bucket < static_cast<size_t>(kSub)) return bucket + 1;
  const int e = static_cast<int>(bucket / kSub) + kSubBits - 1;
  return LowerUs(bucket) + (uint64_t{1} << (e - kSubBits));
}

double LatencyHistogram::QuantileUs(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    if (i < static_cast<size_t>(kSub)) return static_cast<double>(i);  // exact
    const double mid = (static_cast<double>(LowerUs(i)) + static_cast<double>(UpperUs(i))) / 2;
    return std::min(mid, static_cast<double>(max_us_));
  }
  return static_cast<double>(max_us_);
}

}  // namespace salvo
