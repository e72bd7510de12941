// Unit tests of the metrics registry: per-worker cells summed on scrape, gauges, histogram
// buckets, family registration rules, the cardinality cap.
#include "engine/metrics/registry.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace salvo::metrics {
namespace {

TEST(RegistryTest, CounterSumsWorkerCellsFromManyThreads) {
  Registry r;
  CounterFamily* f = *r.AddCounter("t_msgs_total", "help", {"outcome"});
  const Counter c = f->WithLabels({"delivered"});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Threads 0..5 are workers with private slots; 6 and 7 share slot 0 (atomic RMW).
      ScopedThreadWorker w(t < 6 ? t : -1);
      // Resolving the same label set again from a worker gives the same child.
      const Counter mine = f->WithLabels({"delivered"});
      for (int i = 0; i < kPerThread; ++i) (i % 2 ? c : mine).Inc();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.Value(), static_cast<uint64_t>(kThreads) * kPerThread);
  EXPECT_EQ(f->children(), 1u);
  EXPECT_EQ(f->Total("outcome", "delivered"), static_cast<uint64_t>(kThreads) * kPerThread);
  EXPECT_EQ(f->Total("outcome", "bounced"), 0u);
  auto snap = r.Snapshot();
  ASSERT_EQ(snap.size(), 1u);
  ASSERT_EQ(snap[0].children.size(), 1u);
  EXPECT_EQ(snap[0].children[0].value, static_cast<double>(kThreads) * kPerThread);
}

TEST(RegistryTest, ScrapeWhileWorkersIncrementIsMonotonic) {
  Registry r;
  CounterFamily* f = *r.AddCounter("t_total", "h", {});
  const Counter c = f->WithLabels({});
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    ScopedThreadWorker w(3);
    while (!stop.load(std::memory_order_relaxed)) c.Add(2);
  });
  double last = 0;
  for (int i = 0; i < 200; ++i) {
    const double v = r.Snapshot()[0].children[0].value;
    EXPECT_GE(v, last);
    last = v;
  }
  stop = true;
  worker.join();
  EXPECT_EQ(static_cast<uint64_t>(r.Snapshot()[0].children[0].value) % 2, 0u);
}

TEST(RegistryTest, WorkerBinding) {
  EXPECT_EQ(ThreadWorker(), -1);
  {
    ScopedThreadWorker w(5);
    EXPECT_EQ(ThreadWorker(), 5);
    {
      ScopedThreadWorker w2(kMaxWorkers);  // out of range: shared slot
      EXPECT_EQ(ThreadWorker(), -1);
    }
    EXPECT_EQ(ThreadWorker(), 5);
  }
  EXPECT_EQ(ThreadWorker(), -1);
}

TEST(RegistryTest, GaugeAddFromWorkersAndSet) {
  Registry r;
  GaugeFamily* f = *r.AddGauge("t_open", "h", {"account"});
  const Gauge g = f->WithLabels({"a"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ScopedThreadWorker w(t);
      for (int i = 0; i < 1000; ++i) g.Inc();
      for (int i = 0; i < 400; ++i) g.Dec();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_DOUBLE_EQ(g.Value(), 4 * 600);
  const Gauge size = f->WithLabels({"b"});
  size.Set(12.5);
  size.Set(7);
  EXPECT_DOUBLE_EQ(size.Value(), 7);
}

TEST(RegistryTest, HistogramBuckets) {
  Registry r;
  HistogramFamily* f = *r.AddHistogram("t_seconds", "h", {"account"}, {0.1, 1, 10});
  const Histogram h = f->WithLabels({"a"});
  {
    ScopedThreadWorker w(1);
    for (double v : {0.05, 0.1, 0.5, 1.0, 2.0, 20.0, 1e9}) h.Observe(v);
  }
  h.Observe(0.01);                 // shared slot
  h.Observe(std::nan(""));         // dropped
  EXPECT_EQ(h.Count(), 8u);
  EXPECT_NEAR(h.Sum(), 0.05 + 0.1 + 0.5 + 1 + 2 + 20 + 1e9 + 0.01, 1e-3);
  auto snap = r.Snapshot();
  ASSERT_EQ(snap[0].children.size(), 1u);
  const ChildSnapshot& c = snap[0].children[0];
  // le=0.1: 0.05, 0.1, 0.01; le=1: +0.5, 1.0; le=10: +2.0; +Inf: +20, 1e9 (cumulative).
  EXPECT_EQ(c.buckets, (std::vector<uint64_t>{3, 5, 6, 8}));
  EXPECT_EQ(c.count, 8u);
  EXPECT_EQ(snap[0].bounds, (std::vector<double>{0.1, 1, 10}));
}

TEST(RegistryTest, RegistrationRules) {
  Registry r;
  EXPECT_FALSE(r.AddCounter("no_suffix", "h", {}).ok());
  EXPECT_FALSE(r.AddCounter("1bad_total", "h", {}).ok());
  EXPECT_FALSE(r.AddCounter("bad-name_total", "h", {}).ok());
  EXPECT_FALSE(r.AddGauge("g", "h", {"__reserved"}).ok());
  EXPECT_FALSE(r.AddGauge("g", "h", {"a", "a"}).ok());
  EXPECT_FALSE(r.AddGauge("g", "h", {"bad-label"}).ok());
  EXPECT_FALSE(r.AddHistogram("h1", "h", {"le"}, {1}).ok());
  EXPECT_FALSE(r.AddHistogram("h2", "h", {}, {}).ok());
  EXPECT_FALSE(r.AddHistogram("h3", "h", {}, {2, 1}).ok());
  EXPECT_FALSE(r.AddHistogram("h4", "h", {}, {1, INFINITY}).ok());
  auto a = r.AddCounter("x_total", "h", {"l"});
  ASSERT_TRUE(a.ok());
  auto b = r.AddCounter("x_total", "h", {"l"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(r.AddCounter("x_total", "h", {"other"}).ok());
  EXPECT_FALSE(r.AddGauge("x_total", "h", {"l"}).ok());
  EXPECT_EQ(r.families(), 1u);
}

TEST(RegistryTest, CardinalityCapFoldsIntoOther) {
  Registry r;
  FamilyOptions o;
  o.max_children = 10;
  o.bounded_labels = {"outcome"};
  CounterFamily* f = *r.AddCounter("t_capped_total", "h", {"outcome", "campaign"}, o);
  for (int i = 0; i < 1000; ++i) {
    f->WithLabels({i % 2 ? "delivered" : "bounced", "c" + std::to_string(i)}).Inc();
  }
  // 10 real children, then folded ones keep outcome and say campaign="other".
  EXPECT_EQ(f->children(), 12u);
  EXPECT_EQ(f->folded(), 990u);
  EXPECT_EQ(f->Total(), 1000u);
  EXPECT_EQ(f->WithLabels({"delivered", "other"}).Value(), 495u);
  // Beyond kOverflowChildren folded sets, everything goes to all-"other".
  for (int i = 0; i < 200; ++i) f->WithLabels({"outcome" + std::to_string(i), "x"}).Inc();
  EXPECT_LE(f->children(), 10 + kOverflowChildren + 1);
  EXPECT_EQ(f->Total(), 1200u);
  EXPECT_GE(f->WithLabels({"other", "other"}).Value(), 1u);
}

TEST(RegistryTest, WrongLabelCountGivesDetachedHandle) {
#ifdef NDEBUG
  Registry r;
  CounterFamily* f = *r.AddCounter("t_wrong_total", "h", {"a", "b"});
  const Counter c = f->WithLabels({"only-one"});
  EXPECT_FALSE(c.attached());
  c.Inc();
  EXPECT_EQ(f->children(), 0u);
#else
  Registry r;
  CounterFamily* f = *r.AddCounter("t_wrong_total", "h", {"a", "b"});
  EXPECT_DEATH(f->WithLabels({"only-one"}), "wrong number of label values");
#endif
}

TEST(RegistryTest, ManyChildrenSpanChunks) {
  Registry r;
  FamilyOptions o;
  o.max_children = 5000;
  CounterFamily* f = *r.AddCounter("t_many_total", "h", {"k"}, o);
  HistogramFamily* h = *r.AddHistogram("t_many_seconds", "h", {"k"}, {1, 2, 3}, o);
  std::vector<Counter> cs;
  for (int i = 0; i < 3000; ++i) {
    cs.push_back(f->WithLabels({std::to_string(i)}));
    h->WithLabels({std::to_string(i)}).Observe(i % 4);
  }
  {
    ScopedThreadWorker w(63);
    for (int i = 0; i < 3000; ++i) cs[i].Add(i);
  }
  auto snap = r.Snapshot();
  ASSERT_EQ(snap[0].children.size(), 3000u);
  uint64_t total = 0;
  for (const auto& c : snap[0].children) {
    EXPECT_EQ(c.value, std::stod(c.label_values[0]));
    total += static_cast<uint64_t>(c.value);
  }
  EXPECT_EQ(total, 2999u * 3000u / 2);
  ASSERT_EQ(snap[1].children.size(), 3000u);
  for (const auto& c : snap[1].children) {
    EXPECT_EQ(c.count, 1u);
    EXPECT_EQ(c.sum, std::stoi(c.label_values[0]) % 4);
  }
}

}  // namespace
}  // namespace salvo::metrics
