// io_uring loop of one salvo-sink worker (see sink_worker.h). Completions are reaped in
// batches; replies produced while handling a batch are written with one send per connection
// after the batch. Stale completions (a slot reused since) are recognised by a generation tag.
// Per-connection output is bounded (kMaxPendingOut): a client that never reads is disconnected.
#include "perf/sink/sink_worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace salvo::sink {
namespace {

constexpr unsigned kRingEntries = 2048;
constexpr unsigned kBufCount = 256;      // provided buffers (power of two)
constexpr unsigned kBufSize = 65536;
constexpr int kBufGroup = 0;
constexpr size_t kMaxPendingOut = 4u << 20;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string PeerIp(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
      inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof buf);
    }
  } else {
    return "unknown";
  }
  return buf;
}

}  // namespace

struct Worker::Conn {
  int fd = -1;
  uint32_t gen = 0;
  bool in_use = false;
  bool recv_armed = false;
  bool send_inflight = false;
  bool timer_armed = false;
  bool closing = false;
  bool close_after_send = false;
  bool dirty = false;
  std::unique_ptr<SmtpSession> session;
  std::unique_ptr<TlsConn> tls;
  std::string wire;      // encrypted/plain bytes waiting to be sent
  std::string inflight;  // bytes of the send in flight
  size_t inflight_off = 0;
  __kernel_timespec delay{};
};

[[nodiscard]] absl::StatusOr<int> OpenListener(const ListenAddr& addr, int* port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(*port));
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, addr.host.c_str(), &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(*port));
    len = sizeof *a6;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--listen: '", addr.host, "' is not a numeric address"));
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", addr.host, ":", *port, ": ", strerror(e)));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return fd;
}

Worker::Worker(int index, const SinkConfig& cfg, AccountCounters* accounts, FaultAttempts* attempts,
               SSL_CTX* tls, std::vector<int> listen_fds)
    : index_(index), cfg_(cfg), tls_(tls), listen_fds_(std::move(listen_fds)),
      env_(cfg, accounts, cfg.seed + static_cast<uint64_t>(index) * 7919, attempts) {
  env_.tls_available = tls != nullptr;
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
}

Worker::~Worker() {
  for (auto& c : conns_) {
    if (c && c->fd >= 0) close(c->fd);
  }
  for (int fd : listen_fds_) close(fd);
  if (ring_ok_) io_uring_queue_exit(&ring_);
  if (buf_base_ != nullptr) munmap(buf_base_, size_t{kBufCount} * kBufSize);
  if (buf_ring_ != nullptr) munmap(buf_ring_, kBufCount * sizeof(io_uring_buf));
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Worker::Stop() {
  stop_.store(true);
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
    // the loop also polls stop_ after every batch
  }
}

absl::Status Worker::Setup() {
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = kRingEntries * 8;
  int r = io_uring_queue_init_params(kRingEntries, &ring_, &p);
  if (r == -EINVAL) {  // older kernel: plain ring
    io_uring_params q{};
    q.flags = IORING_SETUP_CQSIZE;
    q.cq_entries = kRingEntries * 8;
    r = io_uring_queue_init_params(kRingEntries, &ring_, &q);
  }
  if (r < 0) return absl::InternalError(absl::StrCat("io_uring_queue_init: ", strerror(-r)));
  ring_ok_ = true;
  size_t ring_bytes = kBufCount * sizeof(io_uring_buf);
  void* rb = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void* bufs = mmap(nullptr, size_t{kBufCount} * kBufSize, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (rb == MAP_FAILED || bufs == MAP_FAILED) return absl::ResourceExhaustedError("mmap buffers");
  buf_ring_ = static_cast<io_uring_buf_ring*>(rb);
  buf_base_ = static_cast<char*>(bufs);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(rb);
  reg.ring_entries = kBufCount;
  reg.bgid = kBufGroup;
  r = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (r < 0) return absl::InternalError(absl::StrCat("io_uring_register_buf_ring: ", strerror(-r)));
  io_uring_buf_ring_init(buf_ring_);
  int mask = io_uring_buf_ring_mask(kBufCount);
  for (unsigned i = 0; i < kBufCount; ++i) {
    io_uring_buf_ring_add(buf_ring_, buf_base_ + size_t{i} * kBufSize, kBufSize,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, kBufCount);
  return absl::OkStatus();
}

io_uring_sqe* Worker::Sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (s == nullptr) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void Worker::ArmAccept(size_t listener) {
  io_uring_sqe* s = Sqe();
  io_uring_prep_multishot_accept(s, listen_fds_[listener], nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, Tag(kAccept, 0, static_cast<uint32_t>(listener)));
}

void Worker::ArmWake() {
  io_uring_sqe* s = Sqe();
  io_uring_prep_read(s, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(s, Tag(kWake, 0, 0));
}

void Worker::ArmRecv(uint32_t slot) {
  Conn& c = *conns_[slot];
  io_uring_sqe* s = Sqe();
  io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufGroup;
  io_uring_sqe_set_data64(s, Tag(kRecv, c.gen, slot));
  c.recv_armed = true;
}

Worker::Conn* Worker::Get(uint32_t slot, uint32_t gen) {
  if (slot >= conns_.size()) return nullptr;
  Conn* c = conns_[slot].get();
  if (!c->in_use || (c->gen & 0xFFFFFF) != gen) return nullptr;
  return c;
}

absl::Status Worker::Run() {
  absl::Status st = Setup();
  if (!st.ok()) return st;
  for (size_t i = 0; i < listen_fds_.size(); ++i) ArmAccept(i);
  ArmWake();
  while (!stop_.load(std::memory_order_relaxed)) {
    int r = io_uring_submit_and_wait(&ring_, 1);
    if (r < 0 && r != -EINTR && r != -ETIME && r != -EAGAIN && r != -EBUSY) {
      return absl::InternalError(absl::StrCat("io_uring_submit_and_wait: ", strerror(-r)));
    }
    now_ns_ = NowNs();
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++count;
      uint64_t ud = cqe->user_data;
      Op op = static_cast<Op>(ud >> 56);
      uint32_t gen = static_cast<uint32_t>(ud >> 32) & 0xFFFFFF;
      uint32_t slot = static_cast<uint32_t>(ud);
      switch (op) {
        case kAccept: OnAccept(slot, cqe->res, cqe->flags); break;
        case kRecv:
          if (Get(slot, gen) != nullptr) {
            OnRecv(slot, cqe->res, cqe->flags);
          } else if (cqe->flags & IORING_CQE_F_BUFFER) {  // stale: give the buffer back
            unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            io_uring_buf_ring_add(buf_ring_, buf_base_ + size_t{bid} * kBufSize, kBufSize,
                                  static_cast<unsigned short>(bid), io_uring_buf_ring_mask(kBufCount), 0);
            io_uring_buf_ring_advance(buf_ring_, 1);
          }
          break;
        case kSend:
          if (Get(slot, gen) != nullptr) OnSend(slot, cqe->res);
          break;
        case kTimer:
          if (Get(slot, gen) != nullptr) OnTimer(slot);
          break;
        case kAcceptRetry:
          if (!stop_.load()) ArmAccept(slot);
          break;
        case kWake:
          if (!stop_.load()) ArmWake();
          break;
      }
    }
    io_uring_cq_advance(&ring_, count);
    flushing_.swap(dirty_);  // both keep their capacity: no allocation per batch
    if (!flushing_.empty()) now_ns_ = NowNs();  // "reply queued" for the latency figures
    for (uint32_t slot : flushing_) {
      conns_[slot]->dirty = false;
      Flush(slot);
    }
    flushing_.clear();
  }
  return absl::OkStatus();
}

void Worker::OnAccept(size_t listener, int res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE) && !stop_.load()) {
    if (res >= 0) {
      ArmAccept(listener);
    } else {  // EMFILE and friends: retry a little later instead of spinning
      io_uring_sqe* s = Sqe();
      io_uring_prep_timeout(s, &accept_retry_, 0, 0);
      io_uring_sqe_set_data64(s, Tag(kAcceptRetry, 0, static_cast<uint32_t>(listener)));
    }
  }
  if (res < 0) return;
  int fd = res;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(conns_.size());
    conns_.push_back(std::make_unique<Conn>());
  }
  Conn& c = *conns_[slot];
  uint32_t gen = c.gen;
  c = Conn();
  c.gen = gen;
  c.fd = fd;
  c.in_use = true;
  c.session = std::make_unique<SmtpSession>(&env_, PeerIp(fd));
  ++env_.stats.connections;
  c.session->Greet(now_ns_);
  ArmRecv(slot);
  Flush(slot);
}

void Worker::OnRecv(uint32_t slot, int res, uint32_t flags) {
  Conn& c = *conns_[slot];
  if (!(flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    char* buf = buf_base_ + size_t{bid} * kBufSize;
    now_ns_ = NowNs();  // "command received" for the latency figures
    env_.stats.bytes_in += static_cast<uint64_t>(res);
    if (!c.closing) Process(slot, buf, static_cast<size_t>(res));
    io_uring_buf_ring_add(buf_ring_, buf, kBufSize, static_cast<unsigned short>(bid),
                          io_uring_buf_ring_mask(kBufCount), 0);
    io_uring_buf_ring_advance(buf_ring_, 1);
  } else if (res == -ENOBUFS) {
    // all buffers in use: back-pressure; re-armed below
  } else if (res <= 0) {
    Close(slot);
  }
  if (!c.recv_armed) {
    if (c.closing) {
      MaybeFree(slot);
    } else {
      ArmRecv(slot);
    }
  }
}

void Worker::Process(uint32_t slot, const char* data, size_t n) {
  Conn& c = *conns_[slot];
  std::string_view in(data, n);
  std::string plain;
  if (c.tls) {
    if (!c.tls->Decrypt(in, &plain, &c.wire)) {
      Close(slot);
      return;
    }
    in = plain;
  }
  c.session->Feed(in, now_ns_);  // bytes after STARTTLS / close are discarded
  SmtpSession& s = *c.session;
  if (s.drop_now()) {
    Close(slot);
    return;
  }
  if (uint32_t ms = s.TakeDelayMs(); ms > 0 && !c.timer_armed) {
    c.delay.tv_sec = ms / 1000;
    c.delay.tv_nsec = static_cast<long long>(ms % 1000) * 1000000;
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_timeout(sqe, &c.delay, 0, 0);
    io_uring_sqe_set_data64(sqe, Tag(kTimer, c.gen, slot));
    c.timer_armed = true;
  }
  if (s.starttls_requested() && tls_ != nullptr) {
    // The 220 goes out in clear text; everything after it is TLS.
    c.wire.append(s.out());
    s.out().clear();
    s.MarkFlushed(now_ns_);
    c.tls = std::make_unique<TlsConn>(tls_);
    ++env_.stats.tls_sessions;
    s.OnTlsStarted();
  }
  if (s.out().size() + c.wire.size() > kMaxPendingOut) {
    Close(slot);
    return;
  }
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(slot);
  }
}

void Worker::Flush(uint32_t slot) {
  Conn& c = *conns_[slot];
  if (!c.in_use || c.closing) return;
  SmtpSession& s = *c.session;
  if (!c.timer_armed && !s.out().empty()) {
    if (c.tls) {
      if (!c.tls->Encrypt(s.out(), &c.wire)) {
        Close(slot);
        return;
      }
    } else if (c.wire.empty()) {
      c.wire.swap(s.out());
    } else {
      c.wire.append(s.out());
    }
    s.out().clear();
    s.MarkFlushed(now_ns_);
    if (s.close_after_flush()) c.close_after_send = true;
  }
  if (c.send_inflight) return;
  if (c.wire.empty()) {
    if (c.close_after_send) Close(slot, /*graceful=*/true);
    return;
  }
  c.inflight.swap(c.wire);
  c.wire.clear();
  c.inflight_off = 0;
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_send(sqe, c.fd, c.inflight.data(), c.inflight.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, Tag(kSend, c.gen, slot));
  c.send_inflight = true;
}

void Worker::OnSend(uint32_t slot, int res) {
  Conn& c = *conns_[slot];
  c.send_inflight = false;
  if (res < 0) {
    Close(slot);
    MaybeFree(slot);
    return;
  }
  env_.stats.bytes_out += static_cast<uint64_t>(res);
  c.inflight_off += static_cast<size_t>(res);
  if (c.closing) {
    MaybeFree(slot);
    return;
  }
  if (c.inflight_off < c.inflight.size()) {  // short send: finish it
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_send(sqe, c.fd, c.inflight.data() + c.inflight_off,
                       c.inflight.size() - c.inflight_off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, Tag(kSend, c.gen, slot));
    c.send_inflight = true;
    return;
  }
  c.inflight.clear();
  Flush(slot);
}

void Worker::OnTimer(uint32_t slot) {
  Conn& c = *conns_[slot];
  c.timer_armed = false;
  if (c.closing) {
    MaybeFree(slot);
    return;
  }
  now_ns_ = NowNs();
  Flush(slot);
}

void Worker::Close(uint32_t slot, bool graceful) {
  Conn& c = *conns_[slot];
  if (c.closing) return;
  c.closing = true;
  // Graceful (after QUIT / 421): send FIN and wait for the client's EOF, so that unread pipelined
  // commands do not turn the close into a reset that could destroy the last reply. Otherwise both
  // directions end now. Either way the multishot recv ends; MaybeFree closes the fd once nothing
  // is in flight.
  shutdown(c.fd, graceful ? SHUT_WR : SHUT_RDWR);
  MaybeFree(slot);
}

void Worker::MaybeFree(uint32_t slot) {
  Conn& c = *conns_[slot];
  if (!c.in_use || !c.closing || c.recv_armed || c.send_inflight) return;
  // A pending tarpit timer is harmless: its completion carries the old generation.
  close(c.fd);
  c.fd = -1;
  c.in_use = false;
  c.session.reset();
  c.tls.reset();
  c.wire.clear();
  c.inflight.clear();
  c.gen = (c.gen + 1) & 0xFFFFFF;
  free_slots_.push_back(slot);
}

}  // namespace salvo::sink
