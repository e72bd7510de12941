// Cuts off slowloris clients: a connection that has not delivered a whole request head (request
// line and headers) within `limit` of connecting, or of its previous request's end, is shut
// down (shutdown(2): the HTTP library sees the end of the stream and cleans up). The idle
// timeout alone does not do it: a client trickling a byte now and then stays "active".
// Thread-safe; one thread checks the deadlines twice a second. The HTTP library must report
// Closed() before it closes the descriptor (libmicrohttpd does), so that a descriptor number
// reused by a new connection is never shut down.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "absl/time/time.h"

namespace salvo {

class HeaderDeadline {
 public:
  explicit HeaderDeadline(absl::Duration limit);
  ~HeaderDeadline();  // stops the checking thread
  HeaderDeadline(const HeaderDeadline&) = delete;
  HeaderDeadline& operator=(const HeaderDeadline&) = delete;

  void Started(const void* conn, int fd);  // accepted: waiting for a request head
  void HeadReceived(const void* conn);     // the request head is complete
  void RequestDone(const void* conn);      // waiting for the next head (keep-alive)
  void Closed(const void* conn);           // before the descriptor is closed

  uint64_t cut_off() const;  // connections shut down so far

 private:
  struct Conn {
    int fd;
    int64_t waiting_since_ms;  // 0: a request is being served
  };
  void Loop();
  static int64_t NowMs();

  const int64_t limit_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t cut_off_ = 0;
  std::unordered_map<const void*, Conn> conns_;
  std::thread thread_;
};

}  // namespace salvo
