// shard/: SmtpConnection — one SMTP client connection of a pool: a RingStream (socket, TLS)
// driving an engine/smtp SmtpSession. It does no protocol work itself: bytes go to the session,
// the session's output goes to the socket, its events go to the pool, and its per-state timeout
// is enforced with a worker timer. The server is hostile; the session parses what it says.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "engine/smtp/session.h"
#include "shard/stream.h"

namespace salvo {

class Pool;
class PoolMetrics;

// What a connection tells its pool.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // The session can take a message (SmtpConnection::Send): it is idle (c->idle(): otherwise
  // let it idle/quit), or (PIPELINING) the previous message's end of data is queued and the next
  // one may go behind it (c->can_send() && !c->idle(): nothing to do when the queue is empty).
  virtual void OnConnectionReady(class SmtpConnection* c) = 0;
  virtual void OnMessageDone(SmtpConnection* c, uint64_t tag, const RcptOutcome& outcome) = 0;
  // AUTH refused or impossible: the account is unusable.
  virtual void OnAuthFailed(SmtpConnection* c, const std::string& reason) = 0;
  // The connection is closed (graceful after QUIT, or failed with `reason`); `c` is deleted
  // right after this returns.
  virtual void OnConnectionClosed(SmtpConnection* c, const std::string& reason, bool graceful) = 0;
};

struct ConnectionParams {
  std::string host;              // for SNI and certificate checks
  std::string source_ip;
  SSL_CTX* tls_ctx = nullptr;    // null when tls = none
  bool tls_verify = true;
  SmtpSessionOptions session;    // includes the timeouts
  PoolMetrics* metrics = nullptr;  // the pool's handles (TLS handshakes); may be null
};

class SmtpConnection : public RingStream {
 public:
  SmtpConnection(RingLoop* loop, ConnectionOwner* owner, const ConnectionParams* params,
                 uint64_t serial);
  ~SmtpConnection() override;

  void Start(const ResolvedAddress& to);
  // Valid when can_send() (after OnConnectionReady()). Errors as SmtpSession::Send.
  [[nodiscard]] absl::Status Send(const RenderedMessage& msg, uint64_t tag);
  [[nodiscard]]
  absl::Status Send(const RenderedMessage& msg, std::span<const std::string_view> rcpts,
                    uint64_t tag);
  // Graceful QUIT when idle, else abort with `reason` (pending message deferred).
  void Quit();
  void Abort(const std::string& reason);

  bool ready() const { return ready_; }              // has been idle at least once
  bool idle() const { return idle_; }
  bool can_send() const { return session_ && !closing() && session_->can_send(); }
  uint64_t serial() const { return serial_; }
  uint32_t messages() const { return messages_; }
  const SmtpSession* session() const { return session_.get(); }
  // Extra data the pool hangs on the connection (the messages in flight, oldest first: at most
  // 2 with pipelined transactions).
  absl::InlinedVector<uint64_t, 2> current_tags;
  uint64_t idle_timer = 0;
  bool counted_ready = false;
  std::string auth_failure;

 protected:
  void OnConnected(absl::Status status) override;
  void OnTlsReady(absl::Status status) override;
  void OnData(std::string_view bytes) override;
  void OnWritten() override;
  void OnStreamError(std::string reason) override;
  void OnFinished() override;

 private:
  void CreateSession();
  void SetupFailed(std::string reason);
  void AfterSessionCall();
  void PumpOutput();
  void ArmTimeout();
  void OnTimer();

  ConnectionOwner* owner_;
  const ConnectionParams* params_;
  uint64_t serial_;
  std::unique_ptr<SmtpSession> session_;
  std::vector<SmtpEvent> events_;
  size_t submitted_ = 0;         // plain: bytes of output() handed to sendmsg
  bool implicit_handshake_ = false;
  bool ready_ = false;
  bool idle_ = false;
  bool close_reported_ = false;
  bool in_events_ = false;
  std::string close_reason_;
  bool close_graceful_ = false;
  uint32_t messages_ = 0;
  int64_t deadline_ns_ = 0;
  uint64_t timer_id_ = 0;
  int64_t timer_at_ns_ = 0;
};

}  // namespace salvo
