// Starting and stopping the metrics exporters of a command (see metrics_export.h).
#include "tools/salvo/metrics_export.h"

#include <CLI/CLI.hpp>

#include "engine/metrics/salvo_metrics.h"

namespace salvo {

void AddMetricsFileOption(CLI::App* cmd, std::string* path) {
  cmd->add_option("--metrics-file", *path,
                  "Write Prometheus metrics to this file every few seconds and at exit "
                  "(node_exporter textfile collector; atomic rename)");
}

absl::StatusOr<std::unique_ptr<MetricsExport>> MetricsExport::Start(
    const Config& config, const std::string& metrics_file, bool serve_http,
    absl::Duration file_interval) {
  metrics::Metrics().Configure(config.metrics);
  std::unique_ptr<MetricsExport> e(new MetricsExport());
  if (serve_http && !config.metrics.listen.empty()) {
    auto http = MetricsHttpServer::Start(config.metrics.listen);
    if (!http.ok()) return http.status();
    e->http_ = std::move(*http);
  }
  if (!metrics_file.empty()) {
    auto file = MetricsFileWriter::Start(metrics_file, file_interval);
    if (!file.ok()) return file.status();
    e->file_ = std::move(*file);
  }
  return e;
}

MetricsExport::~MetricsExport() { (void)Stop(); }

absl::Status MetricsExport::Stop() {
  http_.reset();
  absl::Status st;
  if (file_) st = file_->Stop();
  return st;
}

}  // namespace salvo
