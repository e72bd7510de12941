// shard/: listen addresses from config ("127.0.0.1:8025", "[::1]:9464") for the listeners of
// `salvo serve` ([http] listen, [submission] listen) and `salvo send` ([metrics] listen).
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace salvo {

// Parses `listen` into *ss / *len (IPv4 or IPv6 literal, port 0..65535). Errors start with
// `<what> "<listen>": ` so they name the config key, e.g. `[http] listen "x": bad port`.
[[nodiscard]] absl::Status ParseListenAddress(const std::string& listen, std::string_view what,
                                sockaddr_storage* ss, socklen_t* len);

// A listening TCP socket (SOCK_CLOEXEC, SO_REUSEADDR, backlog 1024) on `listen`; *port gets the
// bound port (the configured one, or the one picked for port 0). Errors name `what`.
[[nodiscard]] absl::StatusOr<int> OpenTcpListener(const std::string& listen, std::string_view what,
                                                  int* port);

}  // namespace salvo
