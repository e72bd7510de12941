// The HTTP listeners of `salvo serve` on libmicrohttpd: [http] listen (plain HTTP) and
// tls_listen (HTTPS, libmicrohttpd's GnuTLS, TLS 1.2+), each a thread pool with keep-alive. They
// only collect the request (bounded body) and hand it to a handler (FeedbackService::Handle and
// whatever routes are added there); they parse nothing themselves. With both listeners, the
// plain one answers only /healthz and /metrics (also /c/ /o/ /u/ with plain_tracking).
// Limits on every endpoint: max_connections_per_ip concurrent connections per client IP, request
// line and headers within a 16 KB connection buffer (larger: refused by libmicrohttpd) and
// within [http] timeout of connecting or of the previous request (HeaderDeadline: slowloris), a
// connection idle for [http] timeout is closed, bodies larger than max_body_bytes are refused
// with 413 without being buffered.
// Certificate reload (ReloadTls, on SIGHUP): the listening socket is ours (bound once); a new
// libmicrohttpd daemon with the new certificate starts on the same socket, then the old one is
// quiesced (stops accepting, keeps serving the connections it has) and stopped once it has none.
// The port never closes, so nothing is refused during a reload.
// Blocking requests (Options::blocking, e.g. the API, which waits for the queue's fsync) run on a
// pool of their own threads while libmicrohttpd holds their connection suspended: a listener
// thread never waits for a disk, so the other connections it serves (clicks, other API clients)
// go on meanwhile, and concurrent API requests reach the store together and share one fsync
// (store/group_commit.h) instead of queueing behind each other per listener thread.
// Trust: requests are hostile.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "tools/salvo/http_reply.h"

namespace salvo {

struct HttpServerOptions {
  // Requests whose path this accepts are handled on the blocking pool (see above); null: none.
  std::function<bool(std::string_view path)> blocking;
  size_t blocking_threads = 16;  // the pool's size: how many such requests run at once
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  using Options = HttpServerOptions;

  // Starts the configured listeners ("host:port"; port 0 picks a free one). Errors name the
  // config key and address, or the certificate file.
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpConfig& config, Handler handler,
                                                           Options options = {});
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops accepting, lets the blocking requests in progress finish (their replies are sent), then
  // closes every connection. Idempotent.
  void Stop();
  // Re-reads tls_cert_file / tls_key_file: new connections get the new certificate, the
  // listener stays. On error the old certificate stays in use. No-op without tls_listen.
  [[nodiscard]] absl::Status ReloadTls();

  int port() const;      // the plain listener's port (0: none)
  int tls_port() const;  // the HTTPS listener's port (0: none)

  class Listener;  // one listening socket and its libmicrohttpd daemon(s); http_server.cc
  class Blocking;  // the pool for Options::blocking requests; http_server.cc

 private:
  explicit HttpServer(const HttpConfig& config);
  const HttpConfig config_;
  std::unique_ptr<Blocking> blocking_;  // before the listeners: outlives them
  std::unique_ptr<Listener> plain_, tls_;
  std::mutex reload_mu_;
};

// Whether the plain listener serves `path` while an HTTPS listener runs.
bool PlainListenerServes(std::string_view path, bool plain_tracking);

}  // namespace salvo
