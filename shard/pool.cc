// shard/: Pool — see pool.h.
#include "shard/pool.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "shard/account_secret.h"

namespace salvo {

namespace {
constexpr int64_t kAddressTtlNs = int64_t{300} * 1000000000;

RcptOutcome Deferred(const std::string& reason) {
  RcptOutcome o;
  o.result = RcptResult::kDeferred;
  o.failure = reason;
  o.connection_level = true;
  return o;
}
}  // namespace

std::string AccountProblem(const SmtpReply& reply) {
  if (reply.code == 0) return "";
  if (reply.code == 535 || reply.code == 534 || reply.code == 530 || reply.code == 454) {
    if (reply.code == 454 && !absl::StrContains(absl::AsciiStrToLower(Av(reply.text)), "auth"))
      return "";
    return absl::StrCat("authentication failed: ", reply.ToString());
  }
  std::string lower = absl::AsciiStrToLower(Av(reply.text));
  for (const char* needle : {"credits exceeded", "maximum credits", "out of credit",
                             "authentication failed", "account disabled", "account suspended",
                             "account is disabled", "account is suspended"}) {
    if (absl::StrContains(lower, needle)) return absl::StrCat("account unusable: ", reply.ToString());
  }
  return "";
}

Pool::Pool(PoolHost* host, const AccountConfig* account, std::string source_ip)
    : host_(host), account_(account), source_ip_(std::move(source_ip)),
      metrics_(account_->name, source_ip_) {
  params_.metrics = &metrics_;
  stats_.account = account_->name;
  stats_.source_ip = source_ip_;
  stats_.max_connections = std::max<uint32_t>(1, account_->max_connections);
}

Pool::~Pool() {
  if (pump_timer_) host_->loop()->CancelTimer(pump_timer_);
}

bool Pool::Prepare() {
  if (prepared_) return unusable_reason_.empty();
  prepared_ = true;
  std::string password;
  if (!account_->username.empty()) {
    auto pw = AccountPassword(*account_);
    if (!pw.ok()) {
      unusable_reason_ = std::string(pw.status().message());
      return false;
    }
    password = *std::move(pw);
  }
  if (account_->tls != TlsMode::kNone) {
    auto ctx = host_->TlsContext(*account_);
    if (!ctx.ok()) {
      unusable_reason_ = std::string(ctx.status().message());
      return false;
    }
    params_.tls_ctx = *ctx;
    if (!account_->tls_verify) {
      host_->LogOnce("tls_verify:" + account_->name,
                     absl::StrCat("salvo: warning: account \"", account_->name,
                                  "\": tls_verify = false: the server's certificate is NOT "
                                  "checked"));
    }
  }
  params_.host = account_->host;
  params_.source_ip = source_ip_;
  params_.tls_verify = account_->tls_verify;
  params_.session = SmtpSessionOptions::ForAccount(*account_, std::move(password),
                                                   host_->options().timeouts, host_->ehlo_name());
  return true;
}

void Pool::Enqueue(PendingSend p) {
  p.remaining = p.rcpts.empty() ? 1 : p.rcpts.size();
  queue_.push_back(std::move(p));
  SchedulePump();
}

void Pool::SchedulePump() {
  if (pump_scheduled_) return;
  pump_scheduled_ = true;
  pump_timer_ = host_->loop()->AddTimer(absl::ZeroDuration(), [this] {
    pump_timer_ = 0;
    Pump();
  });
}

void Pool::Pump() {
  pump_scheduled_ = false;
  if (!Prepare()) {
    FailQueued(unusable_reason_, true);
    for (auto& probe : probes_) probe(nullptr, unusable_reason_);
    probes_.clear();
    return;
  }
  if (queue_.empty() && probes_.empty()) return;
  // Idle connections first.
  std::vector<SmtpConnection*> idle;
  for (SmtpConnection* c : conns_)
    if (c->can_send()) idle.push_back(c);
  for (SmtpConnection* c : idle) {
    if (queue_.empty()) break;
    GiveWork(c);
  }
  size_t wanted = queue_.size() + probes_.size();
  while (wanted > connecting_ && conns_.size() < stats_.max_connections) {
    size_t before = connecting_;
    OpenConnection();
    if (connecting_ == before) break;  // resolving
  }
}

void Pool::StartResolve() {
  if (resolving_) return;
  resolving_ = true;
  host_->Resolve(account_->host, account_->port,
                 [this](absl::StatusOr<std::vector<ResolvedAddress>> r) {
                   resolving_ = false;
                   if (!r.ok()) {
                     std::string why(r.status().message());
                     FailQueued(why, false);
                     for (auto& probe : probes_) probe(nullptr, why);
                     probes_.clear();
                     return;
                   }
                   addrs_ = *std::move(r);
                   addrs_expire_ns_ = MonoNowNs() + kAddressTtlNs;
                   Pump();
                 });
}

void Pool::OpenConnection() {
  if (addrs_.empty() || MonoNowNs() > addrs_expire_ns_) {
    StartResolve();
    return;
  }
  auto* c = new SmtpConnection(host_->loop(), this, &params_, next_serial_++);
  conns_.insert(c);
  ++connecting_;
  ++stats_.connections_opened;
  metrics_.ConnectionOpened();
  c->Start(addrs_[next_addr_++ % addrs_.size()]);
}

void Pool::Probe(ProbeCallback probe) {
  probes_.push_back(std::move(probe));
  if (!Prepare()) {
    SchedulePump();
    return;
  }
  OpenConnection();
}

void Pool::ArmIdle(SmtpConnection* c) {
  if (c->idle_timer) host_->loop()->CancelTimer(c->idle_timer);
  c->idle_timer = host_->loop()->AddTimer(host_->options().timeouts.idle, [c] {
    c->idle_timer = 0;
    c->Quit();
  });
}

void Pool::GiveWork(SmtpConnection* c) {
  if (c->idle_timer) {
    host_->loop()->CancelTimer(c->idle_timer);
    c->idle_timer = 0;
  }
  if (c->messages() >= std::max<uint32_t>(1, account_->messages_per_connection)) {
    // A fresh connection takes over when it has closed; a connection with a message still in
    // flight (pipelined transactions) QUITs at its kReady, once that message is done.
    if (c->idle()) c->Quit();
    return;
  }
  while (!queue_.empty() && c->can_send()) {
    PendingSend p = std::move(queue_.front());
    queue_.pop_front();
    uint64_t tag = next_tag_++;
    const RenderedMessage& msg = *p.req.message;
    std::vector<std::string_view> rcpts = p.rcpts;
    p.sent_ns = MonoNowNs();
    in_flight_.emplace(tag, std::move(p));
    c->current_tags.push_back(tag);
    absl::Status st = rcpts.empty() ? c->Send(msg, tag)
                                    : c->Send(msg, std::span<const std::string_view>(rcpts), tag);
    if (st.ok()) {
      metrics_.BytesWritten(msg.size);
      return;
    }
    // The message cannot go through this session (bad address, SMTPUTF8 missing): permanent.
    c->current_tags.pop_back();
    auto node = in_flight_.extract(tag);
    RcptOutcome o;
    o.result = RcptResult::kRejected;
    o.failure = std::string(st.message());
    PendingSend failed = std::move(node.mapped());
    Report(failed, o, false, "");
  }
  if (queue_.empty() && c->idle() && !c->closing()) {
    if (shutting_down_) {
      c->Quit();
    } else {
      ArmIdle(c);
    }
  }
}

void Pool::OnConnectionReady(SmtpConnection* c) {
  if (!c->counted_ready) {
    c->counted_ready = true;
    --connecting_;
    if (!probes_.empty()) {
      auto probes = std::move(probes_);
      probes_.clear();
      for (auto& probe : probes) probe(c, "");
      if (!c->idle() || c->closing()) return;
    }
  }
  GiveWork(c);
}

void Pool::Report(PendingSend& p, const RcptOutcome& outcome, bool account_unusable,
                  const std::string& account_reason) {
  SendReport r;
  r.id = p.req.id;
  r.outcome = outcome;
  r.account = account_;
  r.source_ip = source_ip_;
  r.latency = absl::Nanoseconds(MonoNowNs() - p.submitted_ns);
  r.transaction = absl::Nanoseconds(p.transaction_ns);
  p.transaction_ns = 0;  // carried by one report of the message only
  r.account_unusable = account_unusable;
  r.account_reason = account_reason;
  switch (outcome.result) {
    case RcptResult::kDelivered: ++stats_.delivered; break;
    case RcptResult::kDeferred: ++stats_.deferred; break;
    case RcptResult::kRejected: ++stats_.rejected; break;
  }
  if (p.done) p.done(r);
  host_->LoadChanged();
}

void Pool::OnMessageDone(SmtpConnection* c, uint64_t tag, const RcptOutcome& outcome) {
  auto it = in_flight_.find(tag);
  if (it == in_flight_.end()) return;
  metrics_.Reply(outcome.reply.code, outcome.reply.enhanced);
  if (it->second.sent_ns != 0) {  // the first verdict of the message ends its transaction
    it->second.transaction_ns = MonoNowNs() - it->second.sent_ns;
    metrics_.Transaction(static_cast<double>(it->second.transaction_ns) / 1e9);
    it->second.sent_ns = 0;
  }
  std::string problem = outcome.result == RcptResult::kDelivered ? "" : AccountProblem(outcome.reply);
  RcptOutcome o = outcome;
  if (!problem.empty()) o.result = RcptResult::kDeferred;  // not the recipient's fault
  Report(it->second, o, !problem.empty(), problem);
  if (--it->second.remaining == 0) {
    in_flight_.erase(it);
    auto& tags = c->current_tags;
    for (size_t i = 0; i < tags.size(); ++i) {
      if (tags[i] == tag) {
        tags.erase(tags.begin() + static_cast<long>(i));
        break;
      }
    }
    host_->LoadChanged();  // Report() ran while the message was still counted in flight
  }
}

void Pool::OnAuthFailed(SmtpConnection* c, const std::string& reason) {
  metrics_.AuthFailed();
  c->auth_failure = reason.empty() ? "authentication failed" : reason;
}

void Pool::FailQueued(const std::string& reason, bool account_unusable) {
  std::deque<PendingSend> q;
  q.swap(queue_);
  for (PendingSend& p : q) {
    for (size_t i = 0; i < p.remaining; ++i)
      Report(p, Deferred(reason), account_unusable, account_unusable ? reason : "");
  }
}

void Pool::OnConnectionClosed(SmtpConnection* c, const std::string& reason, bool graceful) {
  conns_.erase(c);
  bool was_ready = c->counted_ready;
  if (!was_ready) --connecting_;
  std::string why = !c->auth_failure.empty() ? c->auth_failure
                    : !reason.empty()        ? reason
                    : graceful               ? "connection closed"
                                             : "connection failed";
  metrics_.ConnectionClosed(!c->auth_failure.empty() || !graceful ? why : "");
  for (uint64_t tag : c->current_tags) {  // the session always reports first: a safety net
    auto it = in_flight_.find(tag);
    if (it != in_flight_.end()) {
      PendingSend p = std::move(it->second);
      in_flight_.erase(it);
      for (size_t i = 0; i < p.remaining; ++i) Report(p, Deferred(why), false, "");
    }
  }
  c->current_tags.clear();
  if (!probes_.empty() && (!was_ready || connecting_ == 0)) {
    auto probes = std::move(probes_);
    probes_.clear();
    for (auto& probe : probes) probe(c, why);
  }
  if (!c->auth_failure.empty()) {
    FailQueued(why, true);
  } else if (!was_ready && !graceful) {
    bool any_ready = false;
    for (SmtpConnection* o : conns_) any_ready |= o->counted_ready;
    if (!any_ready) {
      FailQueued(why, false);
      addrs_expire_ns_ = 0;  // resolve again next time
    }
  }
  if (!queue_.empty()) SchedulePump();
}

void Pool::Shutdown(StopMode mode) {
  shutting_down_ = true;
  if (mode == StopMode::kAbort) {
    FailQueued("shutting down", false);
    std::vector<SmtpConnection*> all(conns_.begin(), conns_.end());
    for (SmtpConnection* c : all) c->Abort("shutting down");
    return;
  }
  std::vector<SmtpConnection*> all(conns_.begin(), conns_.end());
  for (SmtpConnection* c : all) {
    if (c->idle() || !c->counted_ready) c->Quit();
  }
}

PoolStats Pool::Stats() const {
  PoolStats s = stats_;
  s.queued = queue_.size();
  s.in_flight = in_flight_.size();
  s.open_connections = conns_.size();
  size_t idle = 0;
  for (SmtpConnection* c : conns_) idle += c->idle() ? 1 : 0;
  s.idle_connections = idle;
  return s;
}

}  // namespace salvo
