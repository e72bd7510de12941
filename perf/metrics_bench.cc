// Cost of metric updates on the send path and of a scrape (engine/metrics). Run:
//   build/perf/metrics_bench
// The budget: counter updates < 1 % of send throughput. With ~10 us of CPU per message
// and ~6 updates per message, an update must stay well under 16 ns (6 x 16 ns = 1 % of 10 us).
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>

#include "engine/metrics/exposition.h"
#include "engine/metrics/registry.h"
#include "engine/metrics/salvo_metrics.h"

namespace salvo::metrics {
namespace {

Registry& BenchRegistry() {
  static Registry* r = new Registry();
  return *r;
}

const Counter& HotCounter() {
  static const Counter c =
      (*BenchRegistry().AddCounter("bench_hot_total", "h", {"outcome"}))->WithLabels({"delivered"});
  return c;
}

const Histogram& HotHistogram() {
  static const Histogram h = (*BenchRegistry().AddHistogram(
      "bench_latency_seconds", "h", {"account"},
      std::vector<double>(kSmtpLatencyBounds.begin(), kSmtpLatencyBounds.end())))
      ->WithLabels({"acct"});
  return h;
}

// Counter increment through a resolved handle, each benchmark thread bound to its own worker
// slot (plain relaxed load + store, no shared cache line).
void BM_CounterIncWorker(benchmark::State& state) {
  ScopedThreadWorker w(state.thread_index());
  const Counter& c = HotCounter();
  for (auto _ : state) c.Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncWorker)->Threads(1)->Threads(2)->UseRealTime();

// Same handle from threads without a worker slot: atomic fetch_add on the shared slot.
void BM_CounterIncSharedSlot(benchmark::State& state) {
  ScopedThreadWorker w(-1);
  const Counter& c = HotCounter();
  for (auto _ : state) c.Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncSharedSlot)->Threads(1)->Threads(2)->UseRealTime();

// Baseline: one std::atomic shared by all threads (what per-worker cells avoid).
void BM_NaiveSharedAtomic(benchmark::State& state) {
  static std::atomic<uint64_t> shared{0};
  for (auto _ : state) shared.fetch_add(1, std::memory_order_relaxed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NaiveSharedAtomic)->Threads(1)->Threads(2)->UseRealTime();

// Six updates as the runner does per message: outcome counter, reply counter, bytes, latency
// histogram, in-flight gauge +1/-1.
void BM_PerMessageUpdates(benchmark::State& state) {
  static SalvoMetrics* m = new SalvoMetrics(BenchRegistry());
  ScopedThreadWorker w(state.thread_index());
  const MessageCounters mc = m->Messages("nov", "bulk", "sg1", "127.0.0.2");
  const Counter reply = SmtpReplyCounter(*m, "sg1", 250, "2.0.0");
  const Counter bytes = m->sent_bytes->WithLabels({"sg1", "127.0.0.2"});
  const Histogram lat = m->smtp_transaction_seconds->WithLabels({"sg1"});
  const Gauge inflight = m->connections_open->WithLabels({"sg1", "127.0.0.2"});
  double v = 0.001;
  for (auto _ : state) {
    inflight.Inc();
    mc.For(Outcome::kDelivered).Inc();
    reply.Inc();
    bytes.Add(21000);
    lat.Observe(v);
    inflight.Dec();
    v = v > 5 ? 0.001 : v * 1.7;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PerMessageUpdates)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramObserve(benchmark::State& state) {
  ScopedThreadWorker w(state.thread_index());
  const Histogram& h = HotHistogram();
  double v = 0.0003;
  for (auto _ : state) {
    h.Observe(v);
    v = v > 20 ? 0.0003 : v * 1.9;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2)->UseRealTime();

// Resolving an existing label set (the cold path: lock + hash lookup).
void BM_ResolveExisting(benchmark::State& state) {
  CounterFamily* f = *BenchRegistry().AddCounter("bench_resolve_total", "h",
                                                 {"outcome", "campaign", "account"});
  f->WithLabels({"delivered", "nov", "sg1"});
  for (auto _ : state) benchmark::DoNotOptimize(f->WithLabels({"delivered", "nov", "sg1"}));
}
BENCHMARK(BM_ResolveExisting);

// A scrape of ~10k children: 9k counters and 1k histograms (14 buckets) with worker updates
// in several slots. Reports the text size.
void BM_Scrape10k(benchmark::State& state) {
  static Registry* r = [] {
    auto* reg = new Registry();
    FamilyOptions o;
    o.max_children = 20000;
    CounterFamily* c = *reg->AddCounter("bench_messages_total", "h",
                                        {"outcome", "campaign", "account"}, o);
    HistogramFamily* h = *reg->AddHistogram(
        "bench_latency_seconds", "h", {"account"},
        std::vector<double>(kSmtpLatencyBounds.begin(), kSmtpLatencyBounds.end()), o);
    for (int w = 0; w < 4; ++w) {
      ScopedThreadWorker bind(w);
      for (int i = 0; i < 9000; ++i) {
        c->WithLabels({"delivered", "campaign-" + std::to_string(i % 300),
                       "account-" + std::to_string(i / 300)}).Add(i + w);
      }
      for (int i = 0; i < 1000; ++i) {
        h->WithLabels({"account-" + std::to_string(i)}).Observe(0.001 * i);
      }
    }
    return reg;
  }();
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = RenderText(*r);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["text_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape10k)->Unit(benchmark::kMillisecond);

void BM_Snapshot10kOnly(benchmark::State& state) {
  Registry r;
  FamilyOptions o;
  o.max_children = 20000;
  CounterFamily* c = *r.AddCounter("bench_only_total", "h", {"k"}, o);
  for (int i = 0; i < 10000; ++i) c->WithLabels({std::to_string(i)}).Inc();
  for (auto _ : state) benchmark::DoNotOptimize(r.Snapshot());
}
BENCHMARK(BM_Snapshot10kOnly)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace salvo::metrics
