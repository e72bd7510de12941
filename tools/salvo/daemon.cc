// salvo serve: store owner, HTTP listener, admin socket. See daemon.h.
#include "tools/salvo/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/status_macros.h"
#include "engine/base/stop_signals.h"
#include "engine/config/tracking_keys.h"
#include "engine/metrics/salvo_metrics.h"
#include "shard/submission_server.h"
#include "store/run_control.h"
#include "store/suppression_store.h"
#include "tools/salvo/admin_protocol.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

// Output of a forwarded command: each write becomes one frame on the admin socket.
struct FrameCookie {
  int fd;
  char type;
  std::mutex* mu;
};

ssize_t FrameWrite(void* c, const char* buf, size_t size) {
  auto* ck = static_cast<FrameCookie*>(c);
  std::lock_guard<std::mutex> lock(*ck->mu);
  // A client that went away does not stop the command (a send keeps running in the daemon).
  (void)SendFrame(ck->fd, ck->type, std::string_view(buf, size));
  return static_cast<ssize_t>(size);
}

int FrameClose(void*) { return 0; }

FILE* FrameFile(FrameCookie* ck) {
  cookie_io_functions_t io{nullptr, &FrameWrite, nullptr, &FrameClose};
  FILE* f = fopencookie(ck, "w", io);
  if (f) setvbuf(f, nullptr, _IOLBF, 8192);
  return f;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const Config& config, Options options) {
  std::unique_ptr<Daemon> d(new Daemon(config, std::move(options)));
  ASSIGN_OR_RETURN(d->store_, Store::Open(StoreOptionsFor(config)));
  metrics::Metrics().Configure(config.metrics);
  if (config.tracking)
    d->keys_.Set(KeyRingSlot::MakeRing(config.tracking->secret, config.tracking->previous_secrets));
  ASSIGN_OR_RETURN(d->feedback_, FeedbackService::Create(config, d->store_.get(),
                                                         /*webhook_auth=*/true, &d->keys_));
  for (const std::string& w : SecurityWarnings(config))
    std::fprintf(d->options_.log, "salvo serve: warning: %s\n", w.c_str());
  std::vector<std::string> closed = d->feedback_->ClosedProviders();
  if (!closed.empty())
    std::fprintf(d->options_.log,
                 "salvo serve: webhooks refused (401) until a signing key or basic auth is "
                 "configured: %s\n",
                 absl::StrJoin(closed, ", ").c_str());
  if (!d->feedback_->tracking_enabled())
    std::fprintf(d->options_.log,
                 "salvo serve: warning: no [tracking] secret_file: /c/, /o/ and /u/ answer 404\n");
  // The suppression list changes through webhooks, bounces, one-click and CLI commands: read its
  // size (kept in the store, O(1)) at every scrape and metrics-file write.
  Store* store = d->store_.get();
  auto refresh = [store] {
    if (auto n = SuppressionStore(store).Count(); n.ok())
      metrics::Metrics().suppression_list_size->WithLabels({}).Set(static_cast<double>(*n));
  };
  refresh();
  metrics::SetScrapeHook(refresh);
  RETURN_IF_ERROR(d->StartAdmin());
  d->scheduler_ = std::make_unique<Scheduler>(config, store, d->options_.log);
  d->scheduler_->Start();
  FILE* log = d->options_.log;
  QueueDeliveryOptions qo;
  qo.log = [log](std::string_view line) {
    std::fprintf(log, "salvo serve: %.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(log);
  };
  qo.keys = &d->keys_;
  ASSIGN_OR_RETURN(d->queue_, QueueDelivery::Start(config, store, std::move(qo)));
  ASSIGN_OR_RETURN(d->api_, ApiService::Create(config, store, &d->keys_));
  FeedbackService* fs = d->feedback_.get();
  ApiService* api = d->api_.get();
  // The API waits for the queue's fsync: on its own threads, so that concurrent requests share
  // one fsync and the listener threads go on serving clicks meanwhile (http_server.h).
  HttpServer::Options ho;
  ho.blocking = [](std::string_view path) { return ApiService::Serves(path); };
  ASSIGN_OR_RETURN(d->http_, HttpServer::Start(
                                 config.http,
                                 [fs, api](const HttpRequest& r) {
                                   return ApiService::Serves(r.path) ? api->Handle(r) : fs->Handle(r);
                                 },
                                 std::move(ho)));
  ASSIGN_OR_RETURN(d->metrics_, MetricsExport::Start(config, d->options_.metrics_file,
                                                     /*serve_http=*/false));
  RETURN_IF_ERROR(d->StartSubmission());
  std::fprintf(d->options_.log,
               "salvo serve: data_dir %s, http on port %d, https on port %d, admin socket %s\n",
               config.data_dir.c_str(), d->http_port(), d->https_port(), d->socket_path_.c_str());
  std::fflush(d->options_.log);
  return d;
}

absl::Status Daemon::StartSubmission() {
  if (!config_.submission) return absl::OkStatus();
  char host[256] = "localhost";
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  ASSIGN_OR_RETURN(submission_, SubmissionServer::Start(config_, store_.get(), host, options_.log));
  const bool tls = !config_.submission->tls_cert_file.empty();
  std::string ports;
  if (submission_->port() != 0)
    ports = absl::StrCat("port ", submission_->port(), tls ? " (STARTTLS)" : " (no TLS)");
  if (submission_->tls_port() != 0)
    absl::StrAppend(&ports, ports.empty() ? "" : ", ", "implicit TLS port ", submission_->tls_port());
  std::fprintf(options_.log, "salvo serve: smtp submission on %s\n", ports.c_str());
  if (!tls)
    std::fprintf(options_.log,
                 "salvo serve: warning: [submission] has no tls_cert_file: AUTH credentials "
                 "cross the network in clear text\n");
  return absl::OkStatus();
}

int Daemon::submission_port() const { return submission_ ? submission_->port() : 0; }
int Daemon::submission_tls_port() const { return submission_ ? submission_->tls_port() : 0; }

absl::Status Daemon::StartAdmin() {
  socket_path_ = AdminSocketPath(config_.data_dir);
  sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path)
    return absl::InvalidArgumentError(absl::StrCat("admin socket path ", socket_path_,
                                                   " is too long for a unix socket (max ",
                                                   sizeof addr.sun_path - 1, " bytes)"));
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  ::unlink(socket_path_.c_str());  // a stale socket: we hold the data_dir lock, so it is ours
  admin_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (admin_fd_ < 0) return absl::InternalError("admin socket: socket() failed");
  mode_t old = ::umask(0177);
  int rc = ::bind(admin_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(admin_fd_, 64) != 0)
    return absl::InternalError(absl::StrCat("admin socket ", socket_path_, ": ", std::strerror(errno)));
  admin_thread_ = std::thread([this] { AdminLoop(); });
  return absl::OkStatus();
}

void Daemon::AdminLoop() {
  while (!stopping_.load()) {
    pollfd p{admin_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r <= 0) continue;
    int fd = ::accept4(admin_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++active_;
    }
    std::thread([this, fd] {
      ServeAdmin(fd);
      ::close(fd);
      std::lock_guard<std::mutex> lock(mu_);
      --active_;
      cv_.notify_all();
    }).detach();
  }
}

void Daemon::ServeAdmin(int fd) {
  char hdr[4];
  if (!RecvAll(fd, hdr, 4)) return;
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(static_cast<uint8_t>(hdr[i])) << (8 * i);
  if (len > kMaxAdminRequest) return;
  std::string payload(len, '\0');
  if (!RecvAll(fd, payload.data(), len)) return;
  auto req = DecodeAdminRequest(payload);
  std::mutex out_mu;
  auto exit_with = [&](int code) {
    std::string c(4, '\0');
    for (int i = 0; i < 4; ++i) c[i] = static_cast<char>((static_cast<uint32_t>(code) >> (8 * i)) & 0xff);
    std::lock_guard<std::mutex> lock(out_mu);
    SendFrame(fd, 'x', c);
  };
  if (!req.ok() || req->argv.empty()) {
    SendFrame(fd, 'e', "salvo serve: malformed admin request\n");
    exit_with(2);
    return;
  }
  FrameCookie out_ck{fd, 'o', &out_mu}, err_ck{fd, 'e', &out_mu};
  FILE* out = FrameFile(&out_ck);
  FILE* err = FrameFile(&err_ck);
  FILE* in = req->has_stdin && !req->stdin_data.empty()
                 ? fmemopen(req->stdin_data.data(), req->stdin_data.size(), "r")
                 : fopen("/dev/null", "r");
  int code = 1;
  if (out && err && in) {
    CommandContext ctx;
    ctx.out = out;
    ctx.err = err;
    ctx.in = in;
    ctx.tty = false;
    ctx.cwd = req->cwd;
    ctx.argv = req->argv;
    ctx.daemon = this;
    ctx.shared_store = store_.get();
    code = RunCli(ctx.argv, ctx);
  }
  if (out) std::fclose(out);
  if (err) std::fclose(err);
  if (in) std::fclose(in);
  exit_with(code);
}

int Daemon::Run() {
  sigset_t set = StopSignals();
  sigaddset(&set, SIGHUP);  // reload the tracking keys and the TLS certificate
  int sig = 0;
  for (;;) {
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    auto keys = ReloadTrackingKeys();
    if (keys.ok())
      std::fprintf(options_.log,
                   "salvo serve: SIGHUP: tracking keys reloaded (%zu verify); key %08x signs "
                   "queued mail's links, confirm links and bounce tags from now on\n",
                   *keys, keys_.Get()->current_key_id());
    else
      LogIfError(keys.status(), "reloading the tracking keys (the old ones stay in use)");
    // A renewed certificate is served to new connections; the listener stays.
    if (absl::Status st = http_->ReloadTls(); !st.ok())
      LogIfError(st, "reloading the TLS certificate (the old one stays in use)");
    else if (!config_.http.tls_listen.empty())
      std::fprintf(options_.log, "salvo serve: SIGHUP: TLS certificate reloaded from %s\n",
                   config_.http.tls_cert_file.c_str());
    std::fflush(options_.log);
  }
  std::fprintf(options_.log, "salvo serve: signal %d, stopping\n", sig);
  std::fflush(options_.log);
  Shutdown();
  return 0;
}

absl::StatusOr<size_t> Daemon::ReloadTrackingKeys() {
  if (!config_.tracking || config_.tracking->secret_file.empty() || keys_.Get() == nullptr)
    return absl::FailedPreconditionError("no [tracking] secret_file to reload");
  TrackingConfig t = *config_.tracking;
  RETURN_IF_ERROR(LoadTrackingKeys(&t));
  std::shared_ptr<const TokenKeyRing> ring = KeyRingSlot::MakeRing(t.secret, t.previous_secrets);
  if (ring == nullptr) return absl::FailedPreconditionError("the [tracking] secret_file is empty");
  keys_.Set(std::move(ring));
  return 1 + t.previous_secrets.size();
}

void Daemon::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  stopping_.store(true);
  if (http_) http_->Stop();
  if (submission_) submission_->Stop();  // answers the Enqueues in progress; before the store closes
  if (admin_thread_.joinable()) admin_thread_.join();
  if (admin_fd_ >= 0) {
    ::close(admin_fd_);
    ::unlink(socket_path_.c_str());
    admin_fd_ = -1;
  }
  // The calendar's runs pause (resumed when the daemon starts again), then the sends started by
  // commands pause with their progress saved; then in-flight commands get time to end.
  if (scheduler_) {
    for (const std::string& c : scheduler_->Stop())
      std::fprintf(options_.log, "salvo serve: campaign %s paused; it resumes when salvo serve starts\n",
                   c.c_str());
  }
  for (const std::string& c : RunningSends(config_.data_dir))
    LogIfError(RequestCampaignControl(config_.data_dir, c, "pause", "salvo serve stopping"),
               "asking campaign " + c + " to pause");
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(30), [this] { return active_ == 0; })) {
      std::fprintf(options_.log, "salvo serve: %d command(s) still running after 30 s; exiting\n",
                   active_);
      if (store_) LogIfError(store_->Flush(), "flushing the store");
      std::fflush(nullptr);
      std::_Exit(1);
    }
  }
  // The queue's messages on the wire get their verdicts recorded; the rest waits in the store.
  if (queue_) queue_->Stop();
  // Before the store closes: the feedback service's batcher writes its queued click/open events,
  // and scrapes stop reading the store.
  metrics::SetScrapeHook(nullptr);
  feedback_.reset();
  if (metrics_) LogIfError(metrics_->Stop(), "writing the metrics file");
  if (store_) {
    LogIfError(store_->Flush(), "flushing the store");
    store_.reset();
  }
}

void Daemon::LogIfError(const absl::Status& st, const std::string& doing) {
  if (st.ok()) return;
  std::fprintf(options_.log, "salvo serve: error %s: %s\n", doing.c_str(),
               std::string(st.message()).c_str());
  std::fflush(options_.log);
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace salvo
