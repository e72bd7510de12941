// shard/: the public API of the SMTP runtime — worker threads with one io_uring each, and the
// connection pools that carry rendered messages to SMTP accounts.
//
// Threading model (shared-nothing): a Worker owns one thread, one ring, its pools and their
// connections. Every method below marked "worker thread" must be called on that worker's thread
// (from a callback, or via Post()); callbacks are always invoked on the worker's thread. Only
// Post(), Stop() and the WorkerGroup are thread-safe.
//
// Use (e.g. the campaign runner):
//   WorkerGroup group;
//   RETURN_IF_ERROR(group.Start({.timeouts = config.smtp_timeouts, .workers = config.workers}));
//   Worker& w = group.worker(i);
//   w.Post([&w, msg, acct] {                      // now on the worker thread
//     if (!w.HasCapacity(acct, "")) return;       // keep pools fed, not flooded
//     w.Submit({.id = 1, .message = msg, .account = acct}, [](const SendReport& r) { ... });
//   });
//   group.Stop(StopMode::kDrain);
//
// Trust: messages and config are trusted (rendered/validated upstream); everything the server
// sends is hostile and goes through engine/smtp's bounded parser. Secrets never appear in
// reports or logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/config/config.h"
#include "engine/mime/rendered_message.h"
#include "engine/smtp/reply.h"

namespace salvo {

class Resolver;

// One message for one recipient (RenderedMessage::recipient) through one account and source IP.
struct SendRequest {
  uint64_t id = 0;                                   // caller's id, echoed in the report
  std::shared_ptr<const RenderedMessage> message;    // kept alive until the report
  const AccountConfig* account = nullptr;            // must outlive the worker
  std::string source_ip;                             // local address to bind; empty: kernel's choice
};

// Exactly one per Submit(), on the worker thread.
struct SendReport {
  uint64_t id = 0;
  RcptOutcome outcome;            // delivered / deferred / rejected, reply, connection-level reason
  const AccountConfig* account = nullptr;
  std::string source_ip;
  absl::Duration latency;         // Submit() to outcome (includes queueing)
  // The SMTP transaction: hand-off to a connection (MAIL FROM written) to the server's first
  // verdict on it (the end-of-data reply, or an earlier refusal or failure). Zero when the
  // message never reached a connection, and on the later reports of a multi-recipient message.
  absl::Duration transaction;
  // The ACCOUNT is unusable (auth failure such as 535, out of credit such as
  // "451 Authentication failed: Maximum credits exceeded", no password): the runner should pause
  // it. The outcome is then kDeferred (the recipient is not at fault).
  bool account_unusable = false;
  std::string account_reason;     // plain words, e.g. "authentication failed: 535 5.7.8 ..."
};

using SendCallback = std::function<void(const SendReport&)>;

// A pool = the connections of one (account, source IP) pair on one worker.
struct PoolStats {
  std::string account;
  std::string source_ip;
  size_t queued = 0;             // submitted, waiting for a connection
  size_t in_flight = 0;          // on a connection, waiting for the server's verdict
  size_t open_connections = 0;   // connecting, busy or idle
  size_t idle_connections = 0;
  uint32_t max_connections = 0;
  uint64_t connections_opened = 0;  // totals since start
  uint64_t delivered = 0;
  uint64_t deferred = 0;
  uint64_t rejected = 0;
};

struct SenderOptions {
  SmtpTimeouts timeouts;          // per state; idle closes unused connections
  uint32_t workers = 0;           // WorkerGroup: 0 = one per core
  std::string default_ehlo_name;  // when the account has none; empty = gethostname()
  // A pool accepts this many queued messages per allowed connection before HasCapacity() says
  // no (Submit() still accepts: queues are the caller's to bound).
  uint32_t queue_per_connection = 4;
  uint32_t ring_entries = 1024;
  // RingLoop::SetCompletionBatch of each worker ([sending] completion_batch / completion_wait).
  uint32_t completion_batch = 1;
  absl::Duration completion_wait = absl::ZeroDuration();
  // Log lines (tls_verify = false warnings, ...) go here; default stderr. Called from any thread.
  std::function<void(std::string_view)> log;
};

enum class StopMode {
  kDrain,  // finish every submitted message (reports delivered), QUIT connections, then stop
  kAbort,  // close connections now; unfinished messages are reported deferred ("shutting down")
};

// One thread, one io_uring (SINGLE_ISSUER | DEFER_TASKRUN when the kernel has it).
class Worker {
 public:
  virtual ~Worker() = default;

  virtual int index() const = 0;
  // True when called on this worker's thread.
  virtual bool InWorkerThread() const = 0;
  // Thread-safe: CPU time (user + system) of the worker's thread so far, in ns (0: unknown).
  virtual uint64_t CpuNs() const { return 0; }

  // Thread-safe: runs `fn` on the worker's thread soon (FIFO per caller thread). Functions posted
  // after Stop() began are still run during a drain, dropped after an abort.
  virtual void Post(std::function<void()> fn) = 0;

  // --- worker thread only ---

  // Queues `req` on the pool of (account, source_ip) and starts connections as needed (up to
  // max_connections, each carrying up to messages_per_connection messages). `done` gets exactly
  // one report, never before Submit() returns.
  virtual void Submit(SendRequest req, SendCallback done) = 0;

  // True while the pool for (account, source_ip) has fewer than
  // max_connections * (1 + queue_per_connection) messages queued or in flight.
  virtual bool HasCapacity(const AccountConfig* account, std::string_view source_ip) const = 0;
  // How many more messages that pool takes before HasCapacity() turns false (0 when full).
  virtual size_t Capacity(const AccountConfig* account, std::string_view source_ip) const = 0;

  // Messages queued or in flight on this worker (all pools).
  virtual size_t Outstanding() const = 0;
  virtual std::vector<PoolStats> Stats() const = 0;

  // Runs `fn` on this thread after `delay`; returns an id for CancelTimer().
  virtual uint64_t AddTimer(absl::Duration delay, std::function<void()> fn) = 0;
  virtual void CancelTimer(uint64_t id) = 0;
};

// N workers (default one per core) sharing one resolver thread.
class WorkerGroup {
 public:
  WorkerGroup();
  ~WorkerGroup();  // Stop(kAbort) when still running
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  // Starts the threads. Errors: the ring could not be set up (names the cause).
  [[nodiscard]] absl::Status Start(const SenderOptions& options);
  size_t size() const { return workers_.size(); }
  Worker& worker(size_t i) { return *workers_[i]; }

  // Thread-safe (not from a worker thread). kDrain waits until every worker has no
  // outstanding message, then closes connections with QUIT; kAbort closes at once.
  void Stop(StopMode mode);

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Resolver> resolver_;
  bool running_ = false;
};

}  // namespace salvo
