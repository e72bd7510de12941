// Test helpers for shard/ tests that talk to loopback sockets they own: a listener on
// 127.0.0.x, accept / read / write bounded by poll() (kWait), and a thread-safe Recorder of
// the events the code under test reports on its loop thread.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"

namespace salvo::test {

inline constexpr auto kWait = std::chrono::seconds(5);

// --- the server side: plain blocking sockets with poll() bounds ---

struct Listener {
  int fd = -1;
  int port = 0;
  ~Listener() {
    if (fd >= 0) close(fd);
  }
};

inline void ListenOn(Listener* l, const char* ip = "127.0.0.1", bool do_listen = true,
                     int backlog = 16) {
  l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(l->fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &a.sin_addr);
  ASSERT_EQ(bind(l->fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  if (do_listen) {
    ASSERT_EQ(listen(l->fd, backlog), 0);
  }
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(l->fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  l->port = ntohs(a.sin_port);
}

inline bool Readable(int fd, std::chrono::milliseconds within) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(within.count())) == 1;
}

// Accepts one connection (-1 after kWait); *peer gets its address.
inline int AcceptOne(int listen_fd, std::string* peer = nullptr) {
  if (!Readable(listen_fd, kWait)) return -1;
  sockaddr_in a{};
  socklen_t len = sizeof a;
  int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&a), &len, SOCK_CLOEXEC);
  if (fd >= 0 && peer) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    *peer = buf;
  }
  return fd;
}

// Reads until `n` bytes came (or EOF / kWait).
inline std::string ReadN(int fd, size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n && Readable(fd, kWait)) {
    ssize_t r = read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

inline void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    ASSERT_GT(n, 0);
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// --- the client side: what the code under test reported, from the loop thread ---

class Recorder {
 public:
  void Add(std::string e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  void AddData(std::string_view d) {
    std::lock_guard<std::mutex> lock(mu_);
    data_.append(d);
    cv_.notify_all();
  }
  // Waits until an event starting with `prefix` was recorded; returns it ("" on timeout).
  std::string WaitFor(const std::string& prefix) {
    std::unique_lock<std::mutex> lock(mu_);
    std::string found;
    cv_.wait_for(lock, kWait, [&] {
      for (const auto& e : events_)
        if (absl::StartsWith(e, prefix)) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }
  std::string WaitForData(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kWait, [&] { return data_.size() >= n; });
    return data_;
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  std::string data_;
};

}  // namespace salvo::test
