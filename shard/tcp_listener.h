// shard/: TcpListener — a listening socket on a RingLoop with a multishot accept. Each accepted
// connection's fd goes to the callback (which owns it from then on). Accept errors (EMFILE...)
// re-arm after 20 ms instead of spinning. Loop thread only, after construction.
#pragma once

#include <functional>

#include "shard/ring_worker.h"

namespace salvo {

class TcpListener : public IoHandler {
 public:
  using AcceptFn = std::function<void(int fd)>;
  // Owns `fd` (a listening socket, see OpenTcpListener in shard/listen_address.h).
  TcpListener(RingLoop* loop, int fd, AcceptFn on_accept);
  // Closes the socket. Delete only once the loop has stopped or Close()'s cancel completed.
  ~TcpListener() override;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  void Arm();    // starts accepting
  void Close();  // stops accepting (cancels the pending accept)

 private:
  enum Kind : uint8_t { kAccept = 1, kCancel };
  void OnCompletion(uint8_t kind, int res, uint32_t flags) override;

  RingLoop* loop_;
  int fd_;
  AcceptFn on_accept_;
  bool closed_ = false;
};

}  // namespace salvo
