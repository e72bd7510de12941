// shard/: the SMTP submission listener — see submission_server.h.
#include "shard/submission_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/base/types.h"
#include "engine/smtp/submission_message.h"
#include "shard/listen_address.h"
#include "store/api_key_store.h"
#include "store/queue_store.h"
#include "store/suppression_store.h"

namespace salvo {
namespace {

constexpr uint32_t kRingEntries = 1024;

std::string PeerIp(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  char buf[INET6_ADDRSTRLEN] = "unknown";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    else if (ss.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

SubmissionReply Reply(int code, std::string text) {
  SubmissionReply r;
  r.code = code;
  r.text = std::move(text);
  return r;
}

}  // namespace

SubmissionServer::SubmissionServer(const Config& config, Store* store, FILE* log)
    : config_(config), store_(store), log_(log) {}

absl::StatusOr<std::unique_ptr<SubmissionServer>> SubmissionServer::Start(
    const Config& config, Store* store, std::string hostname, FILE* log) {
  const SubmissionConfig& sc = *config.submission;
  std::unique_ptr<SubmissionServer> s(new SubmissionServer(config, store, log));
  ServerSessionOptions& so = s->session_options_;
  so.hostname = sc.hostname.empty() ? std::move(hostname) : sc.hostname;
  so.max_message_bytes = sc.max_message_bytes;
  so.max_recipients = sc.max_recipients;
  if (!sc.tls_cert_file.empty()) {
    auto ctx = LoadServerTlsContext(sc.tls_cert_file, sc.tls_key_file);
    if (!ctx.ok())
      return absl::FailedPreconditionError(
          absl::StrCat(config.path, ": [submission] ", ctx.status().message()));
    s->tls_ctx_ = std::move(*ctx);
  }
  so.starttls_available = s->tls_ctx_ != nullptr;
  // Without a certificate credentials cross the network in clear: allowed (loopback tests,
  // a TLS proxy in front), and said at start by the daemon.
  so.auth_requires_tls = s->tls_ctx_ != nullptr;
  int plain_fd = -1, tls_fd = -1;
  if (!sc.listen.empty()) {
    ASSIGN_OR_RETURN(plain_fd, OpenTcpListener(sc.listen, "[submission] listen", &s->port_));
  }
  if (!sc.tls_listen.empty()) {
    auto fd = OpenTcpListener(sc.tls_listen, "[submission] tls_listen", &s->tls_port_);
    if (!fd.ok()) {
      if (plain_fd >= 0) ::close(plain_fd);
      return fd.status();
    }
    tls_fd = *fd;
  }
  SubmissionServer* self = s.get();
  if (plain_fd >= 0)
    s->plain_ = std::make_unique<TcpListener>(&s->loop_, plain_fd,
                                              [self](int fd) { self->Accept(fd, false); });
  if (tls_fd >= 0)
    s->implicit_ = std::make_unique<TcpListener>(&s->loop_, tls_fd,
                                                 [self](int fd) { self->Accept(fd, true); });
  RETURN_IF_ERROR(s->loop_.Start(kRingEntries, [self] {
    if (self->plain_) self->plain_->Arm();
    if (self->implicit_) self->implicit_->Arm();
  }));
  s->started_ = true;
  return s;
}

SubmissionServer::~SubmissionServer() { Stop(); }

void SubmissionServer::Accept(int fd, bool implicit_tls) {
  if (stopping_) {
    ::close(fd);
    return;
  }
  const uint64_t id = next_id_++;
  auto conn = std::make_unique<SubmissionConn>(this, id, implicit_tls);
  SubmissionConn* c = conn.get();
  conns_.emplace(id, std::move(conn));
  c->Start(fd, PeerIp(fd));
}

void SubmissionServer::RunBlocking(uint64_t id, Work kind, std::function<SubmissionReply()> work) {
  (kind == Work::kCheck ? checks_ : enqueues_).Submit([this, id, work = std::move(work)] {
    SubmissionReply r = work();
    loop_.Post([this, id, r = std::move(r)]() mutable {
      auto it = conns_.find(id);
      if (it != conns_.end()) it->second->OnResolved(std::move(r));
    });
  });
}

void SubmissionServer::Remove(uint64_t id) {
  conns_.erase(id);  // called from the connection's OnFinished(), its last act
}

void SubmissionServer::Log(const std::string& line) {
  std::fprintf(log_, "salvo serve: submission: %s\n", line.c_str());
  std::fflush(log_);
}

void SubmissionServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;
  loop_.Post([this] {
    stopping_ = true;
    if (plain_) plain_->Close();
    if (implicit_) implicit_->Close();
    for (auto& [id, c] : conns_) c->Shutdown();
  });
  // Enqueues in progress finish (their clients get the 250); their replies are posted.
  enqueues_.Drain();
  checks_.Drain();
  for (int i = 0; i < 100; ++i) {
    std::atomic<bool> empty{false};
    std::atomic<bool> checked{false};
    loop_.Post([this, &empty, &checked] {
      empty = conns_.empty();
      checked = true;
    });
    while (!checked) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (empty) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  loop_.StopAndJoin();
  conns_.clear();  // the ring is gone: nothing can complete into them any more
  plain_.reset();
  implicit_.reset();
}

SubmissionReply SubmissionServer::CheckAuth(const std::string& user, const std::string& password) {
  const SubmissionReply denied = Reply(535, "5.7.8 Authentication credentials invalid");
  absl::StatusOr<ApiKey> key = ApiKeyStore(store_).Verify(password);
  if (!key.ok()) {
    if (absl::IsUnauthenticated(key.status())) return denied;
    Log(absl::StrCat("cannot check credentials of \"", SanitizeForLog(user, 64),
                     "\": ", key.status().message()));
    return Reply(454, "4.7.0 Temporary authentication failure");
  }
  // The user must be the key's name and the key must allow submission; the reply does not say
  // which check failed.
  if (key->name != user || (key->scopes & kScopeSubmission) == 0) return denied;
  SubmissionReply r = Reply(235, "2.7.0 Authentication successful");
  r.key_name = key->name;
  r.key_route = key->route;
  return r;
}

SubmissionReply SubmissionServer::CheckRecipient(const std::string& address, const std::string& key) {
  absl::StatusOr<std::optional<SuppressionEntry>> e = SuppressionStore(store_).Check(key);
  if (!e.ok()) {
    Log(absl::StrCat("suppression check of ", address, " failed: ", e.status().message()));
    return Reply(451, "4.3.0 Temporary failure checking the recipient");
  }
  if (e->has_value())
    return Reply(550, absl::StrCat("5.7.1 <", address, "> is on the suppression list (",
                                   Av(SuppressionReasonName((*e)->reason)), (*e)->key[0] == '@' ? ", domain" : "",
                                   "): not sent"));
  return Reply(250, "2.1.5 Ok");
}

SubmissionReply SubmissionServer::Enqueue(Submitted m) {
  absl::StatusOr<std::optional<std::string>> header = TakeRouteHeader(&m.body);
  if (!header.ok()) return Reply(554, absl::StrCat("5.6.0 ", header.status().message()));
  absl::StatusOr<std::string> route = SubmissionRoute(m.key_name, m.key_route, *header);
  if (!route.ok()) return Reply(550, absl::StrCat("5.7.1 ", route.status().message()));
  if (config_.FindRoute(*route) == nullptr)
    return Reply(550, absl::StrCat("5.7.1 route \"", SanitizeForLog(*route, 64),
                                   "\" is not configured"));
  NewMessage msg;
  msg.route = *std::move(route);
  msg.sender = std::move(m.sender);
  msg.recipients = std::move(m.recipients);
  msg.body = std::move(m.received);
  msg.body.append(m.body);
  msg.origin = absl::StrCat("submission:", m.key_name);
  const size_t n = msg.recipients.size();
  absl::StatusOr<std::vector<std::string>> ids = QueueStore(store_).Enqueue({std::move(msg)});
  if (!ids.ok()) {
    if (absl::IsInvalidArgument(ids.status()))
      return Reply(554, absl::StrCat("5.6.0 ", ids.status().message()));
    if (absl::IsResourceExhausted(ids.status()))
      return Reply(552, absl::StrCat("5.3.4 ", ids.status().message()));
    Log(absl::StrCat("cannot queue a message of key \"", m.key_name, "\": ", ids.status().message()));
    return Reply(451, "4.3.0 Temporary queue failure, try again later");
  }
  return Reply(250, absl::StrCat("2.0.0 Ok: queued as ", ids->front(),
                                 n > 1 ? absl::StrCat(" (", n, " recipients)") : ""));
}

}  // namespace salvo
