// The two HTTP requests of `salvo preflight`: the sample message POSTed to rspamd's /checkv2
// (plain HTTP, normally loopback) and an HTTPS request to the tracking host, verifying its
// certificate against the system CA store (SSL_CERT_FILE honoured). Blocking, one request each,
// bounded in time and in the bytes read.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace salvo {

// POST `body` to http://HOST:PORT/PATH (url without path: `path` is used). Returns the response
// body of a 200; other statuses and I/O failures are errors naming the url.
[[nodiscard]] absl::StatusOr<std::string> HttpPost(const std::string& url, const std::string& path,
                                                   std::string_view body, absl::Duration timeout);

struct HttpsProbe {
  enum class State { kOk, kUnreachable, kCertificate, kError } state = State::kError;
  std::string detail;  // the status line, or what failed
};
// HEAD / on https://host:port (connect to `address`, SNI and verification for `host`).
HttpsProbe ProbeHttps(const std::string& host, const std::string& address, uint16_t port,
                      absl::Duration timeout);

}  // namespace salvo
