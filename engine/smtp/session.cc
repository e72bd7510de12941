// engine/smtp/session.cc — the SMTP client state machine (see session.h for the contract).
//
// Trust: moderately security-sensitive, like Postfix's smtp client. Server bytes are hostile and
// only reach us through the bounded ReplyParser; our own commands are built from validated
// arguments only (no CR, LF or control bytes), and message bytes go through body_writer.
#include "engine/smtp/session.h"

#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "engine/base/strings.h"
#include "engine/smtp/body_writer.h"

namespace salvo {
namespace {

RcptResult ResultForCode(int code) {
  switch (code / 100) {
    case 2: return RcptResult::kDelivered;
    case 5: return RcptResult::kRejected;
    default: return RcptResult::kDeferred;  // 4xx, and 3xx where none belongs
  }
}

bool HasNonAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Address for MAIL FROM / RCPT TO: no CR, LF, control bytes, '<' or '>'; bounded length.
[[nodiscard]] absl::Status CheckAddress(std::string_view addr, std::string_view what) {
  if (addr.size() > 512) {
    return absl::InvalidArgumentError(absl::StrCat(Av(what), " address is too long"));
  }
  for (unsigned char c : addr) {
    if (c < 0x20 || c == 0x7f || c == '<' || c == '>') {
      return absl::InvalidArgumentError(
          absl::StrCat(Av(what), " address contains a CR, LF, control byte or angle bracket: \"",
                       SanitizeForLog(addr, 80), "\""));
    }
  }
  return absl::OkStatus();
}

std::string Base64(std::string_view s) { return absl::Base64Escape(Av(s)); }

void AppendDecimal(uint64_t v, char** p) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *(*p)++ = tmp[--n];
}

}  // namespace

// "waiting for RCPT reply", "writing message data", "doing the TLS handshake" (for reasons).
static std::string Doing(SmtpState s) {
  if (s == SmtpState::kDataBlock) return "writing message data";
  if (s == SmtpState::kTlsHandshake) return "doing the TLS handshake";
  return absl::StrCat("waiting for ", SmtpStateName(s));
}

const char* SmtpStateName(SmtpState s) {
  switch (s) {
    case SmtpState::kGreeting: return "greeting";
    case SmtpState::kEhlo: return "EHLO reply";
    case SmtpState::kHelo: return "HELO reply";
    case SmtpState::kStartTls: return "STARTTLS reply";
    case SmtpState::kTlsHandshake: return "TLS handshake";
    case SmtpState::kAuth: return "AUTH reply";
    case SmtpState::kIdle: return "next message";
    case SmtpState::kRset: return "RSET reply";
    case SmtpState::kMail: return "MAIL FROM reply";
    case SmtpState::kRcpt: return "RCPT reply";
    case SmtpState::kData: return "DATA reply";
    case SmtpState::kDataBlock: return "message data write";
    case SmtpState::kDataDone: return "end of data reply";
    case SmtpState::kQuit: return "QUIT reply";
    case SmtpState::kClosed: return "closed";
  }
  return "?";
}

absl::Duration TimeoutFor(const SmtpTimeouts& t, SmtpState s) {
  switch (s) {
    case SmtpState::kGreeting: return t.greeting;
    case SmtpState::kEhlo:
    case SmtpState::kHelo: return t.ehlo;
    case SmtpState::kStartTls:
    case SmtpState::kTlsHandshake: return t.starttls;
    case SmtpState::kAuth: return t.auth;
    case SmtpState::kIdle: return t.idle;
    case SmtpState::kRset: return t.rset;
    case SmtpState::kMail: return t.mail;
    case SmtpState::kRcpt: return t.rcpt;
    case SmtpState::kData: return t.data_init;
    case SmtpState::kDataBlock: return t.data_block;
    case SmtpState::kDataDone: return t.data_done;
    case SmtpState::kQuit: return t.quit;
    case SmtpState::kClosed: return absl::InfiniteDuration();
  }
  return absl::InfiniteDuration();
}

const char* SmtpEventKindName(SmtpEventKind k) {
  switch (k) {
    case SmtpEventKind::kStartTls: return "start-tls";
    case SmtpEventKind::kReady: return "ready";
    case SmtpEventKind::kMessageDone: return "message-done";
    case SmtpEventKind::kAuthFailed: return "auth-failed";
    case SmtpEventKind::kClose: return "close";
    case SmtpEventKind::kReadyNext: return "ready-next";
  }
  return "?";
}

SmtpSessionOptions SmtpSessionOptions::ForAccount(const AccountConfig& account,
                                                  std::string password,
                                                  const SmtpTimeouts& timeouts,
                                                  std::string default_ehlo_name) {
  SmtpSessionOptions o;
  o.ehlo_name = account.ehlo_name.empty() ? std::move(default_ehlo_name) : account.ehlo_name;
  o.tls = account.tls;
  o.username = account.username;
  o.password = std::move(password);
  o.pipelining = account.pipelining;
  o.pipeline_transactions = account.pipelining;
  o.chunking = account.chunking;
  o.timeouts = timeouts;
  return o;
}

// --- construction ---

absl::StatusOr<std::unique_ptr<SmtpSession>> SmtpSession::Create(SmtpSessionOptions options) {
  if (options.ehlo_name.empty() || options.ehlo_name.size() > 255) {
    return absl::InvalidArgumentError("ehlo_name must be 1..255 bytes");
  }
  for (unsigned char c : options.ehlo_name) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ehlo_name contains a space, CR, LF or non-ASCII byte: \"",
          SanitizeForLog(options.ehlo_name, 80), "\""));
    }
  }
  auto bad_secret = [](std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  };
  if (bad_secret(options.username)) {
    return absl::InvalidArgumentError("username contains CR, LF or NUL");
  }
  if (bad_secret(options.password)) {  // never echo the secret
    return absl::InvalidArgumentError("password contains CR, LF or NUL");
  }
  if (!options.username.empty() && options.password.empty()) {
    return absl::InvalidArgumentError("username is set but the password is empty");
  }
  return std::unique_ptr<SmtpSession>(new SmtpSession(std::move(options)));
}

SmtpSession::SmtpSession(SmtpSessionOptions options) : options_(std::move(options)) {
  tls_active_ = options_.tls == TlsMode::kImplicit;
  expect_.reserve(16);
  events_.reserve(4);
  Expecting(Expect::kGreeting);
}

SmtpSession::~SmtpSession() = default;

// --- helpers ---

void SmtpSession::Command(std::string_view a, std::string_view b, std::string_view c) {
  const size_t n = a.size() + b.size() + c.size();
  char* p = out_.ReserveCopy(n);
  std::memcpy(p, a.data(), a.size());
  if (!b.empty()) std::memcpy(p + a.size(), b.data(), b.size());
  if (!c.empty()) std::memcpy(p + a.size() + b.size(), c.data(), c.size());
  out_.CommitCopy(n);
}

SmtpSession::Expect SmtpSession::PopExpect() {
  Expect e = expect_[expect_head_++];
  if (expect_head_ == expect_.size()) {
    expect_.clear();
    expect_head_ = 0;
  }
  return e;
}

SmtpState SmtpSession::state() const {
  if (closed_) return SmtpState::kClosed;
  if (tls_handshake_) return SmtpState::kTlsHandshake;
  if (expect_head_ == expect_.size()) return SmtpState::kIdle;
  switch (expect_[expect_head_]) {
    case Expect::kGreeting: return SmtpState::kGreeting;
    case Expect::kEhlo: return SmtpState::kEhlo;
    case Expect::kHelo: return SmtpState::kHelo;
    case Expect::kStartTls: return SmtpState::kStartTls;
    case Expect::kAuthPlain:
    case Expect::kAuthLoginStart:
    case Expect::kAuthLoginUser:
    case Expect::kAuthLoginPass: return SmtpState::kAuth;
    case Expect::kRset: return SmtpState::kRset;
    case Expect::kMail: return SmtpState::kMail;
    case Expect::kRcpt: return SmtpState::kRcpt;
    case Expect::kData: return SmtpState::kData;
    case Expect::kDataEnd:
    case Expect::kBdatLast: return out_.empty() ? SmtpState::kDataDone : SmtpState::kDataBlock;
    case Expect::kQuit: return SmtpState::kQuit;
  }
  return SmtpState::kClosed;
}

void SmtpSession::TakeEvents(std::vector<SmtpEvent>* out) {
  out->clear();
  out->swap(events_);
}

void SmtpSession::Close(std::string reason, const SmtpReply* reply, bool graceful) {
  if (closed_) return;
  while (tx_count_ > 0) {  // every recipient still open gets a connection-level deferral
    Transaction& t = front();  // oldest first
    for (size_t i = 0; i < t.rcpts.size(); ++i) {
      if (t.rcpt_state[i] == RcptState::kDone) continue;
      RcptOutcome& o = t.outcomes[i];
      o.result = RcptResult::kDeferred;
      if (reply) o.reply = *reply;
      o.failure = reason;
      o.connection_level = true;
      t.rcpt_state[i] = RcptState::kDone;
    }
    FinishTransaction();
  }
  closed_ = true;
  tls_handshake_ = false;
  out_.Clear();
  expect_.clear();
  expect_head_ = 0;
  SmtpEvent& ev = events_.emplace_back();
  ev.kind = SmtpEventKind::kClose;
  if (reply) ev.reply = *reply;
  ev.reason = std::move(reason);
  ev.graceful = graceful;
}

void SmtpSession::EnterIdle() {
  SmtpEvent& ev = events_.emplace_back();
  ev.kind = SmtpEventKind::kReady;
}

bool SmtpSession::CanSendNext() const {
  if (!options_.pipeline_transactions || closed_ || tls_handshake_ || tx_count_ != 1) return false;
  const Transaction& t = front();
  return t.pipelined && t.end_queued && !t.discard && !t.mail_failed && t.mail_ok &&
         t.rcpt_replies == t.rcpts.size() && t.accepted > 0;
}

bool SmtpSession::can_send() const {
  if (closed_ || tls_handshake_) return false;
  if (tx_count_ == 0) return expect_head_ == expect_.size();
  return CanSendNext();
}

void SmtpSession::MaybeReadyNext() {
  if (!CanSendNext() || front().ready_next_sent) return;
  front().ready_next_sent = true;
  SmtpEvent& ev = events_.emplace_back();
  ev.kind = SmtpEventKind::kReadyNext;
}

void SmtpSession::AfterFinish() {
  if (tx_count_ == 0) {
    EnterIdle();
  } else {
    MaybeReadyNext();
  }
}

// --- input ---

void SmtpSession::OnBytes(std::string_view bytes) {
  while (!bytes.empty() && !closed_) {
    if (tls_handshake_) {
      if (!events_.empty() && events_.back().kind == SmtpEventKind::kStartTls) events_.pop_back();
      Close("server sent plaintext after its STARTTLS reply (possible command injection)",
            nullptr, false);
      return;
    }
    size_t used = 0;
    const ReplyParser::Status s = parser_.Feed(bytes, &used);
    bytes.remove_prefix(used);
    if (s == ReplyParser::Status::kError) {
      Close(absl::StrCat("protocol error while ", Doing(state()), ": ", parser_.error_text()),
            nullptr, false);
      return;
    }
    if (s == ReplyParser::Status::kNeedMore) return;
    HandleReply(parser_.reply());
  }
}

void SmtpSession::OnWritten(size_t n) {
  if (closed_) return;
  out_.Consume(n <= out_.bytes() ? n : out_.bytes());
}

void SmtpSession::OnTlsEstablished() {
  if (closed_ || !tls_handshake_) return;
  tls_handshake_ = false;
  tls_active_ = true;
  caps_ = SmtpCapabilities();  // pre-TLS capabilities are discarded (RFC 3207 §4.2)
  parser_.Reset();
  parser_.set_enhanced_status_codes(false);
  SendEhlo(false);
}

void SmtpSession::OnTimeout() {
  if (closed_) return;
  const SmtpState s = state();
  if (s == SmtpState::kIdle) {
    (void)Quit();
    return;
  }
  if (s == SmtpState::kQuit) {
    Close("timeout waiting for QUIT reply", nullptr, true);
    return;
  }
  const std::string doing =
      s == SmtpState::kTlsHandshake ? std::string("in the TLS handshake") : Doing(s);
  Close(absl::StrCat("timeout ", doing), nullptr, false);
}

void SmtpSession::OnPeerClosed() {
  if (closed_) return;
  const SmtpState s = state();
  if (s == SmtpState::kQuit) {
    Close("connection closed after QUIT", nullptr, true);
  } else if (s == SmtpState::kIdle) {
    Close("peer closed the idle connection", nullptr, false);
  } else {
    Close(absl::StrCat("peer closed the connection while ", Doing(s)), nullptr, false);
  }
}

void SmtpSession::OnConnectionError(std::string_view reason) {
  Close(std::string(reason), nullptr, false);
}

// --- replies ---

void SmtpSession::HandleReply(const SmtpReply& r) {
  if (expect_head_ == expect_.size()) {
    Close(r.code == 421 ? absl::StrCat("server closed the idle connection: ", r.ToString())
                        : absl::StrCat("unexpected reply while idle: ", r.ToString()),
          &r, false);
    return;
  }
  const SmtpState was = state();
  const Expect e = PopExpect();
  if (r.code == 421 && e != Expect::kQuit) {
    Close(absl::StrCat("server is closing the connection (", Doing(was), "): ", r.ToString()),
          &r, false);
    return;
  }
  switch (e) {
    case Expect::kGreeting:
      greeting_ = r;
      if (r.code == 220) {
        SendEhlo(false);
      } else {
        Close(absl::StrCat("server refused the session at greeting: ", r.ToString()), &r, false);
      }
      return;
    case Expect::kEhlo:
    case Expect::kHelo:
      OnEhlo(r, e == Expect::kHelo);
      return;
    case Expect::kStartTls:
      if (r.code == 220) {
        tls_handshake_ = true;
        SmtpEvent& ev = events_.emplace_back();
        ev.kind = SmtpEventKind::kStartTls;
      } else {
        Close(absl::StrCat("STARTTLS refused: ", r.ToString()), &r, false);
      }
      return;
    case Expect::kAuthPlain:
    case Expect::kAuthLoginStart:
    case Expect::kAuthLoginUser:
    case Expect::kAuthLoginPass:
      OnAuth(e, r);
      return;
    case Expect::kQuit:
      Close("QUIT", &r, true);
      return;
    default:
      OnTransactionReply(e, r);
  }
}

void SmtpSession::SendEhlo(bool helo) {
  Command(helo ? "HELO " : "EHLO ", options_.ehlo_name, "\r\n");
  Expecting(helo ? Expect::kHelo : Expect::kEhlo);
}

void SmtpSession::OnEhlo(const SmtpReply& r, bool helo) {
  if (r.code / 100 == 2) {
    caps_ = helo ? SmtpCapabilities() : ParseEhloReply(r);
    parser_.set_enhanced_status_codes(caps_.enhanced_status_codes);
    AfterEhlo();
  } else if (!helo && r.code / 100 == 5) {
    SendEhlo(true);  // RFC 5321 §3.2: fall back to HELO
  } else {
    Close(absl::StrCat(helo ? "HELO" : "EHLO", " refused: ", r.ToString()), &r, false);
  }
}

void SmtpSession::AfterEhlo() {
  if (options_.tls == TlsMode::kStartTls && !tls_active_) {
    if (!caps_.starttls) {
      Close("server does not offer STARTTLS (the account requires tls = \"starttls\")", nullptr,
            false);
      return;
    }
    Command("STARTTLS\r\n");
    Expecting(Expect::kStartTls);
    return;
  }
  if (!options_.username.empty() && !authenticated_) {
    StartAuth();
    return;
  }
  EnterIdle();
}

void SmtpSession::StartAuth() {
  if (caps_.auth_plain) {
    std::string cred;
    cred.reserve(options_.username.size() + options_.password.size() + 2);
    cred += '\0';
    cred += options_.username;
    cred += '\0';
    cred += options_.password;
    Command("AUTH PLAIN ", Base64(cred), "\r\n");
    Expecting(Expect::kAuthPlain);
  } else if (caps_.auth_login) {
    Command("AUTH LOGIN\r\n");
    Expecting(Expect::kAuthLoginStart);
  } else {
    std::string offered;
    for (const auto& m : caps_.auth_mechanisms) absl::StrAppend(&offered, " ", m);
    AuthFailed(nullptr, caps_.auth_mechanisms.empty()
                            ? std::string("server offers no AUTH (a username is configured)")
                            : absl::StrCat("server offers neither AUTH PLAIN nor LOGIN (offers:",
                                           offered, ")"));
  }
}

void SmtpSession::OnAuth(Expect e, const SmtpReply& r) {
  if (e == Expect::kAuthLoginStart && r.code == 334) {
    Command(Base64(options_.username), "\r\n");
    Expecting(Expect::kAuthLoginUser);
  } else if (e == Expect::kAuthLoginUser && r.code == 334) {
    Command(Base64(options_.password), "\r\n");
    Expecting(Expect::kAuthLoginPass);
  } else if ((e == Expect::kAuthPlain || e == Expect::kAuthLoginPass) && r.code / 100 == 2) {
    authenticated_ = true;
    EnterIdle();
  } else {
    AuthFailed(&r, absl::StrCat("authentication failed: ", r.ToString()));
  }
}

void SmtpSession::AuthFailed(const SmtpReply* reply, std::string reason) {
  SmtpEvent& ev = events_.emplace_back();
  ev.kind = SmtpEventKind::kAuthFailed;
  if (reply) ev.reply = *reply;
  ev.reason = reason;
  Close(std::move(reason), reply, false);
}

// --- transactions ---

absl::Status SmtpSession::Send(const RenderedMessage& msg, uint64_t tag) {
  const std::string_view rcpt = msg.recipient;
  return Send(msg, std::span<const std::string_view>(&rcpt, 1), tag);
}

absl::Status SmtpSession::Send(const RenderedMessage& msg,
                               std::span<const std::string_view> recipients, uint64_t tag) {
  // Behind a transaction whose end of data is queued (kReadyNext), or on an idle session.
  const bool behind = tx_count_ == 1 && CanSendNext();
  if (!behind && (state() != SmtpState::kIdle || tx_count_ != 0)) {
    return absl::FailedPreconditionError(
        absl::StrCat("SMTP session is not idle (", SmtpStateName(state()), ")"));
  }
  if (recipients.empty()) return absl::InvalidArgumentError("message has no recipient");
  if (recipients.size() > 1000) return absl::InvalidArgumentError("too many recipients");
  if (absl::Status s = CheckAddress(msg.envelope_from, "envelope sender"); !s.ok()) return s;
  bool utf8 = msg.smtputf8 || HasNonAscii(msg.envelope_from);
  for (std::string_view r : recipients) {
    if (r.empty()) return absl::InvalidArgumentError("empty recipient address");
    if (absl::Status s = CheckAddress(r, "recipient"); !s.ok()) return s;
    utf8 = utf8 || HasNonAscii(r);
  }
  if (utf8 && !caps_.smtputf8) {
    return absl::FailedPreconditionError(
        "message needs SMTPUTF8 (non-ASCII address) but the server does not offer it");
  }
  Transaction& t = tx_[(tx_head_ + tx_count_) % 2];
  t.msg = &msg;
  t.tag = tag;
  t.rcpts.assign(recipients.begin(), recipients.end());
  t.rcpt_state.assign(recipients.size(), RcptState::kPending);
  t.outcomes.clear();
  t.outcomes.resize(recipients.size());
  t.next_rcpt = 0;
  t.accepted = 0;
  t.rcpt_replies = 0;
  t.active = true;
  t.pipelined = options_.pipelining && caps_.pipelining;
  t.use_bdat = options_.chunking && caps_.chunking;
  t.mail_sent = false;
  t.mail_failed = false;
  t.discard = false;
  t.utf8 = utf8;
  t.mail_ok = false;
  t.end_queued = false;
  t.ready_next_sent = false;
  ++tx_count_;
  // Behind a queued "." (or BDAT LAST) no RSET: the end of data ends that transaction whatever
  // its reply, and a transaction that needs RSET never gets a successor.
  if (need_rset_ && !behind) {
    Command("RSET\r\n");
    Expecting(Expect::kRset);
    need_rset_ = false;
    if (!t.pipelined) return absl::OkStatus();  // MAIL follows the RSET reply
  }
  SendMail(t);
  return absl::OkStatus();
}

void SmtpSession::SendMail(Transaction& t) {
  const RenderedMessage& m = *t.msg;
  const size_t cap = m.envelope_from.size() + 80;
  char* const start = out_.ReserveCopy(cap);
  char* p = start;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put("MAIL FROM:<");
  put(m.envelope_from);
  put(">");
  if (caps_.size) {
    put(" SIZE=");
    AppendDecimal(m.size, &p);
  }
  if (m.body_8bit && caps_.eightbitmime) put(" BODY=8BITMIME");
  if (t.utf8) put(" SMTPUTF8");
  put("\r\n");
  out_.CommitCopy(static_cast<size_t>(p - start));
  Expecting(Expect::kMail);
  t.mail_sent = true;
  need_rset_ = true;  // until the end of data is answered
  if (t.pipelined) {
    for (size_t i = 0; i < t.rcpts.size(); ++i) SendRcpt(t, i);
    t.next_rcpt = t.rcpts.size();
    SendDataOrBdat(t);
  }
}

void SmtpSession::SendRcpt(Transaction& t, size_t i) {
  Command("RCPT TO:<", t.rcpts[i], ">\r\n");
  Expecting(Expect::kRcpt);
}

void SmtpSession::SendDataOrBdat(Transaction& t) {
  if (!t.use_bdat) {
    Command("DATA\r\n");
    Expecting(Expect::kData);
    return;
  }
  // One chunk: the size is known once the normalized body is queued (one scan, zero copy).
  const size_t slot = out_.AppendSlot();
  const size_t n = AppendBody(t.msg->segments, BodyMode::kBdat, &out_);
  char buf[48];
  char* p = buf;
  std::memcpy(p, "BDAT ", 5);
  p += 5;
  AppendDecimal(n, &p);
  std::memcpy(p, " LAST\r\n", 7);
  p += 7;
  out_.FillSlotCopy(slot, std::string_view(buf, static_cast<size_t>(p - buf)));
  Expecting(Expect::kBdatLast);
  t.end_queued = true;
}

// Gives every accepted recipient the outcome decided by `r` (end of data, DATA or BDAT reply).
void SmtpSession::SettleAccepted(Transaction& t, const SmtpReply& r, std::string_view failure) {
  for (size_t i = 0; i < t.rcpts.size(); ++i) {
    if (t.rcpt_state[i] == RcptState::kDone) continue;
    RcptOutcome& o = t.outcomes[i];
    o.result = ResultForCode(r.code);
    if (!failure.empty() && o.result == RcptResult::kDelivered) o.result = RcptResult::kDeferred;
    o.reply = r;
    if (!failure.empty()) o.failure = std::string(failure);
    t.rcpt_state[i] = RcptState::kDone;
  }
}

void SmtpSession::FinishTransaction() {
  Transaction& t = front();
  SmtpEvent& ev = events_.emplace_back();
  ev.kind = SmtpEventKind::kMessageDone;
  ev.tag = t.tag;
  ev.outcomes = std::move(t.outcomes);
  t.outcomes.clear();
  t.active = false;
  t.msg = nullptr;
  tx_head_ = (tx_head_ + 1) % 2;
  --tx_count_;
  ++messages_done_;
}

void SmtpSession::OnTransactionReply(Expect e, const SmtpReply& r) {
  if (tx_count_ == 0) {  // cannot happen: transaction replies are only expected during one
    Close(absl::StrCat("unexpected reply: ", r.ToString()), &r, false);
    return;
  }
  // Replies come in order: the oldest transaction's replies all precede the next one's.
  Transaction& t = front();
  const int cls = r.code / 100;
  switch (e) {
    case Expect::kRset:
      if (cls != 2) {
        Close(absl::StrCat("RSET refused: ", r.ToString()), &r, false);
      } else if (!t.mail_sent) {
        SendMail(t);
      }
      return;
    case Expect::kMail:
      if (cls != 2) {
        t.mail_failed = true;
        for (size_t i = 0; i < t.rcpts.size(); ++i) {
          t.outcomes[i].result = cls == 5 ? RcptResult::kRejected : RcptResult::kDeferred;
          t.outcomes[i].reply = r;
          t.rcpt_state[i] = RcptState::kDone;
        }
        if (!t.pipelined) {
          FinishTransaction();
          AfterFinish();
        }
      } else {
        t.mail_ok = true;
        if (!t.pipelined) SendRcpt(t, t.next_rcpt++);
      }
      return;
    case Expect::kRcpt: {
      ++t.rcpt_replies;
      if (t.mail_failed) return;  // 503s after a refused MAIL: outcomes already set
      size_t i = 0;  // the first recipient still pending is the one this reply answers
      while (i < t.rcpts.size() && t.rcpt_state[i] != RcptState::kPending) ++i;
      if (i < t.rcpts.size()) {
        if (cls == 2) {
          t.rcpt_state[i] = RcptState::kAccepted;
          ++t.accepted;
        } else {
          t.outcomes[i].result = ResultForCode(r.code);
          t.outcomes[i].reply = r;
          t.rcpt_state[i] = RcptState::kDone;
        }
      }
      if (!t.pipelined) {
        if (t.next_rcpt < t.rcpts.size()) {
          SendRcpt(t, t.next_rcpt++);
        } else if (t.accepted > 0) {
          SendDataOrBdat(t);
        } else {
          FinishTransaction();  // nobody accepted: no DATA; RSET before the next MAIL
          AfterFinish();
        }
      } else {
        MaybeReadyNext();  // BDAT LAST already queued and the envelope is now known good
      }
      return;
    }
    case Expect::kData:
      if (r.code == 354) {
        if (t.mail_failed || t.accepted == 0) {
          Command(".\r\n");  // RFC 2920 §3.1: end the (empty) data, nothing to deliver
          t.discard = true;
        } else {
          AppendBody(t.msg->segments, BodyMode::kData, &out_);
          t.end_queued = true;
        }
        Expecting(Expect::kDataEnd);
        MaybeReadyNext();
        return;
      }
      if (!t.mail_failed && t.accepted > 0) {
        SettleAccepted(t, r, cls == 2 ? "unexpected reply to DATA" : "");
      }
      FinishTransaction();
      AfterFinish();
      return;
    case Expect::kDataEnd:
    case Expect::kBdatLast:
      if (!t.discard && !t.mail_failed && t.accepted > 0) SettleAccepted(t, r, "");
      // With a successor in flight its own MAIL already set need_rset_ (until its end).
      if (tx_count_ == 1) need_rset_ = cls != 2;
      FinishTransaction();
      AfterFinish();
      return;
    default:
      Close(absl::StrCat("unexpected reply: ", r.ToString()), &r, false);
  }
}

absl::Status SmtpSession::Quit() {
  if (state() != SmtpState::kIdle) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot QUIT while waiting for ", SmtpStateName(state())));
  }
  Command("QUIT\r\n");
  Expecting(Expect::kQuit);
  return absl::OkStatus();
}

}  // namespace salvo
