// What `salvo send` and `salvo serve` call to export metrics: applies [metrics] to the
// process-wide registry, starts the /metrics listener ([metrics] listen; `salvo send` only) and
// the --metrics-file writer. Usage in a command:
//   std::string metrics_file;
//   AddMetricsFileOption(cmd, &metrics_file);
//   ...
//   ASSIGN_OR_RETURN(auto exporter, MetricsExport::Start(config, ctx.Path(metrics_file),
//                                                        /*serve_http=*/true));
//   ... run ...
//   exporter->Stop();   // last file write (also done by the destructor)
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config/config.h"
#include "tools/salvo/metrics_file.h"
#include "tools/salvo/metrics_http.h"

namespace CLI {
class App;
}

namespace salvo {

// Adds `--metrics-file F` to `cmd` (help text shared by send and serve).
void AddMetricsFileOption(CLI::App* cmd, std::string* path);

class MetricsExport {
 public:
  // `metrics_file`: absolute path or empty (no file). `serve_http`: listen on
  // config.metrics.listen when it is set. Errors name the address or the file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsExport>> Start(
      const Config& config, const std::string& metrics_file, bool serve_http,
      absl::Duration file_interval = absl::Seconds(5));
  ~MetricsExport();

  // Stops the listener and writes the file one last time. Idempotent.
  [[nodiscard]] absl::Status Stop();
  int http_port() const { return http_ ? http_->port() : 0; }

 private:
  MetricsExport() = default;
  std::unique_ptr<MetricsHttpServer> http_;
  std::unique_ptr<MetricsFileWriter> file_;
};

}  // namespace salvo
