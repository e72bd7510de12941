// shard/: RingStream — one TCP client socket driven by io_uring: connect (optionally bound to a
// source address, IP_BIND_ADDRESS_NO_PORT) with a linked timeout, an always-armed recv, vectored
// sends (sendmsg over iovecs straight from the caller's buffers; short sends are finished) and
// optional TLS over memory BIOs. Subclasses implement the On*() hooks. The object outlives
// every operation it submitted: after Close(), it cancels what is pending and calls
// OnFinished() once nothing is in flight and the fd is closed (the owner may then delete it).
// The peer is hostile: received bytes are only handed on, never interpreted here.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "shard/resolver.h"
#include "shard/ring_worker.h"
#include "shard/tls.h"

namespace salvo {

class RingStream : public IoHandler {
 public:
  explicit RingStream(RingLoop* loop) : loop_(loop) {}
  ~RingStream() override;

  // Creates the socket, binds `source_ip` when not empty, connects with `timeout`. `to` is
  // copied (the ring reads the address only when the SQE is submitted, after this returns).
  // Result: OnConnected(status) (errors: "cannot connect to A: Connection refused",
  // "timeout connecting to A", "cannot bind source address S: ...").
  void Connect(const ResolvedAddress& to, const std::string& source_ip, absl::Duration timeout);

  // Takes an accepted socket (server side): `peer` names it in messages; recv is armed.
  void Adopt(int fd, std::string peer);

  // Starts a TLS client handshake on the connected socket; result: OnTlsReady(status).
  // Received bytes are decrypted from here on, and Write() encrypts.
  void StartTls(SSL_CTX* ctx, const std::string& host, bool verify);
  // The same as a server (after STARTTLS, or at once for implicit TLS). Bytes written before
  // go out in clear text first.
  void StartServerTls(SSL_CTX* ctx);

  // Queues bytes to send. copy=false: the bytes must stay valid until OnWritten() (message
  // segments, constant strings); copy=true: copied now. Writes go out in order.
  void Write(std::string_view bytes, bool copy);
  // Sends what Write() queued (one sendmsg for all queued pieces).
  void Flush();
  bool write_idle() const { return !sending_ && next_.pieces.empty(); }

  // Stops everything; OnFinished() follows once nothing is in flight. Idempotent.
  void Close();
  bool closing() const { return closing_; }
  bool tls_active() const { return tls_ != nullptr && tls_->established(); }
  std::string TlsDescription() const { return tls_ ? tls_->Describe() : ""; }
  const std::string& peer() const { return peer_; }

 protected:
  virtual void OnConnected(absl::Status status) = 0;
  virtual void OnTlsReady(absl::Status status) = 0;
  // Plaintext received. May call Write/Close.
  virtual void OnData(std::string_view bytes) = 0;
  // Everything written so far has been sent.
  virtual void OnWritten() = 0;
  // The peer closed, or a socket/TLS error: `reason` in plain words. Close() was not called
  // yet; the subclass normally calls it.
  virtual void OnStreamError(std::string reason) = 0;
  virtual void OnFinished() = 0;

  RingLoop* loop() const { return loop_; }

 private:
  enum Kind : uint8_t { kConnect = 1, kConnectTimeout, kRecv, kSend, kCancel };
  struct Piece {
    const char* ptr;  // external bytes, or nullptr: `len` bytes at `off` in owned
    size_t off;
    size_t len;
  };
  struct Batch {
    std::vector<Piece> pieces;
    std::string owned;
    void Clear() {
      pieces.clear();
      owned.clear();
    }
  };

  void OnCompletion(uint8_t kind, int res, uint32_t flags) override;
  void ArmRecv();
  void SubmitSend();
  void HandleRecv(int res);
  void HandleSend(int res);
  void BeginHandshake(absl::Status init);
  void DriveHandshake();
  void Fail(std::string reason);
  void MaybeFinish();
  void AppendCipherToNext();

  RingLoop* loop_;
  int fd_ = -1;
  int pending_ = 0;
  bool closing_ = false;
  bool finished_ = false;
  bool connected_ = false;
  bool failed_ = false;
  bool in_completion_ = false;
  std::string peer_;
  ResolvedAddress connect_to_;  // read by the kernel at submission: must outlive Connect()
  __kernel_timespec connect_ts_{};

  std::unique_ptr<TlsSession> tls_;
  bool handshaking_ = false;
  std::string plain_;

  char rbuf_[16384];
  bool recv_armed_ = false;

  Batch inflight_, next_;
  std::vector<iovec> iov_;
  size_t iov_pos_ = 0;
  msghdr msg_{};
  bool sending_ = false;
};

}  // namespace salvo
