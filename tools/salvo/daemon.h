// `salvo serve`: the long-running process. It owns data_dir (the store stays open), serves the
// HTTP endpoints (tracking, one-click unsubscribe, webhooks, /healthz, /metrics) and answers the
// CLI on the admin socket data_dir/salvo.sock by running the forwarded command line in-process
// (RunCli with the daemon's store) on a thread per request, streaming its output back.
// It keeps the calendar (tools/salvo/scheduler.h): scheduled campaigns start when due, and what
// was running, waiting or paused for a reason that ends by itself goes on by itself. It delivers
// the durable message queue (shard/queue_delivery.h).
// SIGTERM / SIGINT stop it cleanly: listeners close, running sends are asked to pause (their
// progress is saved by the runner; the daemon's own runs resume when it starts again), in-flight
// commands get time to finish, the store is flushed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/links/key_ring_slot.h"
#include "shard/queue_delivery.h"
#include "shard/submission_server.h"
#include "store/store.h"
#include "tools/salvo/api_service.h"
#include "tools/salvo/feedback_service.h"
#include "tools/salvo/http_server.h"
#include "tools/salvo/metrics_export.h"
#include "tools/salvo/scheduler.h"

namespace salvo {

class Daemon {
 public:
  struct Options {
    std::string metrics_file;  // absolute, or empty
    FILE* log = stderr;
  };

  // Opens the store (a busy data_dir fails with Store::Open's "in use by pid N" error), starts
  // HTTP and the admin socket. The caller must have blocked SIGTERM/SIGINT before
  // (BlockStopSignals() of engine/base/stop_signals.h), so that no thread but the one in Run()
  // takes them; the same for SIGHUP (BlockReloadSignal()).
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const Config& config, Options options);
  ~Daemon();

  // Blocks until SIGTERM or SIGINT, then shuts down; SIGHUP in between reloads the tracking keys
  // (salvo tracking rotate-key) and the HTTPS certificate ([http] tls_cert_file / tls_key_file).
  // The caller blocks SIGHUP with the stop signals. Returns the exit code.
  int Run();
  void Shutdown();

  // Re-reads the [tracking] key ring (secret_file, its .previous file, previous_secret_files)
  // into the daemon's one slot, which the tracking endpoints, the responders' confirm tokens and
  // the queue's VERP tags read: from now on the new current key signs them all and every key of
  // the ring verifies. On an error the keys in use stay. Returns the number of keys loaded.
  [[nodiscard]] absl::StatusOr<size_t> ReloadTrackingKeys();
  // The daemon's tracking key ring (null ring: no [tracking] secret).
  const KeyRingSlot& tracking_keys() const { return keys_; }

  Store* store() const { return store_.get(); }
  FeedbackService* feedback() const { return feedback_.get(); }
  int http_port() const { return http_ ? http_->port() : 0; }
  int https_port() const { return http_ ? http_->tls_port() : 0; }
  // [submission] listener ports (0: none).
  int submission_port() const;
  int submission_tls_port() const;
  // The calendar (scheduled, waiting and interrupted campaigns).
  Scheduler* scheduler() const { return scheduler_.get(); }
  // The delivery loop of the message queue (shard/queue_delivery.h).
  QueueDelivery* queue() const { return queue_.get(); }

 private:
  Daemon(const Config& config, Options options) : config_(config), options_(std::move(options)) {}
  [[nodiscard]] absl::Status StartAdmin();
  // Shutdown steps go on after a failure; what failed is written to the log.
  void LogIfError(const absl::Status& st, const std::string& doing);
  void AdminLoop();
  void ServeAdmin(int fd);

  const Config& config_;
  Options options_;
  std::unique_ptr<Store> store_;
  KeyRingSlot keys_;  // [tracking] keys; read by feedback_, api_ and queue_ (declared before them)
  std::unique_ptr<FeedbackService> feedback_;
  std::unique_ptr<ApiService> api_;  // /api/v1/..., /confirm/ (before http_: outlives it)
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<MetricsExport> metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<QueueDelivery> queue_;
  std::unique_ptr<SubmissionServer> submission_;
  [[nodiscard]] absl::Status StartSubmission();
  std::string socket_path_;
  int admin_fd_ = -1;
  std::thread admin_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;  // admin commands running (guarded by mu_)
  bool shut_down_ = false;
};

}  // namespace salvo
