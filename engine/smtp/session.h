// engine/smtp/session.h — the SMTP client as a pure state machine (no I/O, no clock, no threads).
//
// The runtime (shard/) owns the socket, TLS and timers and drives one SmtpSession per connection:
//
//   auto s = SmtpSession::Create(SmtpSessionOptions::ForAccount(account, password, timeouts));
//   // after connect (and, for TlsMode::kImplicit, after the TLS handshake):
//   loop:
//     write s->output() (writev/sendmsg of at most IOV_MAX
//     iovecs; short writes are fine)                    -> s->OnWritten(n)
//     bytes read (after TLS decryption)                    -> s->OnBytes(bytes)
//     peer closed                                          -> s->OnPeerClosed()
//     socket or TLS error                                  -> s->OnConnectionError(why)
//     timer of s->timeout() expired                        -> s->OnTimeout()
//     after every call: handle s->events(), then s->ClearEvents(); re-arm the timer with
//     s->timeout() (the timeout is for inactivity in the current state(); re-arm whenever the
//     state changes or bytes move).
//   events:
//     kStartTls     write the pending output (the STARTTLS command was answered, nothing is
//                   pending then), do the TLS handshake, then call OnTlsEstablished() or
//                   OnConnectionError("TLS handshake failed: ...").
//     kReady        idle: call Send(message, tag) for the next message, or Quit().
//     kReadyNext    (options.pipeline_transactions only) the current message's end of data is
//                   queued and its envelope was accepted: Send() may queue the next message
//                   behind it now (RFC 2920 §3.1: the message content may open a command group).
//                   DATA: right after the 354, so the next MAIL/RCPT/DATA go out in the same
//                   write as the "."; BDAT: once the RCPT replies are in (BDAT LAST went with
//                   them). Optional: a runner with nothing to send ignores it, and kReady follows
//                   once the session is idle. At most 2 transactions are in flight; Quit() still
//                   needs kIdle.
//     Events can be stale by the time they are handled (a kReadyNext followed by the
//     kMessageDone and kReady of the same read): check can_send() before calling Send().
//     kMessageDone  a message finished: its tag and one RcptOutcome per recipient.
//     kAuthFailed   AUTH refused (535, 454, ...) or impossible; reply kept. A kClose follows:
//                   the runner should pause the account.
//     kClose        close the socket now (pending output is dropped); reason says why.
//
// Pipelined transactions: replies are matched in order to one FIFO of expected replies across
// both transactions. The first transaction's end-of-data reply (2xx, 4xx or 5xx) decides only
// its own recipients (the "." or BDAT LAST ended it); a 421, a drop, a protocol error or a
// timeout fails both with connection-level outcomes, the older message's kMessageDone first.
// Only a transaction whose MAIL and RCPT replies are all in, with at least one accepted
// recipient, gets a successor (one that will need RSET never does: no RSET is ever pipelined
// behind a message). Without PIPELINING everything is as one transaction at a time.
//
// Guarantees: every recipient of every Send() gets exactly one outcome (in a kMessageDone event),
// whatever happens: server replies (2xx delivered, 4xx deferred, 5xx rejected, with the reply
// and enhanced code), or connection-level failures (timeout naming the state, peer closed,
// TLS/protocol error, 421) as kDeferred with connection_level = true and `failure` set.
// Nothing with a bare CR or LF is ever written: commands whose arguments hold CR/LF/control bytes
// are refused by Send() (an error, nothing written); message bytes are normalized and dot-stuffed
// while streaming (see body_writer.h). Replies are parsed with the bounded ReplyParser; a
// malformed or oversized reply closes the connection. After STARTTLS's 220, any bytes already
// received in plaintext are a protocol error (STARTTLS command injection).
//
// Lifetimes: output() points into the session's arena and into the messages' segments; a
// RenderedMessage passed to Send() (and its template) must stay alive and unchanged until its
// kMessageDone (or the session is destroyed). The session owns a copy of the password (secret:
// never put in events, errors or logs).
//
// Performance: Send() with PIPELINING and the body append do no heap allocation in steady state
// (reused buffers); the body is passed as views of the segments (zero copy).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config/config.h"
#include "engine/mime/rendered_message.h"
#include "engine/smtp/capabilities.h"
#include "engine/smtp/output_queue.h"
#include "engine/smtp/reply.h"
#include "engine/smtp/reply_parser.h"

namespace salvo {

// What the session is waiting for; indexes the timeout table.
enum class SmtpState : uint8_t {
  kGreeting,      // waiting for the 220 greeting
  kEhlo,          // waiting for the EHLO reply
  kHelo,          // waiting for the HELO reply (after EHLO got a 5xx)
  kStartTls,      // waiting for the STARTTLS reply
  kTlsHandshake,  // the runtime is doing the TLS handshake (after kStartTls event)
  kAuth,          // waiting for an AUTH reply (PLAIN, or a LOGIN step)
  kIdle,          // no transaction: Send() or Quit() may be called
  kRset,          // waiting for the RSET reply
  kMail,          // waiting for the MAIL FROM reply
  kRcpt,          // waiting for a RCPT TO reply
  kData,          // waiting for the DATA reply (354)
  kDataBlock,     // message data is being written
  kDataDone,      // waiting for the reply to the end of data (".") or to BDAT LAST
  kQuit,          // waiting for the QUIT reply
  kClosed,        // kClose was emitted; the session does nothing more
};
inline constexpr int kSmtpStateCount = static_cast<int>(SmtpState::kClosed) + 1;

// Short name of what the state waits for: "greeting", "EHLO reply", "RCPT reply",
// "message data write", "end of data reply", ... (used in timeout reasons).
const char* SmtpStateName(SmtpState state);

// The per-state timeout from `t` (RFC 5321 §4.5.3.2 defaults); kClosed: absl::InfiniteDuration().
absl::Duration TimeoutFor(const SmtpTimeouts& t, SmtpState state);

struct SmtpSessionOptions {
  std::string ehlo_name;              // required; no spaces, CR, LF or control bytes
  TlsMode tls = TlsMode::kStartTls;   // kStartTls: STARTTLS required (no STARTTLS offered -> close)
                                      // kImplicit: TLS is already up before the greeting
                                      // kNone: plain SMTP, never STARTTLS
  std::string username;               // empty: no AUTH
  std::string password;               // secret (API key for SendGrid's user "apikey")
  bool pipelining = true;             // use PIPELINING when offered
  bool chunking = true;               // use BDAT when CHUNKING is offered
  bool pipeline_transactions = false; // with PIPELINING: emit kReadyNext and accept the next
                                      // message behind the current one's end of data
                                      // (ForAccount: = pipelining)
  SmtpTimeouts timeouts;

  // From an [[account]]: tls, username, pipelining (also pipeline_transactions), chunking,
  // ehlo_name (or `default_ehlo_name` when the account has none).
  static SmtpSessionOptions ForAccount(const AccountConfig& account, std::string password,
                                       const SmtpTimeouts& timeouts,
                                       std::string default_ehlo_name);
};

enum class SmtpEventKind : uint8_t {
  kStartTls, kReady, kMessageDone, kAuthFailed, kClose, kReadyNext,
};
const char* SmtpEventKindName(SmtpEventKind kind);

struct SmtpEvent {
  SmtpEventKind kind = SmtpEventKind::kClose;
  uint64_t tag = 0;                                   // kMessageDone: the tag given to Send()
  absl::InlinedVector<RcptOutcome, 1> outcomes;       // kMessageDone: one per recipient, in order
  SmtpReply reply;                                    // kAuthFailed / kClose: reply that caused it
                                                      // (code 0 when no reply was involved)
  std::string reason;                                 // kAuthFailed / kClose: plain words
  bool graceful = false;                              // kClose: after QUIT (nothing went wrong)
};

class SmtpSession {
 public:
  // Validates the options (ehlo_name, credentials without CR/LF/NUL). The session starts in
  // kGreeting: create it once the TCP connection (and implicit TLS) is up.
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<SmtpSession>> Create(SmtpSessionOptions options);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // --- input from the runtime ---
  void OnBytes(std::string_view bytes);   // bytes read from the server (plaintext)
  void OnWritten(size_t n);               // the first n bytes of output() were written
  void OnTlsEstablished();                // after kStartTls: handshake done -> EHLO again
  void OnTimeout();                       // timeout() elapsed in state()
  void OnPeerClosed();                    // EOF from the server
  void OnConnectionError(std::string_view reason);  // socket or TLS error, DNS, ...

  // --- commands from the runner (valid in kIdle, or after kReadyNext: see can_send()) ---
  // Starts a transaction for msg.recipient. `tag` is echoed in kMessageDone. Errors (nothing is
  // written, the session stays as it was): FailedPrecondition when !can_send() or the message
  // needs SMTPUTF8 the server lacks; InvalidArgument when an address holds CR, LF, control
  // bytes, '<' or '>' or the recipient is empty.
  [[nodiscard]] absl::Status Send(const RenderedMessage& msg, uint64_t tag);
  // Same for several recipients (views must live until kMessageDone), e.g. `salvo send-one`.
  [[nodiscard]]
  absl::Status Send(const RenderedMessage& msg, std::span<const std::string_view> recipients,
                    uint64_t tag);
  // Sends QUIT (kIdle only); kClose(graceful) follows the 221 (or the QUIT timeout).
  [[nodiscard]] absl::Status Quit();

  // --- outputs ---
  std::span<const iovec> output() const { return out_.iovecs(); }
  size_t output_bytes() const { return out_.bytes(); }
  std::string OutputString() const { return out_.Flatten(); }  // tests

  const std::vector<SmtpEvent>& events() const { return events_; }
  void ClearEvents() { events_.clear(); }
  // Moves the pending events into *out (cleared first); keeps both vectors' capacity.
  void TakeEvents(std::vector<SmtpEvent>* out);

  SmtpState state() const;
  // Send() would be accepted now: idle, or (pipeline_transactions) one transaction in flight
  // whose end of data is queued and whose envelope was accepted.
  bool can_send() const;
  size_t transactions_in_flight() const { return tx_count_; }
  absl::Duration timeout() const { return TimeoutFor(options_.timeouts, state()); }

  // --- what we learned (smtp-check) ---
  const SmtpReply& greeting() const { return greeting_; }
  const SmtpCapabilities& capabilities() const { return caps_; }
  bool tls_active() const { return tls_active_; }
  bool authenticated() const { return authenticated_; }
  uint64_t messages_sent() const { return messages_done_; }  // transactions finished

 private:
  // What an expected reply answers (replies are matched in order, RFC 2920).
  enum class Expect : uint8_t {
    kGreeting, kEhlo, kHelo, kStartTls, kAuthPlain, kAuthLoginStart, kAuthLoginUser,
    kAuthLoginPass, kRset, kMail, kRcpt, kData, kDataEnd, kBdatLast, kQuit,
  };
  enum class RcptState : uint8_t { kPending, kAccepted, kDone };
  struct Transaction {
    const RenderedMessage* msg = nullptr;
    uint64_t tag = 0;
    absl::InlinedVector<std::string_view, 1> rcpts;
    absl::InlinedVector<RcptState, 1> rcpt_state;
    absl::InlinedVector<RcptOutcome, 1> outcomes;
    size_t next_rcpt = 0;        // non-pipelined: next RCPT to send
    size_t accepted = 0;
    size_t rcpt_replies = 0;     // RCPT replies received
    bool active = false;
    bool pipelined = false;
    bool use_bdat = false;
    bool mail_sent = false;
    bool mail_failed = false;
    bool discard = false;        // "." sent after a 354 with no accepted recipient
    bool utf8 = false;           // needs SMTPUTF8
    bool mail_ok = false;        // MAIL FROM got a 2xx
    bool end_queued = false;     // the message data and its end ("." / BDAT LAST) are queued
    bool ready_next_sent = false;  // kReadyNext was emitted for this transaction
  };

  explicit SmtpSession(SmtpSessionOptions options);
  void HandleReply(const SmtpReply& r);
  void OnGreeting(const SmtpReply& r);
  void OnEhlo(const SmtpReply& r, bool helo);
  void AfterEhlo();
  void StartAuth();
  void OnAuth(Expect e, const SmtpReply& r);
  void EnterIdle();
  void OnTransactionReply(Expect e, const SmtpReply& r);
  void SendEhlo(bool helo);
  void SendMail(Transaction& t);
  void SendRcpt(Transaction& t, size_t i);
  void SendDataOrBdat(Transaction& t);
  void AuthFailed(const SmtpReply* reply, std::string reason);
  void SettleAccepted(Transaction& t, const SmtpReply& r, std::string_view failure);
  void FinishTransaction();   // the oldest transaction: kMessageDone, then it leaves the ring
  void AfterFinish();         // kReady when nothing is in flight, else maybe kReadyNext
  void MaybeReadyNext();
  bool CanSendNext() const;
  Transaction& front() { return tx_[tx_head_]; }
  const Transaction& front() const { return tx_[tx_head_]; }
  void Close(std::string reason, const SmtpReply* reply, bool graceful);
  void Command(std::string_view a, std::string_view b = {}, std::string_view c = {});
  void Expecting(Expect e) { expect_.push_back(e); }
  Expect PopExpect();

  SmtpSessionOptions options_;
  ReplyParser parser_;
  OutputQueue out_;
  std::vector<SmtpEvent> events_;
  std::vector<Expect> expect_;   // pending replies, in order; expect_head_ is the next one
  size_t expect_head_ = 0;
  Transaction tx_[2];            // ring: tx_[tx_head_] is the oldest (its replies come first)
  size_t tx_head_ = 0;
  size_t tx_count_ = 0;          // transactions in flight (0..2)
  SmtpReply greeting_;
  SmtpCapabilities caps_;
  bool tls_active_ = false;
  bool tls_handshake_ = false;
  bool authenticated_ = false;
  bool need_rset_ = false;
  bool closed_ = false;
  bool idle_ = false;
  uint64_t messages_done_ = 0;
};

}  // namespace salvo
