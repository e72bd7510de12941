// Listen addresses from config ("127.0.0.1:8025", "[::1]:9464") for the HTTP listeners of
// `salvo serve` ([http] listen) and `salvo send` ([metrics] listen).
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace salvo {

// Parses `listen` into *ss / *len (IPv4 or IPv6 literal, port 0..65535). Errors start with
// `<what> "<listen>": ` so they name the config key, e.g. `[http] listen "x": bad port`.
[[nodiscard]] absl::Status ParseListenAddress(const std::string& listen, std::string_view what,
                                sockaddr_storage* ss, socklen_t* len);

}  // namespace salvo
