// salvo-sink: an io_uring SMTP server for capacity and correctness tests. Accepts and discards
// mail, counts it, injects faults on demand, and at exit (SIGTERM/SIGINT) writes --record,
// --arrivals, --timeline and --stats-json. Trusts its command line only after validation; trusts nothing from clients.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/base/stop_signals.h"
#include "perf/sink/sink_config.h"
#include "perf/sink/sink_worker.h"
#include "perf/sink/smtp_session.h"
#include "perf/sink/tls_layer.h"

namespace salvo::sink {
namespace {

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      fputs(SinkUsage().c_str(), stdout);
      return 0;
    }
  }
  absl::StatusOr<SinkConfig> parsed = ParseSinkArgs(args);
  if (!parsed.ok()) {
    fprintf(stderr, "salvo-sink: %s\n%s", std::string(parsed.status().message()).c_str(),
            SinkUsage().c_str());
    return 2;
  }
  const SinkConfig& cfg = *parsed;

  std::unique_ptr<TlsContext> tls;
  if (!cfg.tls_cert.empty()) {
    auto t = TlsContext::Load(cfg.tls_cert, cfg.tls_key);
    if (!t.ok()) {
      fprintf(stderr, "salvo-sink: %s\n", std::string(t.status().message()).c_str());
      return 2;
    }
    tls = std::move(*t);
  }

  // All workers get one SO_REUSEPORT socket per address; port 0 is resolved by the first.
  std::vector<std::vector<int>> fds(static_cast<size_t>(cfg.threads));
  std::vector<std::string> labels;
  for (const ListenAddr& a : cfg.listen) {
    int port = a.port;
    for (int t = 0; t < cfg.threads; ++t) {
      auto fd = OpenListener(a, &port);
      if (!fd.ok()) {
        fprintf(stderr, "salvo-sink: %s\n", std::string(fd.status().message()).c_str());
        return 1;
      }
      fds[static_cast<size_t>(t)].push_back(*fd);
    }
    labels.push_back(a.host.find(':') != std::string::npos ? absl::StrFormat("[%s]:%d", a.host, port)
                                                            : absl::StrFormat("%s:%d", a.host, port));
  }

  // Signals go to the main thread only (sigwait below); workers never see them.
  BlockStopSignals();
  const sigset_t set = StopSignals();

  AccountCounters accounts(cfg);
  FaultAttempts attempts;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<absl::Status> results(static_cast<size_t>(cfg.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < cfg.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(t, cfg, &accounts, &attempts,
                                               tls ? tls->get() : nullptr,
                                               std::move(fds[static_cast<size_t>(t)])));
  }
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < cfg.threads; ++t) {
    threads.emplace_back([&, t] {
      results[static_cast<size_t>(t)] = workers[static_cast<size_t>(t)]->Run();
      if (!results[static_cast<size_t>(t)].ok()) kill(getpid(), SIGTERM);
    });
  }
  for (const std::string& l : labels) printf("listening on %s\n", l.c_str());
  fflush(stdout);

  // Wait for SIGTERM/SIGINT, sampling the message count every 250 ms for --timeline.
  std::string timeline;
  auto sample = [&] {
    uint64_t total = 0;
    for (auto& w : workers) total += w->env().live_messages.load(std::memory_order_relaxed);
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    timeline += absl::StrFormat("%.3f\t%d\n", t, total);
  };
  for (;;) {
    timespec tick{0, 250 * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) break;
    if (!cfg.timeline_path.empty()) sample();
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (auto& w : workers) w->Stop();
  for (auto& th : threads) th.join();
  if (!cfg.timeline_path.empty()) sample();

  int rc = 0;
  for (const absl::Status& s : results) {
    if (!s.ok()) {
      fprintf(stderr, "salvo-sink: worker failed: %s\n", std::string(s.message()).c_str());
      rc = 1;
    }
  }
  WorkerStats total;
  Recorder record;
  for (auto& w : workers) {
    total.Merge(w->env().stats);
    if (!cfg.record_path.empty()) record.Merge(w->env().recorder);
  }
  if (!cfg.record_path.empty()) {
    if (absl::Status s = record.WriteTsv(cfg.record_path); !s.ok()) {
      fprintf(stderr, "salvo-sink: %s\n", std::string(s.message()).c_str());
      rc = 1;
    }
  }
  if (!cfg.arrivals_path.empty()) {
    std::vector<const ArrivalLog*> logs;
    uint64_t dropped = 0;
    for (auto& w : workers) {
      logs.push_back(&w->env().arrivals);
      dropped += w->env().arrivals.dropped();
    }
    if (dropped > 0)
      fprintf(stderr, "salvo-sink: --arrivals: %llu deliveries over the limit not written\n",
              static_cast<unsigned long long>(dropped));
    if (absl::Status s = ArrivalLog::WriteTsv(cfg.arrivals_path, logs); !s.ok()) {
      fprintf(stderr, "salvo-sink: %s\n", std::string(s.message()).c_str());
      rc = 1;
    }
  }
  if (!cfg.timeline_path.empty()) {
    FILE* f = fopen(cfg.timeline_path.c_str(), "w");
    bool ok = f != nullptr && fwrite(timeline.data(), 1, timeline.size(), f) == timeline.size();
    if (f != nullptr) ok = (fclose(f) == 0) && ok;
    if (!ok) {
      fprintf(stderr, "salvo-sink: --timeline: cannot write %s\n", cfg.timeline_path.c_str());
      rc = 1;
    }
  }
  if (!cfg.stats_json_path.empty()) {
    std::string j = total.ToJson(elapsed, cfg.threads);
    std::string tmp = cfg.stats_json_path + ".tmp";
    FILE* f = fopen(tmp.c_str(), "w");
    bool ok = f != nullptr && fwrite(j.data(), 1, j.size(), f) == j.size();
    if (f != nullptr) ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp.c_str(), cfg.stats_json_path.c_str()) != 0) {
      fprintf(stderr, "salvo-sink: --stats-json: cannot write %s\n", cfg.stats_json_path.c_str());
      rc = 1;
    }
  }
  if (!cfg.quiet) {
    const LatencyHistogram& eod = total.latency[static_cast<size_t>(Cmd::kEndOfData)];
    fprintf(stderr,
            "salvo-sink: %llu messages, %llu bytes, %llu recipients, %llu connections in %.1fs "
            "(%.0f msgs/s); end-of-data latency p50 %.1fus p99 %.1fus\n",
            static_cast<unsigned long long>(total.messages),
            static_cast<unsigned long long>(total.message_bytes),
            static_cast<unsigned long long>(total.rcpt_accepted),
            static_cast<unsigned long long>(total.connections), elapsed,
            elapsed > 0 ? static_cast<double>(total.messages) / elapsed : 0.0,
            static_cast<double>(eod.Quantile(0.5)) / 1000.0,
            static_cast<double>(eod.Quantile(0.99)) / 1000.0);
  }
  return rc;
}

}  // namespace
}  // namespace salvo::sink

int main(int argc, char** argv) { return salvo::sink::Main(argc, argv); }
