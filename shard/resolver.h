// shard/: host name resolution off the worker threads. One resolver thread runs getaddrinfo()
// and hands results back through a callback that the caller posts to its worker; IP literals
// resolve immediately without the thread. Host names come from trusted config.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  std::string ToString() const;  // "192.0.2.1:587"
};

// Parses an IPv4/IPv6 literal (no port). False when `text` is not one.
bool ParseIpLiteral(const std::string& text, uint16_t port, ResolvedAddress* out);

class Resolver {
 public:
  using Callback = std::function<void(absl::StatusOr<std::vector<ResolvedAddress>>)>;
  Resolver();
  ~Resolver();  // joins; pending requests get a Cancelled status
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Resolves host:port (TCP). `done` runs on the resolver thread (or inline for literals):
  // post it to your worker. Errors: "cannot resolve HOST: <reason>".
  void Resolve(const std::string& host, uint16_t port, Callback done);

 private:
  struct Request {
    std::string host;
    uint16_t port;
    Callback done;
  };
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace salvo
