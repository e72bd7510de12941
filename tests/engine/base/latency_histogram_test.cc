// engine/base/latency_histogram.h: bucket bounds, quantiles, merging.
#include "engine/base/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace salvo {
namespace {

TEST(LatencyHistogram, BucketsCoverEveryValueOnceAndStayNarrow) {
  for (uint64_t us : {0ull, 1ull, 15ull, 16ull, 31ull, 32ull, 33ull, 1000ull, 123456ull,
                      (1ull << 31) + 12345, (1ull << 32) - 1}) {
    const size_t b = LatencyHistogram::BucketOf(us);
    ASSERT_LT(b, LatencyHistogram::kBuckets) << us;
    EXPECT_LE(LatencyHistogram::LowerUs(b), us) << us;
    EXPECT_LT(us, LatencyHistogram::UpperUs(b)) << us;
    const double width = LatencyHistogram::UpperUs(b) - LatencyHistogram::LowerUs(b);
    EXPECT_LE(width, std::max(1.0, LatencyHistogram::LowerUs(b) / 16.0)) << us;
  }
  // Consecutive buckets tile the range without gaps.
  for (size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b)
    ASSERT_EQ(LatencyHistogram::UpperUs(b), LatencyHistogram::LowerUs(b + 1)) << b;
  EXPECT_EQ(LatencyHistogram::BucketOf(1ull << 40), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, QuantilesWithinABucket) {
  LatencyHistogram h;
  EXPECT_EQ(h.QuantileUs(0.5), 0);
  for (int i = 1; i <= 1000; ++i) h.RecordNs(int64_t{i} * 1'000'000);  // 1..1000 ms
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_NEAR(h.QuantileUs(0.5), 500'000, 500'000 / 16.0);
  EXPECT_NEAR(h.QuantileUs(0.99), 990'000, 990'000 / 16.0);
  EXPECT_LE(h.QuantileUs(1.0), 1'000'000);  // never above the largest value
  EXPECT_EQ(h.max_us(), 1'000'000u);
  EXPECT_NEAR(h.mean_us(), 500'500, 1);
}

TEST(LatencyHistogram, SmallValuesAreExactAndNegativeIsZero) {
  LatencyHistogram h;
  h.RecordNs(-5);
  h.RecordNs(3'999);  // 3 µs
  h.RecordNs(7'000);
  EXPECT_EQ(h.QuantileUs(0.34), 3);
  EXPECT_EQ(h.QuantileUs(0.01), 0);
  EXPECT_EQ(h.QuantileUs(1.0), 7);
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  for (int i = 0; i < 99; ++i) a.RecordNs(1'000'000);  // 1 ms
  b.RecordNs(2'000'000'000);                            // 2 s
  a.Merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_NEAR(a.QuantileUs(0.5), 1000, 1000 / 16.0);
  EXPECT_NEAR(a.QuantileUs(0.99), 1000, 1000 / 16.0);
  EXPECT_NEAR(a.QuantileUs(1.0), 2'000'000, 2'000'000 / 16.0);
  EXPECT_EQ(a.max_us(), 2'000'000u);
}

}  // namespace
}  // namespace salvo
