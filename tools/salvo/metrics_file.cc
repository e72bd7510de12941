// Periodic metrics file for node_exporter's textfile collector (see metrics_file.h).
#include "tools/salvo/metrics_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/metrics/salvo_metrics.h"

namespace salvo {

namespace {

[[nodiscard]] absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat("metrics file ", path, ": ", what, ": ",
                                             std::strerror(errno)));
}

// Writes `text` to path.tmp.<pid> and renames it over `path`.
[[nodiscard]] absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create " + tmp, path);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status st = Errno("write", path);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    absl::Status st = Errno("close", path);
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status st = Errno("rename", path);
    ::unlink(tmp.c_str());
    return st;
  }
  return absl::OkStatus();
}

}  // namespace

MetricsFileWriter::MetricsFileWriter(std::string path, absl::Duration interval, Render render)
    : path_(std::move(path)), interval_(interval), render_(std::move(render)) {}

absl::StatusOr<std::unique_ptr<MetricsFileWriter>> MetricsFileWriter::Start(
    const std::string& path, absl::Duration interval, Render render) {
  if (path.empty()) return absl::InvalidArgumentError("metrics file: empty path");
  if (interval < absl::Milliseconds(10)) interval = absl::Milliseconds(10);
  if (!render) render = [] { return metrics::MetricsText(); };
  std::unique_ptr<MetricsFileWriter> w(new MetricsFileWriter(path, interval, std::move(render)));
  if (absl::Status st = w->WriteNow(); !st.ok()) {
    w->stopped_ = true;
    return st;
  }
  w->thread_ = std::thread([p = w.get()] { p->Loop(); });
  return w;
}

MetricsFileWriter::~MetricsFileWriter() { (void)Stop(); }

absl::Status MetricsFileWriter::WriteNow() {
  std::lock_guard<std::mutex> wl(write_mu_);
  absl::Status st = WriteAtomically(path_, render_());
  std::lock_guard<std::mutex> l(mu_);
  last_ = st;
  if (st.ok()) ++writes_;
  return st;
}

uint64_t MetricsFileWriter::writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return writes_;
}

void MetricsFileWriter::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, absl::ToChronoMilliseconds(interval_), [this] { return stop_; });
    if (stop_) break;
    l.unlock();
    (void)WriteNow();  // a failed write is retried next period; Stop() reports the last status
    l.lock();
  }
}

absl::Status MetricsFileWriter::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return last_;
    stopped_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return WriteNow();
}

}  // namespace salvo
