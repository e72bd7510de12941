// One salvo-sink worker: a thread with its own io_uring, its own SO_REUSEPORT listening sockets,
// a provided-buffer ring for multishot recv, and the SMTP sessions of the connections it
// accepted. Shares nothing with other workers but the read-only config and the account counters.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "perf/sink/sink_config.h"
#include "perf/sink/smtp_session.h"
#include "perf/sink/tls_layer.h"

namespace salvo::sink {

// Creates a listening TCP socket (SO_REUSEPORT) on addr; *port receives the bound port.
[[nodiscard]] absl::StatusOr<int> OpenListener(const ListenAddr& addr, int* port);

class Worker {
 public:
  // `listen_fds` are owned by the worker from now on. `tls` may be null.
  Worker(int index, const SinkConfig& cfg, AccountCounters* accounts, FaultAttempts* attempts,
         SSL_CTX* tls, std::vector<int> listen_fds);
  ~Worker();
  // Runs the loop until Stop(); returns an error when the ring cannot be set up.
  [[nodiscard]] absl::Status Run();
  void Stop();  // thread-safe
  SessionEnv& env() { return env_; }

 private:
  struct Conn;
  enum Op : uint8_t { kAccept = 1, kRecv, kSend, kTimer, kWake, kAcceptRetry };

  [[nodiscard]] absl::Status Setup();
  io_uring_sqe* Sqe();
  void ArmAccept(size_t listener);
  void ArmRecv(uint32_t slot);
  void ArmWake();
  void OnAccept(size_t listener, int res, uint32_t flags);
  void OnRecv(uint32_t slot, int res, uint32_t flags);
  void OnSend(uint32_t slot, int res);
  void OnTimer(uint32_t slot);
  void Process(uint32_t slot, const char* data, size_t n);
  void Flush(uint32_t slot);
  void Close(uint32_t slot, bool graceful = false);
  void MaybeFree(uint32_t slot);
  Conn* Get(uint32_t slot, uint32_t gen);
  static uint64_t Tag(Op op, uint32_t gen, uint32_t slot) {
    return (uint64_t{op} << 56) | (uint64_t{gen & 0xFFFFFF} << 32) | slot;
  }

  int index_;
  const SinkConfig& cfg_;
  SSL_CTX* tls_;
  std::vector<int> listen_fds_;
  SessionEnv env_;
  io_uring ring_{};
  bool ring_ok_ = false;
  int wake_fd_ = -1;
  uint64_t wake_buf_ = 0;
  std::atomic<bool> stop_{false};
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* buf_base_ = nullptr;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> dirty_;     // connections with new replies in this batch
  std::vector<uint32_t> flushing_;
  uint64_t now_ns_ = 0;
  __kernel_timespec accept_retry_{0, 20 * 1000 * 1000};  // after accept errors (EMFILE ...)
};

}  // namespace salvo::sink
