// Writes the metrics text to a file for node_exporter's textfile collector (`--metrics-file F`
// on `salvo send` and `salvo serve`): a background thread rewrites F every `interval`, and once
// more when stopped, each time by writing F.tmp.<pid> in the same directory and renaming it over
// F (readers never see a partial file).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace salvo {

class MetricsFileWriter {
 public:
  using Render = std::function<std::string()>;

  // Writes F once (so a bad path fails here, naming it) and starts the thread. `render`
  // defaults to metrics::MetricsText().
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsFileWriter>> Start(
      const std::string& path, absl::Duration interval = absl::Seconds(5), Render render = nullptr);
  // Stop() if not yet stopped.
  ~MetricsFileWriter();
  MetricsFileWriter(const MetricsFileWriter&) = delete;
  MetricsFileWriter& operator=(const MetricsFileWriter&) = delete;

  // Stops the thread and writes the file a last time. Returns the last write's status.
  [[nodiscard]] absl::Status Stop();
  // Writes the file now (atomic rename). Thread-safe.
  [[nodiscard]] absl::Status WriteNow();
  const std::string& path() const { return path_; }
  uint64_t writes() const;  // successful writes so far

 private:
  MetricsFileWriter(std::string path, absl::Duration interval, Render render);
  void Loop();

  const std::string path_;
  const absl::Duration interval_;
  const Render render_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool stopped_ = false;
  uint64_t writes_ = 0;
  absl::Status last_;
  std::mutex write_mu_;  // one write at a time
  std::thread thread_;
};

}  // namespace salvo
