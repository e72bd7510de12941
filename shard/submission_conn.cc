// shard/: one SMTP submission connection — see submission_conn.h.
#include "shard/submission_conn.h"

#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/smtp/submission_message.h"
#include "shard/submission_server.h"

namespace salvo {
namespace {
// Pipelined input kept while an answer is pending: a whole message plus some commands.
constexpr size_t kPipelineSlack = 1u << 20;
// Replies not yet taken by the client: one that sends commands without reading is dropped.
constexpr size_t kMaxUnsent = 1u << 20;
}  // namespace

SubmissionConn::SubmissionConn(SubmissionServer* server, uint64_t id, bool implicit_tls)
    : RingStream(server->loop()),
      server_(server),
      id_(id),
      implicit_tls_(implicit_tls),
      session_(server->session_options(), implicit_tls) {}

SubmissionConn::~SubmissionConn() {
  if (timer_ != 0) loop()->CancelTimer(timer_);
}

void SubmissionConn::Start(int fd, std::string peer_ip) {
  peer_ip_ = peer_ip;
  Adopt(fd, std::move(peer_ip));
  last_progress_ns_ = MonoNowNs();
  ArmTimer(last_progress_ns_ + absl::ToInt64Nanoseconds(server_->options().timeout));
  if (implicit_tls_) {
    StartServerTls(server_->tls_ctx());  // the greeting follows the handshake
  } else {
    session_.Greet();
    FlushReplies();
  }
}

void SubmissionConn::OnTlsReady(absl::Status status) {
  if (!status.ok()) {
    Close();  // nothing can be said to a client that cannot speak TLS
    return;
  }
  if (implicit_tls_) {  // the only handshake of an implicit TLS connection: now the greeting
    session_.Greet();
    FlushReplies();
  }
}

void SubmissionConn::OnData(std::string_view bytes) {
  if (close_after_write_) return;
  if (job_running_ || !pending_in_.empty()) {
    if (pending_in_.size() + bytes.size() > server_->options().max_message_bytes + kPipelineSlack) {
      session_.Abort("4.5.3 Too much pipelined input");
      FlushReplies();
      return;
    }
    pending_in_.append(bytes);
    return;
  }
  Process(bytes);
}

void SubmissionConn::Process(std::string_view in) {
  size_t used = session_.Feed(in);
  if (session_.progress() != seen_progress_) {
    seen_progress_ = session_.progress();
    last_progress_ns_ = MonoNowNs();
  }
  if (session_.starttls_requested()) {
    FlushReplies();  // the 220 goes out in clear text; what followed it is dropped (RFC 3207 §5)
    session_.OnTlsStarted();
    StartServerTls(server_->tls_ctx());
    return;
  }
  if (session_.waiting() != ServerWait::kNone) {
    std::string_view rest = in.substr(used);
    if (rest.size() > server_->options().max_message_bytes + kPipelineSlack) {
      session_.Abort("4.5.3 Too much pipelined input");
    } else {
      pending_in_.assign(rest.data(), rest.size());
      Dispatch();
    }
  }
  FlushReplies();
}

void SubmissionConn::FlushReplies() {
  std::string& out = session_.out();
  if (!out.empty()) {
    unsent_ += out.size();
    if (unsent_ > kMaxUnsent) {
      Close();
      return;
    }
    Write(out, /*copy=*/true);
    out.clear();
    Flush();
  }
  if (session_.close_after_flush()) CloseAfterWrite();
}

void SubmissionConn::CloseAfterWrite() {
  close_after_write_ = true;
  if (write_idle()) Close();
}

void SubmissionConn::OnWritten() {
  unsent_ = 0;
  if (close_after_write_) Close();
}

void SubmissionConn::Dispatch() {
  job_running_ = true;
  SubmissionServer* server = server_;
  switch (session_.waiting()) {
    case ServerWait::kNone:
      job_running_ = false;
      return;
    case ServerWait::kAuth:
      server->RunBlocking(id_, SubmissionServer::Work::kCheck,
                          [server, user = session_.auth_user(), pass = session_.auth_password()] {
        return server->CheckAuth(user, pass);
      });
      return;
    case ServerWait::kRecipient:
      server->RunBlocking(id_, SubmissionServer::Work::kCheck,
                          [server, a = session_.recipient(), k = session_.recipient_key()] {
        return server->CheckRecipient(a, k);
      });
      return;
    case ServerWait::kMessage: {
      ++messages_;
      SubmissionServer::Submitted m;
      m.key_name = key_name_;
      m.key_route = key_route_;
      m.sender = session_.sender();
      m.recipients = session_.recipients();
      m.body = std::move(session_.body());
      m.received = ReceivedHeader({session_.helo(), peer_ip_, server->hostname(), tls_active(),
                                   absl::StrCat(absl::Hex(id_), ".", messages_),
                                   ProcessClock().Now()});
      server->RunBlocking(id_, SubmissionServer::Work::kEnqueue, [server, m = std::move(m)]() mutable {
        return server->Enqueue(std::move(m));
      });
      return;
    }
  }
}

void SubmissionConn::OnResolved(SubmissionReply reply) {
  job_running_ = false;
  if (closing() || close_after_write_) return;
  if (session_.waiting() == ServerWait::kAuth && reply.code == 235) {
    key_name_ = std::move(reply.key_name);
    key_route_ = std::move(reply.key_route);
  }
  session_.Resolve(reply.code, reply.text);
  last_progress_ns_ = MonoNowNs();  // our own wait does not count against the client
  if (shutting_down_) {
    session_.Abort("4.3.2 Service shutting down");
    FlushReplies();
    return;
  }
  FlushReplies();
  if (close_after_write_ || pending_in_.empty()) return;
  std::string in = std::move(pending_in_);
  pending_in_.clear();
  Process(in);
}

void SubmissionConn::Shutdown() {
  shutting_down_ = true;
  if (job_running_ || close_after_write_ || closing()) return;
  session_.Abort("4.3.2 Service shutting down");
  FlushReplies();
}

void SubmissionConn::ArmTimer(int64_t deadline_ns) {
  timer_ = loop()->AddTimerAtNs(deadline_ns, [this] {
    timer_ = 0;
    OnTimer();
  });
}

void SubmissionConn::OnTimer() {
  if (closing()) return;
  if (close_after_write_) {  // the client did not take its last reply within a period
    Close();
    return;
  }
  const SubmissionConfig& o = server_->options();
  const int64_t limit = absl::ToInt64Nanoseconds(session_.in_data() ? o.data_timeout : o.timeout);
  const int64_t now = MonoNowNs();
  if (job_running_ || now < last_progress_ns_ + limit) {
    ArmTimer(std::max(now, last_progress_ns_) + limit);
    return;
  }
  session_.Abort(session_.in_data() ? "4.4.2 Timeout: DATA took too long" : "4.4.2 Idle timeout");
  FlushReplies();
  if (!closing()) ArmTimer(now + absl::ToInt64Nanoseconds(absl::Seconds(5)));
}

void SubmissionConn::OnStreamError(std::string) { Close(); }

void SubmissionConn::OnFinished() { server_->Remove(id_); }  // deletes this

}  // namespace salvo
