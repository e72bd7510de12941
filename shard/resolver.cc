// shard/: Resolver — see resolver.h.
#include "shard/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace salvo {

std::string ResolvedAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return absl::StrCat(buf, ":", ntohs(a->sin_port));
  }
  auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
  inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
  return absl::StrCat("[", buf, "]:", ntohs(a->sin6_port));
}

bool ParseIpLiteral(const std::string& text, uint16_t port, ResolvedAddress* out) {
  *out = ResolvedAddress{};
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out->addr);
  if (inet_pton(AF_INET, text.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    out->len = sizeof(sockaddr_in);
    out->family = AF_INET;
    return true;
  }
  *out = ResolvedAddress{};
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&out->addr);
  if (inet_pton(AF_INET6, text.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    out->len = sizeof(sockaddr_in6);
    out->family = AF_INET6;
    return true;
  }
  return false;
}

Resolver::Resolver() : thread_([this] { Run(); }) {}

Resolver::~Resolver() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& r : queue_) r.done(absl::CancelledError("resolver stopped"));
}

void Resolver::Resolve(const std::string& host, uint16_t port, Callback done) {
  ResolvedAddress lit;
  if (ParseIpLiteral(host, port, &lit)) {
    done(std::vector<ResolvedAddress>{lit});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({host, port, std::move(done)});
  }
  cv_.notify_one();
}

void Resolver::Run() {
  while (true) {
    Request req;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      req = std::move(queue_.front());
      queue_.pop_front();
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(req.port);
    int r = getaddrinfo(req.host.c_str(), port.c_str(), &hints, &res);
    if (r != 0) {
      req.done(absl::UnavailableError(
          absl::StrCat("cannot resolve ", req.host, ": ", gai_strerror(r))));
      continue;
    }
    std::vector<ResolvedAddress> out;
    for (addrinfo* ai = res; ai && out.size() < 16; ai = ai->ai_next) {
      if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
      ResolvedAddress a;
      memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
      a.len = ai->ai_addrlen;
      a.family = ai->ai_family;
      out.push_back(a);
    }
    freeaddrinfo(res);
    if (out.empty()) {
      req.done(absl::UnavailableError(absl::StrCat("cannot resolve ", req.host, ": no address")));
    } else {
      req.done(std::move(out));
    }
  }
}

}  // namespace salvo
