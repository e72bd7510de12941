// GET /metrics over HTTP for `salvo send` ([metrics] listen = "127.0.0.1:9464"), on
// libmicrohttpd. Serves only GET/HEAD /metrics (404 elsewhere, 405 for other methods); request
// bodies are refused. (`salvo serve` answers /metrics on its own [http] listener with
// metrics::MetricsText().)
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace salvo {

class MetricsHttpServer {
 public:
  using Render = std::function<std::string()>;

  // Listens on `listen` ("host:port", IPv4 or "[v6]:port"; port 0 picks a free one) and serves
  // `render()` (default: metrics::MetricsText()) at /metrics. Errors name the address.
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                                  Render render = nullptr);
  ~MetricsHttpServer();  // stops the listener
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }
  // The text served (what a scrape would get now).
  std::string Text() const { return render_(); }

 private:
  explicit MetricsHttpServer(Render render) : render_(std::move(render)) {}
  Render render_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace salvo
