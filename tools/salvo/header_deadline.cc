// Request-head deadlines. See header_deadline.h.
#include "tools/salvo/header_deadline.h"

#include <sys/socket.h>
#include <time.h>

namespace salvo {

HeaderDeadline::HeaderDeadline(absl::Duration limit)
    : limit_ms_(absl::ToInt64Milliseconds(limit)), thread_([this] { Loop(); }) {}

HeaderDeadline::~HeaderDeadline() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

int64_t HeaderDeadline::NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void HeaderDeadline::Started(const void* conn, int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  conns_[conn] = Conn{fd, NowMs()};
}

void HeaderDeadline::HeadReceived(const void* conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = conns_.find(conn); it != conns_.end()) it->second.waiting_since_ms = 0;
}

void HeaderDeadline::RequestDone(const void* conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = conns_.find(conn); it != conns_.end()) it->second.waiting_since_ms = NowMs();
}

void HeaderDeadline::Closed(const void* conn) {
  std::lock_guard<std::mutex> lock(mu_);
  conns_.erase(conn);
}

uint64_t HeaderDeadline::cut_off() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cut_off_;
}

void HeaderDeadline::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(500));
    const int64_t now = NowMs();
    for (auto& [conn, c] : conns_) {
      if (c.waiting_since_ms == 0 || now - c.waiting_since_ms < limit_ms_) continue;
      // Under mu_: Closed() has not run, so the descriptor is still this connection's.
      ::shutdown(c.fd, SHUT_RDWR);
      c.waiting_since_ms = 0;
      ++cut_off_;
    }
  }
}

}  // namespace salvo
