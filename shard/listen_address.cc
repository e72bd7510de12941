#include "shard/listen_address.h"

#include <arpa/inet.h>
#include <unistd.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {

[[nodiscard]] absl::Status ParseListenAddress(const std::string& listen, std::string_view what,
                                sockaddr_storage* ss, socklen_t* len) {
  auto error = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(Av(what), " \"", listen, "\": ", Av(why)));
  };
  std::string_view s(listen);
  std::string host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return error("expected [address]:port");
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return error("expected address:port");
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  uint32_t p = 0;
  if (!absl::SimpleAtoi(Av(port), &p) || p > 65535) return error("bad port");
  std::memset(ss, 0, sizeof(*ss));
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in6);
  } else {
    return error(absl::StrCat("\"", host, "\" is not an IP address"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OpenTcpListener(const std::string& listen, std::string_view what, int* port) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (absl::Status st = ParseListenAddress(listen, what, &ss, &len); !st.ok()) return st;
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat(Av(what), ": socket: ", std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1024) != 0) {
    int e = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat(Av(what), " \"", listen, "\": cannot listen: ", std::strerror(e)));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  *port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return fd;
}

}  // namespace salvo
