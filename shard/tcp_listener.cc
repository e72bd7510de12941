// shard/: TcpListener — see tcp_listener.h.
#include "shard/tcp_listener.h"

#include <sys/socket.h>
#include <unistd.h>

namespace salvo {

TcpListener::TcpListener(RingLoop* loop, int fd, AcceptFn on_accept)
    : loop_(loop), fd_(fd), on_accept_(std::move(on_accept)) {}

TcpListener::~TcpListener() {
  if (fd_ >= 0) ::close(fd_);
}

void TcpListener::Arm() {
  if (closed_) return;
  io_uring_sqe* sqe = loop_->Sqe(this, kAccept);
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

void TcpListener::Close() {
  if (closed_) return;
  closed_ = true;
  io_uring_sqe* sqe = loop_->Sqe(this, kCancel);
  io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
}

void TcpListener::OnCompletion(uint8_t kind, int res, uint32_t flags) {
  if (kind != kAccept) return;
  if (res >= 0) {
    if (closed_) {
      ::close(res);
    } else {
      on_accept_(res);
    }
  }
  if (!(flags & IORING_CQE_F_MORE) && !closed_) {
    if (res >= 0) {
      Arm();
    } else {
      loop_->AddTimer(absl::Milliseconds(20), [this] { Arm(); });
    }
  }
}

}  // namespace salvo
