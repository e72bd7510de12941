// The HTTP/1.1 listener of `salvo serve` ([http] listen, threads, max_body_bytes, timeout) on
// libmicrohttpd: a thread pool with keep-alive and per-connection timeouts. It only collects the
// request (bounded body) and hands it to a handler (FeedbackService::Handle); it parses nothing
// itself. Trust: requests are hostile; bodies larger than max_body_bytes are refused with 413
// without being buffered.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "tools/salvo/feedback_service.h"

struct MHD_Daemon;

namespace salvo {

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Listens on config.listen ("host:port"; port 0 picks a free one). Errors name the address.
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpConfig& config, Handler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Stop();
  int port() const { return port_; }

  // Internal (libmicrohttpd callbacks).
  const Handler& handler() const { return handler_; }
  uint64_t max_body() const { return max_body_; }

 private:
  HttpServer(Handler h, uint64_t max_body) : handler_(std::move(h)), max_body_(max_body) {}
  Handler handler_;
  uint64_t max_body_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace salvo
