// shard/: Pool — the connections of one (account, source IP) on one worker and the queue of
// messages waiting for them. At most max_connections connections, each carrying up to
// messages_per_connection messages; idle connections QUIT after timeouts.idle. A connection that
// fails before it is usable (resolve, connect, TLS, AUTH) defers the queued messages when no
// other connection of the pool works, so a dead server does not spin. Every submitted message
// gets exactly one report.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "shard/connection.h"
#include "shard/pool_metrics.h"
#include "shard/resolver.h"
#include "shard/sender.h"

namespace salvo {

// What a pool needs from its worker.
class PoolHost {
 public:
  virtual ~PoolHost() = default;
  virtual RingLoop* loop() = 0;
  // Resolves host:port; `done` runs on the worker thread.
  virtual void Resolve(const std::string& host, uint16_t port, Resolver::Callback done) = 0;
  [[nodiscard]] virtual absl::StatusOr<SSL_CTX*> TlsContext(const AccountConfig& account) = 0;
  virtual const SenderOptions& options() const = 0;
  virtual const std::string& ehlo_name() const = 0;
  // Logs `line` once per `key` for the whole process.
  virtual void LogOnce(const std::string& key, const std::string& line) = 0;
  // A message was reported (the worker's queue and in-flight gauges may have moved).
  virtual void LoadChanged() {}
};

struct PendingSend {
  SendRequest req;
  SendCallback done;
  int64_t submitted_ns = 0;
  int64_t sent_ns = 0;  // handed to a connection (its transaction starts: MAIL FROM is written)
  int64_t transaction_ns = 0;  // sent_ns to the first verdict, for the report that carries it
  // send-one: explicit recipients instead of req.message->recipient (views into the message's
  // owner; empty = the message's recipient).
  std::vector<std::string_view> rcpts;
  size_t remaining = 1;  // outcomes still expected
};

// Plain words when `reply` says the ACCOUNT (not the recipient) is unusable: 535/534/530 auth
// failures, out of credit ("451 Authentication failed: Maximum credits exceeded"), suspended.
// Empty otherwise.
std::string AccountProblem(const SmtpReply& reply);

class Pool : public ConnectionOwner {
 public:
  Pool(PoolHost* host, const AccountConfig* account, std::string source_ip);
  ~Pool() override;

  void Enqueue(PendingSend p);
  size_t outstanding() const { return queue_.size() + in_flight_.size(); }
  size_t queued() const { return queue_.size(); }
  size_t in_flight() const { return in_flight_.size(); }
  size_t open_connections() const { return conns_.size(); }
  PoolStats Stats() const;
  // Stop: kDrain QUITs idle connections once nothing is outstanding; kAbort fails everything.
  void Shutdown(StopMode mode);
  // smtp-check: opens one connection (even with an empty queue); `probe` runs once, when it is
  // ready (error empty; call c->Quit() when done) or when it failed (error set; c may be null,
  // else it is about to be deleted and c->session() tells what was learned).
  using ProbeCallback = std::function<void(SmtpConnection* c, const std::string& error)>;
  void Probe(ProbeCallback probe);

  // ConnectionOwner
  void OnConnectionReady(SmtpConnection* c) override;
  void OnMessageDone(SmtpConnection* c, uint64_t tag, const RcptOutcome& outcome) override;
  void OnAuthFailed(SmtpConnection* c, const std::string& reason) override;
  void OnConnectionClosed(SmtpConnection* c, const std::string& reason, bool graceful) override;

 private:
  void SchedulePump();
  void Pump();
  void OpenConnection();
  void StartResolve();
  void Report(PendingSend& p, const RcptOutcome& outcome, bool account_unusable,
              const std::string& account_reason);
  void FailQueued(const std::string& reason, bool account_unusable);
  void GiveWork(SmtpConnection* c);
  void ArmIdle(SmtpConnection* c);
  bool Prepare();  // password, TLS context, session options; false: account unusable

  PoolHost* host_;
  const AccountConfig* account_;
  std::string source_ip_;
  bool prepared_ = false;
  std::string unusable_reason_;      // set when the account cannot be used at all
  ConnectionParams params_;

  std::deque<PendingSend> queue_;
  absl::flat_hash_map<uint64_t, PendingSend> in_flight_;  // by tag
  absl::flat_hash_set<SmtpConnection*> conns_;
  uint64_t next_tag_ = 1;
  size_t connecting_ = 0;   // connections not ready yet
  bool pump_scheduled_ = false;
  uint64_t pump_timer_ = 0;
  uint64_t next_serial_ = 1;

  std::vector<ResolvedAddress> addrs_;
  int64_t addrs_expire_ns_ = 0;
  bool resolving_ = false;
  size_t next_addr_ = 0;
  bool auth_failed_ = false;
  std::string auth_reason_;
  bool shutting_down_ = false;
  std::vector<ProbeCallback> probes_;

  PoolStats stats_;
  PoolMetrics metrics_;
};

}  // namespace salvo
