// libmicrohttpd glue for the daemon's HTTP listeners. See http_server.h.
#include "tools/salvo/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "shard/blocking_pool.h"
#include "shard/listen_address.h"
#include "tools/salvo/header_deadline.h"

namespace salvo {

// GnuTLS priorities: TLS 1.2 and 1.3 only.
constexpr char kTlsPriorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
constexpr size_t kMaxPemBytes = 256 * 1024;

// The pool of Options::blocking requests. Run() suspends the connection and queues the handler;
// the job stores the reply and resumes the connection, whose next access callback sends it.
// Once Stop() began nothing more is queued (the caller handles the request on its own thread),
// and Stop() returns when every queued job has run, so no connection is left suspended when the
// listeners stop (libmicrohttpd forbids that).
class HttpServer::Blocking {
 public:
  Blocking(std::function<bool(std::string_view)> accepts, size_t threads)
      : accepts_(std::move(accepts)), pool_(threads == 0 ? 1 : threads) {}
  bool Accepts(std::string_view path) const { return accepts_(path); }
  // False when stopping (nothing was done).
  bool Run(MHD_Connection* conn, std::function<void()> job) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    MHD_suspend_connection(conn);
    pool_.Submit(std::move(job));
    return true;
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    pool_.Drain();
  }

 private:
  std::function<bool(std::string_view)> accepts_;
  std::mutex mu_;
  bool stopping_ = false;  // guarded by mu_
  BlockingPool pool_;
};

class HttpServer::Listener {
 public:
  Listener(const HttpConfig& config, Handler handler, bool tls, Blocking* blocking)
      : config_(config), handler_(std::move(handler)), tls_(tls), blocking_(blocking),
        deadline_(config.timeout) {}
  ~Listener() { Stop(); }

  // Binds and listens on `listen` (`what` names the config key in errors).
  [[nodiscard]] absl::Status Open(const std::string& listen, std::string_view what);
  // Starts a daemon on the socket (TLS: with this certificate and key); the previous one stops
  // accepting and is stopped once its connections are gone (or at Stop()).
  [[nodiscard]] absl::Status StartDaemon(std::string cert_pem, std::string key_pem);
  void Stop();
  int port() const { return port_; }

  const Handler& handler() const { return handler_; }
  Blocking* blocking() const { return blocking_; }
  uint64_t max_body() const { return config_.max_body_bytes; }
  HeaderDeadline& deadline() { return deadline_; }

 private:
  struct Instance {
    MHD_Daemon* daemon = nullptr;
    int fd = -1;            // a dup of the listening socket: what this daemon may close
    std::string cert, key;  // kept while the daemon runs
  };
  void StopIdleRetired();
  static void StopInstance(Instance& inst);

  const HttpConfig& config_;
  Handler handler_;
  const bool tls_;
  Blocking* const blocking_;  // null: every request on the listener threads
  int fd_ = -1;
  int family_ = AF_INET;
  int port_ = 0;
  std::unique_ptr<Instance> current_;
  std::vector<std::unique_ptr<Instance>> retired_;  // quiesced: serving what they had
  HeaderDeadline deadline_;  // of every daemon's connections
};

namespace {

// libmicrohttpd is given only a certificate and key that OpenSSL reads and that match, so a bad
// renewal is refused with a clear message and the running daemon is never touched.
absl::Status CheckCertificateAndKey(const std::string& cert_pem, const std::string& key_pem) {
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(cb);
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(kb);
  absl::Status st;
  if (cert == nullptr) st = absl::InvalidArgumentError("tls_cert_file holds no PEM certificate");
  else if (key == nullptr) st = absl::InvalidArgumentError("tls_key_file holds no PEM private key");
  else if (X509_check_private_key(cert, key) != 1)
    st = absl::InvalidArgumentError("the key does not match the certificate");
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return st;
}

struct ConnState {
  std::string body;
  bool too_large = false;
  std::string client_ip;
  // A blocking request's reply, stored by the pool thread before it resumes the connection.
  std::optional<HttpResponse> reply;
};

MHD_Result Send(MHD_Connection* conn, const HttpResponse& r) {
  MHD_Response* resp = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  for (const auto& [k, v] : r.headers) {
    if (HasLineBreak(k) || HasLineBreak(v)) continue;  // never a header injection
    MHD_add_response_header(resp, k.c_str(), v.c_str());
  }
  MHD_Result rc = MHD_queue_response(conn, static_cast<unsigned>(r.status), resp);
  MHD_destroy_response(resp);
  return rc;
}

MHD_Result Dispatch(HttpServer::Listener* l, MHD_Connection* conn, const char* url,
                    const char* method, ConnState* st) {
  if (st->reply) return Send(conn, *st->reply);  // resumed: the pool handled it
  HttpRequest req;
  req.method = method;
  req.path = url;
  req.header = [conn](std::string_view name) -> std::string_view {
    std::string n(name);
    const char* v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, n.c_str());
    return v ? std::string_view(v) : std::string_view();
  };
  req.body = st->body;
  req.body_too_large = st->too_large;
  char ip[INET6_ADDRSTRLEN] = "";
  if (const MHD_ConnectionInfo* ci =
          MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) {
    const sockaddr* sa = ci->client_addr;
    if (sa != nullptr && sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, ip, sizeof ip);
    else if (sa != nullptr && sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, ip, sizeof ip);
  }
  st->client_ip = ip;
  req.client_ip = st->client_ip;
  HttpServer::Blocking* b = l->blocking();
  if (b != nullptr && !st->too_large && b->Accepts(req.path)) {
    // While the connection is suspended libmicrohttpd keeps the url, method, headers and our
    // ConnState (freed in Completed, after the reply): the request's views stay valid.
    if (b->Run(conn, [l, conn, st, req] {
          st->reply = l->handler()(req);
          MHD_resume_connection(conn);
        }))
      return MHD_YES;
  }
  return Send(conn, l->handler()(req));
}

MHD_Result Access(void* cls, MHD_Connection* conn, const char* url, const char* method,
                  const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                  void** con_cls) {
  auto* l = static_cast<HttpServer::Listener*>(cls);
  auto* st = static_cast<ConnState*>(*con_cls);
  if (!st) {
    l->deadline().HeadReceived(conn);
    st = new ConnState;
    *con_cls = st;
    const char* cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(cl, &n) || n > l->max_body()) {
        st->too_large = true;  // refuse before reading the body
        return Dispatch(l, conn, url, method, st);
      }
      st->body.reserve(n);
    }
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    if (!st->too_large) {
      if (st->body.size() + *upload_data_size > l->max_body()) {
        st->too_large = true;
        st->body.clear();
        st->body.shrink_to_fit();
      } else {
        st->body.append(upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  return Dispatch(l, conn, url, method, st);
}

void Completed(void* cls, MHD_Connection* conn, void** con_cls, MHD_RequestTerminationCode) {
  static_cast<HttpServer::Listener*>(cls)->deadline().RequestDone(conn);
  delete static_cast<ConnState*>(*con_cls);
  *con_cls = nullptr;
}

void ConnectionEvent(void* cls, MHD_Connection* conn, void**, MHD_ConnectionNotificationCode code) {
  HeaderDeadline& d = static_cast<HttpServer::Listener*>(cls)->deadline();
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    d.Closed(conn);
  } else if (const MHD_ConnectionInfo* info =
                 MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)) {
    d.Started(conn, info->connect_fd);
  }
}

}  // namespace

absl::Status HttpServer::Listener::Open(const std::string& listen, std::string_view what) {
  sockaddr_storage ss;
  socklen_t len = 0;
  RETURN_IF_ERROR(ParseListenAddress(listen, what, &ss, &len));
  family_ = ss.ss_family;
  fd_ = ::socket(family_, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return absl::InternalError(absl::StrCat(Av(what), ": socket(): ", std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd_, 1024) != 0)
    return absl::UnavailableError(absl::StrCat(Av(what), " \"", listen, "\": cannot listen (",
                                               std::strerror(errno), ")"));
  sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen) == 0)
    port_ = ntohs(bound.ss_family == AF_INET6
                      ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                      : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  return absl::OkStatus();
}

absl::Status HttpServer::Listener::StartDaemon(std::string cert_pem, std::string key_pem) {
  if (tls_) RETURN_IF_ERROR(CheckCertificateAndKey(cert_pem, key_pem));
  auto inst = std::make_unique<Instance>();
  // Each daemon gets its own descriptor of the socket: one that fails to start or stops closes
  // only that, never the socket the others accept on.
  inst->fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (inst->fd < 0) return absl::InternalError(absl::StrCat("dup(): ", std::strerror(errno)));
  inst->cert = std::move(cert_pem);
  inst->key = std::move(key_pem);
  // MHD_USE_ITC: needed by MHD_quiesce_daemon (certificate reload).
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ITC;
  if (blocking_ != nullptr) flags |= MHD_ALLOW_SUSPEND_RESUME;
  if (family_ == AF_INET6) flags |= MHD_USE_IPv6;
  if (tls_) flags |= MHD_USE_TLS;
  const unsigned int threads = config_.threads == 0 ? 1 : config_.threads;
  unsigned int timeout = static_cast<unsigned int>(absl::ToInt64Seconds(config_.timeout));
  if (timeout == 0) timeout = 1;
  // Options common to both kinds; the TLS ones are appended before MHD_OPTION_END.
  std::vector<MHD_OptionItem> opts = {
      {MHD_OPTION_LISTEN_SOCKET, inst->fd, nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, threads, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, timeout, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, 20000, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, config_.max_connections_per_ip, nullptr},
      // libmicrohttpd zeroes a connection's whole memory pool at every keep-alive request: 64 KB
      // cost 12 % of the CPU of a click redirect. Request line and headers must fit in 16 KB
      // (the header size bound); bodies are copied out of it as they arrive.
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Completed), this},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&ConnectionEvent), this},
  };
  if (tls_) {
    opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, inst->cert.data()});
    opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, inst->key.data()});
    opts.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(kTlsPriorities)});
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});
  inst->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Access, this, MHD_OPTION_ARRAY,
                                  opts.data(), MHD_OPTION_END);
  if (inst->daemon == nullptr)
    return absl::InvalidArgumentError(
        tls_ ? "cannot start the HTTPS listener (certificate or key unusable, or mismatched?)"
             : "cannot start the HTTP listener");
  if (current_) {
    // The new daemon accepts already: the old one stops accepting and serves what it has.
    MHD_quiesce_daemon(current_->daemon);
    retired_.push_back(std::move(current_));
  }
  current_ = std::move(inst);
  StopIdleRetired();
  return absl::OkStatus();
}

void HttpServer::Listener::StopIdleRetired() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    const MHD_DaemonInfo* info =
        MHD_get_daemon_info((*it)->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    if (info != nullptr && info->num_connections == 0) {
      StopInstance(**it);
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
}

void HttpServer::Listener::StopInstance(Instance& inst) {
  MHD_quiesce_daemon(inst.daemon);  // a no-op when retired; the descriptor is closed here
  MHD_stop_daemon(inst.daemon);
  ::close(inst.fd);
}

void HttpServer::Listener::Stop() {
  for (auto& r : retired_) StopInstance(*r);
  retired_.clear();
  if (current_) {
    StopInstance(*current_);
    current_.reset();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool PlainListenerServes(std::string_view path, bool plain_tracking) {
  if (path == "/healthz" || path == "/metrics") return true;
  return plain_tracking && (absl::StartsWith(Av(path), "/c/") || absl::StartsWith(Av(path), "/o/") ||
                            absl::StartsWith(Av(path), "/u/"));
}

namespace {

[[nodiscard]] absl::StatusOr<std::string> ReadPem(const std::string& path, std::string_view key) {
  auto text = ReadFile(path, kMaxPemBytes, "PEM file");
  if (!text.ok())
    return absl::FailedPreconditionError(absl::StrCat("[http] ", Av(key), ": ", text.status().message()));
  return *text;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpConfig& config,
                                                              Handler handler, Options options) {
  std::unique_ptr<HttpServer> srv(new HttpServer(config));
  const HttpConfig& c = srv->config_;
  if (options.blocking)
    srv->blocking_ = std::make_unique<Blocking>(std::move(options.blocking), options.blocking_threads);
  Blocking* blocking = srv->blocking_.get();
  if (!c.tls_listen.empty()) {
    srv->tls_ = std::make_unique<Listener>(c, handler, /*tls=*/true, blocking);
    RETURN_IF_ERROR(srv->tls_->Open(c.tls_listen, "[http] tls_listen"));
    RETURN_IF_ERROR(srv->ReloadTls());
  }
  if (!c.listen.empty()) {
    Handler plain = handler;
    if (srv->tls_) {
      const bool tracking = c.plain_tracking;
      plain = [handler, tracking](const HttpRequest& r) {
        if (PlainListenerServes(r.path, tracking)) return handler(r);
        HttpResponse resp;
        resp.status = 404;
        resp.body = "not served over plain HTTP; use HTTPS\n";
        return resp;
      };
    }
    srv->plain_ = std::make_unique<Listener>(c, std::move(plain), /*tls=*/false, blocking);
    RETURN_IF_ERROR(srv->plain_->Open(c.listen, "[http] listen"));
    RETURN_IF_ERROR(srv->plain_->StartDaemon("", ""));
  }
  return srv;
}

absl::Status HttpServer::ReloadTls() {
  if (!tls_) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(reload_mu_);
  ASSIGN_OR_RETURN(std::string cert, ReadPem(config_.tls_cert_file, "tls_cert_file"));
  ASSIGN_OR_RETURN(std::string key, ReadPem(config_.tls_key_file, "tls_key_file"));
  absl::Status st = tls_->StartDaemon(std::move(cert), std::move(key));
  if (!st.ok())
    return absl::InvalidArgumentError(absl::StrCat("[http] tls_cert_file ", config_.tls_cert_file,
                                                   " / tls_key_file ", config_.tls_key_file, ": ",
                                                   st.message()));
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (blocking_) blocking_->Stop();  // no connection stays suspended
  if (tls_) tls_->Stop();
  if (plain_) plain_->Stop();
}

int HttpServer::port() const { return plain_ ? plain_->port() : 0; }
int HttpServer::tls_port() const { return tls_ ? tls_->port() : 0; }

HttpServer::HttpServer(const HttpConfig& config) : config_(config) {}
HttpServer::~HttpServer() { Stop(); }

}  // namespace salvo
