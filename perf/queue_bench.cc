// queue_bench: durable enqueues per second into store/queue_store (the path an HTTP inject, a lead's
// responder and an SMTP submission take before they answer), with 1 and with many concurrent
// callers, and how many fsyncs the group commit needed. A benchmark, not a test.
//   queue_bench [--threads 1,64] [--seconds 5] [--recipients 1] [--size 2048] [--dir DIR]
// Each case uses a fresh store under DIR (default $TMPDIR or /tmp: put it on the disk you care
// about; tmpfs makes fsync free). Per case it prints: threads, Enqueue calls (one message of
// --recipients recipients each) and calls/s, fsyncs, calls per fsync, queue entries (one per
// recipient) per second, and the call latency p50 / p99 / max.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/queue_store.h"

namespace {

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(std::atoi(s.substr(at, comma - at).c_str()));
    at = comma + 1;
  }
  return out;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads = {1, 64};
  double seconds = 5;
  int recipients = 1;
  size_t size = 2048;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp && *tmp ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = ParseList(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--recipients" && i + 1 < argc) recipients = std::atoi(argv[++i]);
    else if (a == "--size" && i + 1 < argc) size = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: queue_bench [--threads 1,64] [--seconds 5] [--recipients 1] "
                           "[--size 2048] [--dir DIR]\n");
      return 2;
    }
  }
  std::string body = "From: shop@example.com\r\nTo: someone@example.com\r\nSubject: Order\r\n\r\n";
  while (body.size() < size) body += "Thank you for your order, it ships tomorrow.\r\n";
  body.resize(std::max(size, size_t{64}));

  std::printf("%8s %10s %10s %10s %12s %10s %10s %10s %10s\n", "threads", "calls", "calls/s",
              "fsyncs", "calls/fsync", "entries/s", "p50 ms", "p99 ms", "max ms");
  for (int n : threads) {
    if (n <= 0) continue;
    std::string base = dir + "/salvo-queue-bench-XXXXXX";
    if (mkdtemp(base.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    auto store = salvo::Store::Open({base});
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
      return 1;
    }
    std::atomic<bool> stop{false};
    std::atomic<int> failed{0};
    std::vector<std::vector<double>> lat(n);
    std::vector<std::thread> ts;
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < n; ++t) {
      ts.emplace_back([&, t] {
        salvo::QueueStore q(store->get());
        salvo::NewMessage m;
        m.route = "transactional";
        m.sender = "bounces@example.com";
        m.body = body;
        m.origin = "bench";
        for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          m.recipients.clear();
          for (int r = 0; r < recipients; ++r)
            m.recipients.push_back("u" + std::to_string(t) + "-" + std::to_string(i) + "-" +
                                   std::to_string(r) + "@example.com");
          const auto a = std::chrono::steady_clock::now();
          auto ids = q.Enqueue({m});
          const auto b = std::chrono::steady_clock::now();
          if (!ids.ok()) {
            ++failed;
            return;
          }
          lat[t].push_back(std::chrono::duration<double, std::milli>(b - a).count());
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : ts) th.join();
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    salvo::QueueStats st = salvo::QueueStore(store->get()).Stats();
    const double calls = static_cast<double>(st.enqueue_calls);
    std::printf("%8d %10llu %10.0f %10llu %12.1f %10.0f %10.2f %10.2f %10.2f%s\n", n,
                static_cast<unsigned long long>(st.enqueue_calls), calls / elapsed,
                static_cast<unsigned long long>(st.syncs), st.syncs ? calls / st.syncs : 0.0,
                calls * recipients / elapsed, Percentile(all, 0.50), Percentile(all, 0.99),
                all.empty() ? 0.0 : *std::max_element(all.begin(), all.end()),
                failed ? "  (errors)" : "");
    std::fflush(stdout);
    store->reset();
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
  }
  return 0;
}
