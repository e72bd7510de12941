// shard/: RingStream — see stream.h.
#include "shard/stream.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace salvo {

namespace {
constexpr size_t kMaxIov = 512;  // < IOV_MAX

std::string ErrnoText(int err) { return strerror(err); }
}  // namespace

RingStream::~RingStream() {
  if (fd_ >= 0) close(fd_);
}

void RingStream::Connect(const ResolvedAddress& to, const std::string& source_ip,
                         absl::Duration timeout) {
  connect_to_ = to;
  peer_ = to.ToString();
  fd_ = socket(to.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    OnConnected(absl::UnavailableError(absl::StrCat("cannot create socket: ", ErrnoText(errno))));
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source_ip.empty()) {
    ResolvedAddress local;
    if (!ParseIpLiteral(source_ip, 0, &local) || local.family != to.family) {
      OnConnected(absl::InvalidArgumentError(absl::StrCat(
          "source address ", source_ip, " is not an IP address of the same family as ", peer_)));
      return;
    }
    setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd_, reinterpret_cast<const sockaddr*>(&local.addr), local.len) != 0) {
      OnConnected(absl::UnavailableError(
          absl::StrCat("cannot bind source address ", source_ip, ": ", ErrnoText(errno))));
      return;
    }
  }
  int64_t ns = absl::ToInt64Nanoseconds(timeout);
  connect_ts_.tv_sec = ns / 1000000000;
  connect_ts_.tv_nsec = ns % 1000000000;
  io_uring_sqe* sqe = loop_->Sqe(this, kConnect);
  io_uring_prep_connect(sqe, fd_, reinterpret_cast<const sockaddr*>(&connect_to_.addr),
                        connect_to_.len);
  sqe->flags |= IOSQE_IO_LINK;
  sqe = loop_->Sqe(this, kConnectTimeout);
  io_uring_prep_link_timeout(sqe, &connect_ts_, 0);
  pending_ += 2;
}

void RingStream::Adopt(int fd, std::string peer) {
  fd_ = fd;
  peer_ = std::move(peer);
  connected_ = true;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ArmRecv();
}

void RingStream::StartTls(SSL_CTX* ctx, const std::string& host, bool verify) {
  tls_ = std::make_unique<TlsSession>();
  BeginHandshake(tls_->Init(ctx, host, verify));
}

void RingStream::StartServerTls(SSL_CTX* ctx) {
  tls_ = std::make_unique<TlsSession>();
  BeginHandshake(tls_->InitServer(ctx));
}

void RingStream::BeginHandshake(absl::Status init) {
  if (!init.ok()) {
    OnTlsReady(init);
    return;
  }
  handshaking_ = true;
  DriveHandshake();
}

void RingStream::DriveHandshake() {
  absl::StatusOr<TlsSession::Progress> p = tls_->Handshake();
  AppendCipherToNext();
  Flush();
  if (!p.ok()) {
    handshaking_ = false;
    OnTlsReady(p.status());
    return;
  }
  if (*p == TlsSession::Progress::kDone) {
    handshaking_ = false;
    OnTlsReady(absl::OkStatus());
  }
}

void RingStream::AppendCipherToNext() {
  size_t off = next_.owned.size();
  if (tls_->TakeOutput(&next_.owned))
    next_.pieces.push_back({nullptr, off, next_.owned.size() - off});
}

void RingStream::Write(std::string_view bytes, bool copy) {
  if (closing_ || bytes.empty()) return;
  if (tls_ && tls_->established()) {
    absl::Status st = tls_->WritePlain(bytes);
    if (!st.ok()) {
      Fail(std::string(st.message()));
      return;
    }
    AppendCipherToNext();
    return;
  }
  if (copy) {
    size_t off = next_.owned.size();
    next_.owned.append(bytes);
    // Merge with a preceding owned piece when contiguous.
    if (!next_.pieces.empty() && next_.pieces.back().ptr == nullptr &&
        next_.pieces.back().off + next_.pieces.back().len == off) {
      next_.pieces.back().len += bytes.size();
    } else {
      next_.pieces.push_back({nullptr, off, bytes.size()});
    }
  } else {
    next_.pieces.push_back({bytes.data(), 0, bytes.size()});
  }
}

void RingStream::Flush() {
  if (!sending_) SubmitSend();
}

void RingStream::SubmitSend() {
  if (closing_ || fd_ < 0 || next_.pieces.empty()) return;
  std::swap(inflight_, next_);
  next_.Clear();
  iov_.clear();
  for (const Piece& p : inflight_.pieces) {
    const char* base = p.ptr ? p.ptr : inflight_.owned.data() + p.off;
    iov_.push_back({const_cast<char*>(base), p.len});
  }
  iov_pos_ = 0;
  sending_ = true;
  msg_ = msghdr{};
  msg_.msg_iov = iov_.data();
  msg_.msg_iovlen = std::min(iov_.size(), kMaxIov);
  io_uring_sqe* sqe = loop_->Sqe(this, kSend);
  io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
  ++pending_;
}

void RingStream::HandleSend(int res) {
  if (closing_) return;
  if (res < 0) {
    sending_ = false;
    Fail(res == -EPIPE || res == -ECONNRESET ? "peer closed the connection while we were sending"
                                             : absl::StrCat("send failed: ", ErrnoText(-res)));
    return;
  }
  size_t n = static_cast<size_t>(res);
  while (n > 0 && iov_pos_ < iov_.size()) {
    iovec& v = iov_[iov_pos_];
    if (n >= v.iov_len) {
      n -= v.iov_len;
      ++iov_pos_;
    } else {
      v.iov_base = static_cast<char*>(v.iov_base) + n;
      v.iov_len -= n;
      n = 0;
    }
  }
  if (iov_pos_ < iov_.size()) {  // short send or more than kMaxIov pieces: continue
    msg_ = msghdr{};
    msg_.msg_iov = iov_.data() + iov_pos_;
    msg_.msg_iovlen = std::min(iov_.size() - iov_pos_, kMaxIov);
    io_uring_sqe* sqe = loop_->Sqe(this, kSend);
    io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
    ++pending_;
    return;
  }
  sending_ = false;
  inflight_.Clear();
  if (!next_.pieces.empty()) {
    SubmitSend();
    return;
  }
  OnWritten();
}

void RingStream::ArmRecv() {
  if (closing_ || recv_armed_ || fd_ < 0) return;
  io_uring_sqe* sqe = loop_->Sqe(this, kRecv);
  io_uring_prep_recv(sqe, fd_, rbuf_, sizeof rbuf_, 0);
  recv_armed_ = true;
  ++pending_;
}

void RingStream::HandleRecv(int res) {
  recv_armed_ = false;
  if (closing_) return;
  if (res == 0) {
    Fail("peer closed the connection");
    return;
  }
  if (res < 0) {
    Fail(res == -ECONNRESET ? "connection reset by peer"
                            : absl::StrCat("receive failed: ", ErrnoText(-res)));
    return;
  }
  std::string_view data(rbuf_, static_cast<size_t>(res));
  if (tls_) {
    tls_->FeedCiphertext(data);
    if (handshaking_) {
      DriveHandshake();
      if (closing_ || failed_ || handshaking_) {
        if (!closing_ && !failed_) ArmRecv();
        return;
      }
    }
    plain_.clear();
    absl::Status st = tls_->ReadPlain(&plain_);
    AppendCipherToNext();  // TLS 1.3 may answer (key updates)
    Flush();
    if (!plain_.empty()) {
      OnData(plain_);
      if (closing_ || failed_) return;
    }
    if (!st.ok()) {
      Fail(std::string(st.message()));
      return;
    }
  } else {
    OnData(data);
    if (closing_ || failed_) return;
  }
  ArmRecv();
}

void RingStream::OnCompletion(uint8_t kind, int res, uint32_t) {
  --pending_;
  in_completion_ = true;
  switch (kind) {
    case kConnect:
      if (closing_) break;
      if (res == 0) {
        connected_ = true;
        ArmRecv();
        OnConnected(absl::OkStatus());
      } else if (res == -ECANCELED) {
        OnConnected(absl::DeadlineExceededError(absl::StrCat("timeout connecting to ", peer_)));
      } else {
        OnConnected(absl::UnavailableError(
            absl::StrCat("cannot connect to ", peer_, ": ", ErrnoText(-res))));
      }
      break;
    case kConnectTimeout:
      break;
    case kRecv:
      HandleRecv(res);
      break;
    case kSend:
      HandleSend(res);
      break;
    case kCancel:
      break;
  }
  in_completion_ = false;
  if (closing_) MaybeFinish();  // may delete this: nothing after it
}

void RingStream::Fail(std::string reason) {
  if (failed_ || closing_) return;
  failed_ = true;
  OnStreamError(std::move(reason));
}

void RingStream::Close() {
  if (closing_) return;
  closing_ = true;
  if (pending_ > 0 && fd_ >= 0) {
    io_uring_sqe* sqe = loop_->Sqe(this, kCancel);
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    ++pending_;
  } else if (!in_completion_) {
    loop_->AddTimer(absl::ZeroDuration(), [this] { MaybeFinish(); });
  }  // else: OnCompletion() finishes when it returns
}

void RingStream::MaybeFinish() {
  if (!closing_ || pending_ > 0 || finished_) return;
  finished_ = true;
  // shutdown() sends the FIN now: close() alone may leave the socket open while io_uring still
  // holds a reference from a cancelled request, so the server would count this connection
  // alongside the pool's next one (an account's max_connections seen as +1 by the partner).
  if (fd_ >= 0) {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
  }
  fd_ = -1;
  OnFinished();  // may delete this
}

}  // namespace salvo
