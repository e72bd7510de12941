// shard/: the SMTP submission listener of `salvo serve` ([submission] in salvo.toml). One
// RingLoop thread accepts on `listen` (STARTTLS when a certificate is set) and `tls_listen`
// (implicit TLS) and runs every connection (shard/submission_conn.h); BlockingPools do the
// store work: API key check (scope `submission`, user = key name), suppression check at RCPT,
// and the queue's Enqueue, whose 250 is sent only once the WAL is fsynced. Never an open relay:
// MAIL needs AUTH. Keys are never logged.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "shard/blocking_pool.h"
#include "shard/ring_worker.h"
#include "shard/submission_conn.h"
#include "shard/tcp_listener.h"
#include "shard/tls.h"
#include "store/store.h"

namespace salvo {

class SubmissionServer {
 public:
  // Binds the listeners (errors name the [submission] key) and loads the certificate.
  // `config.submission` must be set; `store` outlives the server.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SubmissionServer>> Start(
      const Config& config, Store* store, std::string hostname, FILE* log);
  ~SubmissionServer();  // Stop()
  // Stops accepting, ends sessions with 421 (an Enqueue in progress finishes and is answered),
  // waits up to 2 s for them, joins. Idempotent.
  void Stop();

  int port() const { return port_; }          // 0: no plaintext listener
  int tls_port() const { return tls_port_; }  // 0: no implicit TLS listener

  // --- for connections (loop thread) ---
  const SubmissionConfig& options() const { return *config_.submission; }
  const ServerSessionOptions& session_options() const { return session_options_; }
  const std::string& hostname() const { return session_options_.hostname; }
  SSL_CTX* tls_ctx() const { return tls_ctx_.get(); }
  RingLoop* loop() { return &loop_; }
  // Runs `work` on a pool thread; its reply goes to connection `id` if it still exists. Checks
  // (key, suppression: short reads) have their own threads so that they never wait behind
  // Enqueues waiting for an fsync.
  enum class Work { kCheck, kEnqueue };
  void RunBlocking(uint64_t id, Work kind, std::function<SubmissionReply()> work);
  void Remove(uint64_t id);  // the connection finished: deletes it
  void Log(const std::string& line);

  // --- blocking work (pool threads) ---
  SubmissionReply CheckAuth(const std::string& user, const std::string& password);
  SubmissionReply CheckRecipient(const std::string& address, const std::string& key);
  struct Submitted {
    std::string key_name, key_route, sender;
    std::vector<std::string> recipients;
    std::string body;        // without the Received: header yet
    std::string received;    // the Received: header
  };
  SubmissionReply Enqueue(Submitted m);

 private:
  SubmissionServer(const Config& config, Store* store, FILE* log);
  void Accept(int fd, bool implicit_tls);

  const Config& config_;
  Store* store_;
  FILE* log_;
  ServerSessionOptions session_options_;
  SslCtxPtr tls_ctx_;
  RingLoop loop_;
  BlockingPool checks_{4};
  BlockingPool enqueues_{16};  // concurrent Enqueues share fsyncs (group commit)
  std::unique_ptr<TcpListener> plain_, implicit_;
  int port_ = 0, tls_port_ = 0;
  absl::flat_hash_map<uint64_t, std::unique_ptr<SubmissionConn>> conns_;  // loop thread
  uint64_t next_id_ = 1;
  bool stopping_ = false;  // loop thread
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace salvo
