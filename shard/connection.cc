// shard/: SmtpConnection — see connection.h.
#include "shard/connection.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "shard/pool_metrics.h"

namespace salvo {

SmtpConnection::SmtpConnection(RingLoop* loop, ConnectionOwner* owner,
                               const ConnectionParams* params, uint64_t serial)
    : RingStream(loop), owner_(owner), params_(params), serial_(serial) {}

SmtpConnection::~SmtpConnection() {
  if (timer_id_) loop()->CancelTimer(timer_id_);
  if (idle_timer) loop()->CancelTimer(idle_timer);
}

void SmtpConnection::Start(const ResolvedAddress& to) {
  Connect(to, params_->source_ip, params_->session.timeouts.connect);
}

void SmtpConnection::OnConnected(absl::Status status) {
  if (!status.ok()) {
    SetupFailed(std::string(status.message()));
    return;
  }
  if (params_->session.tls == TlsMode::kImplicit) {
    if (!params_->tls_ctx) {
      SetupFailed("TLS is not configured");
      return;
    }
    implicit_handshake_ = true;
    ArmTimeout();
    if (params_->metrics) params_->metrics->TlsStarted();
    StartTls(params_->tls_ctx, params_->host, params_->tls_verify);
    return;
  }
  CreateSession();
}

namespace {
std::string HandshakeReason(const absl::Status& st) {
  std::string_view m(st.message().data(), st.message().size());
  if (absl::StartsWith(Av(m), "TLS handshake")) return std::string(m);
  return absl::StrCat("TLS handshake failed: ", Av(m));
}
}  // namespace

void SmtpConnection::OnTlsReady(absl::Status status) {
  if (!status.ok() && params_->metrics) params_->metrics->TlsFailed();
  if (!session_) {  // implicit TLS
    implicit_handshake_ = false;
    if (!status.ok()) {
      SetupFailed(HandshakeReason(status));
      return;
    }
    CreateSession();
    return;
  }
  if (status.ok()) {
    session_->OnTlsEstablished();
  } else {
    session_->OnConnectionError(HandshakeReason(status));
  }
  AfterSessionCall();
}

void SmtpConnection::CreateSession() {
  auto s = SmtpSession::Create(params_->session);
  if (!s.ok()) {
    SetupFailed(std::string(s.status().message()));
    return;
  }
  session_ = std::move(s).value();
  AfterSessionCall();
}

void SmtpConnection::SetupFailed(std::string reason) {
  if (close_reason_.empty()) close_reason_ = std::move(reason);
  Close();
}

void SmtpConnection::OnData(std::string_view bytes) {
  if (!session_) return;  // nothing is expected before the session exists
  session_->OnBytes(bytes);
  AfterSessionCall();
}

void SmtpConnection::OnWritten() {
  if (!session_) return;
  if (submitted_ > 0) {
    size_t n = submitted_;
    submitted_ = 0;
    session_->OnWritten(n);
  }
  AfterSessionCall();
}

void SmtpConnection::OnStreamError(std::string reason) {
  if (!session_) {
    SetupFailed(implicit_handshake_ ? absl::StrCat("TLS handshake failed: ", reason) : reason);
    return;
  }
  if (reason == "peer closed the connection") {
    session_->OnPeerClosed();
  } else {
    session_->OnConnectionError(reason);
  }
  AfterSessionCall();
}

void SmtpConnection::OnFinished() {
  if (timer_id_) loop()->CancelTimer(timer_id_);
  timer_id_ = 0;
  if (!close_reported_) {
    close_reported_ = true;
    owner_->OnConnectionClosed(this, close_reason_, close_graceful_);
  }
  delete this;
}

absl::Status SmtpConnection::Send(const RenderedMessage& msg, uint64_t tag) {
  if (!session_ || closing()) return absl::FailedPreconditionError("connection not ready");
  absl::Status st = session_->Send(msg, tag);
  if (!st.ok()) return st;
  ++messages_;
  idle_ = false;
  AfterSessionCall();
  return absl::OkStatus();
}

absl::Status SmtpConnection::Send(const RenderedMessage& msg,
                                  std::span<const std::string_view> rcpts, uint64_t tag) {
  if (!session_ || closing()) return absl::FailedPreconditionError("connection not ready");
  absl::Status st = session_->Send(msg, rcpts, tag);
  if (!st.ok()) return st;
  ++messages_;
  idle_ = false;
  AfterSessionCall();
  return absl::OkStatus();
}

void SmtpConnection::Quit() {
  if (closing()) return;
  if (session_ && session_->state() == SmtpState::kIdle) {
    idle_ = false;
    if (session_->Quit().ok()) {
      AfterSessionCall();
      return;
    }
  }
  Abort("connection closed by salvo");
}

void SmtpConnection::Abort(const std::string& reason) {
  if (closing()) return;
  if (session_) {
    session_->OnConnectionError(reason);
    AfterSessionCall();
  } else {
    SetupFailed(reason);
  }
}

void SmtpConnection::AfterSessionCall() {
  if (in_events_ || !session_) return;
  in_events_ = true;
  while (!closing()) {
    session_->TakeEvents(&events_);
    if (events_.empty()) break;
    for (SmtpEvent& e : events_) {
      if (closing()) break;
      switch (e.kind) {
        case SmtpEventKind::kStartTls:
          if (!params_->tls_ctx) {
            session_->OnConnectionError("TLS is not configured");
            break;
          }
          if (params_->metrics) params_->metrics->TlsStarted();
          StartTls(params_->tls_ctx, params_->host, params_->tls_verify);
          break;
        case SmtpEventKind::kReady:
        case SmtpEventKind::kReadyNext:
          // Stale when a message was sent since (a kReadyNext, then the kMessageDone and
          // kReady of the same read, handled after the pool sent the next message).
          if (!session_->can_send()) break;
          ready_ = true;
          idle_ = session_->state() == SmtpState::kIdle;
          owner_->OnConnectionReady(this);
          break;
        case SmtpEventKind::kMessageDone:
          for (const RcptOutcome& o : e.outcomes) owner_->OnMessageDone(this, e.tag, o);
          if (e.outcomes.empty()) owner_->OnMessageDone(this, e.tag, RcptOutcome{});
          break;
        case SmtpEventKind::kAuthFailed:
          owner_->OnAuthFailed(this, e.reason);
          break;
        case SmtpEventKind::kClose:
          close_reason_ = e.reason;
          close_graceful_ = e.graceful;
          Close();
          break;
      }
    }
  }
  PumpOutput();
  ArmTimeout();
  in_events_ = false;
}

void SmtpConnection::PumpOutput() {
  if (!session_ || closing() || session_->output_bytes() == 0) return;
  if (tls_active()) {
    if (submitted_ > 0) return;  // plaintext bytes (before STARTTLS) still in flight
    size_t n = session_->output_bytes();
    for (const iovec& v : session_->output())
      Write(std::string_view(static_cast<const char*>(v.iov_base), v.iov_len), false);
    session_->OnWritten(n);
    Flush();
    return;
  }
  if (!write_idle() || submitted_ > 0) return;
  submitted_ = session_->output_bytes();
  for (const iovec& v : session_->output())
    Write(std::string_view(static_cast<const char*>(v.iov_base), v.iov_len), false);
  Flush();
}

void SmtpConnection::ArmTimeout() {
  if (closing()) return;
  absl::Duration d = absl::InfiniteDuration();
  if (session_) {
    // Idle connections are the pool's business (idle timeout, QUIT).
    if (session_->state() != SmtpState::kIdle) d = session_->timeout();
  } else if (implicit_handshake_) {
    d = params_->session.timeouts.starttls;
  }
  if (d == absl::InfiniteDuration()) {
    deadline_ns_ = 0;
    return;
  }
  deadline_ns_ = MonoNowNs() + absl::ToInt64Nanoseconds(d);
  if (timer_id_ != 0 && timer_at_ns_ <= deadline_ns_) return;  // fires early, re-arms then
  if (timer_id_) loop()->CancelTimer(timer_id_);
  timer_at_ns_ = deadline_ns_;
  timer_id_ = loop()->AddTimerAtNs(deadline_ns_, [this] { OnTimer(); });
}

void SmtpConnection::OnTimer() {
  timer_id_ = 0;
  if (closing() || deadline_ns_ == 0) return;
  int64_t now = MonoNowNs();
  if (now < deadline_ns_) {
    timer_at_ns_ = deadline_ns_;
    timer_id_ = loop()->AddTimerAtNs(deadline_ns_, [this] { OnTimer(); });
    return;
  }
  deadline_ns_ = 0;
  if (!session_) {
    if (params_->metrics) params_->metrics->TlsFailed();
    SetupFailed("timeout during the TLS handshake");
    return;
  }
  session_->OnTimeout();
  AfterSessionCall();
}

}  // namespace salvo
