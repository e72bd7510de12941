// shard/: WorkerImpl — the Worker of sender.h: a RingLoop plus the pools of (account, source IP)
// it owns, a TLS context cache and a handle on the group's resolver. Exposed for the CLI
// (smtp-check probes a pool) and tests; the runner uses sender.h only.
#pragma once

#include <time.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "engine/metrics/salvo_metrics.h"
#include "shard/pool.h"
#include "shard/ring_worker.h"
#include "shard/sender.h"
#include "shard/tls.h"

namespace salvo {

class WorkerImpl : public Worker, public PoolHost {
 public:
  WorkerImpl(int index, const SenderOptions& options, Resolver* resolver);
  ~WorkerImpl() override;

  [[nodiscard]] absl::Status Start();
  // Blocks until the loop thread ended (kDrain: after every outstanding message reported).
  void Stop(StopMode mode);

  // Worker
  int index() const override { return index_; }
  bool InWorkerThread() const override { return loop_.InLoopThread(); }
  uint64_t CpuNs() const override;
  void Post(std::function<void()> fn) override { loop_.Post(std::move(fn)); }
  void Submit(SendRequest req, SendCallback done) override;
  bool HasCapacity(const AccountConfig* account, std::string_view source_ip) const override;
  size_t Capacity(const AccountConfig* account, std::string_view source_ip) const override;
  size_t Outstanding() const override;
  std::vector<PoolStats> Stats() const override;
  uint64_t AddTimer(absl::Duration delay, std::function<void()> fn) override {
    return loop_.AddTimer(delay, std::move(fn));
  }
  void CancelTimer(uint64_t id) override { loop_.CancelTimer(id); }

  // Worker thread: send to explicit recipients (send-one).
  void SubmitTo(SendRequest req, std::vector<std::string_view> rcpts, SendCallback done);
  // Worker thread: the pool of (account, source_ip), created on first use.
  Pool* GetPool(const AccountConfig* account, std::string_view source_ip);

  // PoolHost
  RingLoop* loop() override { return &loop_; }
  void Resolve(const std::string& host, uint16_t port, Resolver::Callback done) override;
  [[nodiscard]] absl::StatusOr<SSL_CTX*> TlsContext(const AccountConfig& account) override {
    return tls_.Get(account);
  }
  const SenderOptions& options() const override { return options_; }
  const std::string& ehlo_name() const override { return ehlo_name_; }
  void LogOnce(const std::string& key, const std::string& line) override;

 private:
  using PoolKey = std::pair<const AccountConfig*, std::string>;
  const Pool* FindPool(const AccountConfig* account, std::string_view source_ip) const;
  void CheckStopped();
  // Sets salvo_queue_depth / salvo_messages_in_flight of this worker (worker thread), and
  // again every kLoadGaugePeriod while the worker runs.
  void UpdateLoadGauges();
  void LoadChanged() override { SetLoadGauges(); }
  void SetLoadGauges();

  int index_;
  SenderOptions options_;
  Resolver* resolver_;
  std::string ehlo_name_;
  RingLoop loop_;
  TlsContextCache tls_;
  absl::flat_hash_map<PoolKey, std::unique_ptr<Pool>> pools_;
  // Stop state (worker thread).
  bool stopping_ = false;
  StopMode stop_mode_ = StopMode::kDrain;
  bool quit_sent_ = false;
  metrics::Gauge queue_depth_, in_flight_;
  std::atomic<bool> has_cpu_clock_{false};
  clockid_t cpu_clock_ = 0;  // the loop thread's CPU clock, set on it before has_cpu_clock_
};

}  // namespace salvo
