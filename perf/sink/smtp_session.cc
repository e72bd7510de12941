// SMTP server state machine of salvo-sink (see smtp_session.h). Trusts nothing it receives:
// bounded lines, bodies scanned and discarded, counts saturate nowhere because they are 64-bit.
#include "perf/sink/smtp_session.h"

#include <time.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo::sink {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && absl::EqualsIgnoreCase(Av(a), Av(b));
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && absl::EqualsIgnoreCase(Av(s.substr(0, prefix.size())), Av(prefix));
}

// Parses "<path> params" after "FROM:" / "TO:". Returns false on bad syntax.
bool ParsePath(std::string_view arg, std::string_view* path, std::string_view* params) {
  arg = Trim(arg, kBlanks);
  if (arg.empty() || arg.front() != '<') return false;
  size_t close = arg.find('>');
  if (close == std::string_view::npos) return false;
  *path = arg.substr(1, close - 1);
  *params = Trim(arg.substr(close + 1), kBlanks);
  if (path->size() > kMaxPath) return false;
  for (unsigned char c : *path) {
    if (c <= 0x20 || c == 0x7f || c == ',' || c == '<') return false;  // also keeps TSV/CSV clean
  }
  return true;
}

}  // namespace

AccountCounters::AccountCounters(const SinkConfig& cfg)
    : cfg_(cfg), accepted_(new std::atomic<int64_t>[cfg.accounts.size() + 1]) {
  size_t n = cfg.accounts.size() + 1;
  for (size_t i = 0; i < n; ++i) accepted_[i].store(0);
  auto resolve = [&](const std::vector<AccountLimit>& limits, std::vector<int64_t>* out) {
    out->assign(n, -1);
    for (const AccountLimit& l : limits) {
      for (size_t i = 0; i < n; ++i) {
        bool match = l.user.empty() || (i > 0 && cfg.accounts[i - 1].user == l.user);
        if (match) (*out)[i] = l.messages;
      }
    }
  };
  resolve(cfg.auth_fail_after, &fail_after_);
  resolve(cfg.credit_limit, &credit_);
}

int AccountCounters::FindUser(std::string_view user) const {
  for (size_t i = 0; i < cfg_.accounts.size(); ++i) {
    if (cfg_.accounts[i].user == user) return static_cast<int>(i + 1);
  }
  return -1;
}

int AccountCounters::Find(std::string_view user, std::string_view password) const {
  int slot = FindUser(user);
  if (slot < 0 || cfg_.accounts[slot - 1].password != password) return -1;
  return slot;
}

bool FaultAttempts::Fail(std::string_view address, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  int& n = attempts_[Av(address)];
  if (n >= times) return false;
  ++n;
  return true;
}

SessionEnv::SessionEnv(const SinkConfig& c, AccountCounters* a, uint64_t seed, FaultAttempts* f)
    : cfg(c), accounts(a), attempts(f), rng_state(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
  if (rng_state == 0) rng_state = 1;
  keep_rcpts = !c.record_path.empty() || !c.arrivals_path.empty();
  timespec mono, real;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  realtime_offset_ns = (static_cast<int64_t>(real.tv_sec) - static_cast<int64_t>(mono.tv_sec)) *
                           1'000'000'000 +
                       (real.tv_nsec - mono.tv_nsec);
  auto build = [&](bool tls_active) {
    std::string s = absl::StrCat("250-", c.hostname, "\r\n250-PIPELINING\r\n250-SIZE ", c.max_size,
                                 "\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n");
    if (!tls_active) s += "\x01";  // placeholder for STARTTLS, filled in by the worker
    if (!c.accounts.empty()) s += "250-AUTH PLAIN LOGIN\r\n";
    s += "250 ENHANCEDSTATUSCODES\r\n";
    return s;
  };
  ehlo_plain = build(false);
  ehlo_tls = build(true);
}

double SessionEnv::Uniform() {
  // xorshift64*
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  uint64_t r = rng_state * 0x2545F4914F6CDD1Dull;
  return static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);
}

SmtpSession::SmtpSession(SessionEnv* env, std::string peer) : env_(env), peer_(std::move(peer)) {}

void SmtpSession::Greet(uint64_t now_ns) {
  now_ns_ = now_ns;
  Reply(Cmd::kConnect, 220, absl::StrCat(env_->cfg.hostname, " ESMTP salvo-sink"));
}

void SmtpSession::ReplyRaw(Cmd cmd, int code, std::string_view line) {
  out_.append(line);
  out_.append("\r\n");
  ++env_->stats.replies[code];
  pending_.emplace_back(cmd, now_ns_);
}

void SmtpSession::Reply(Cmd cmd, int code, std::string_view text) {
  char buf[4] = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                 static_cast<char>('0' + code % 10), ' '};
  out_.append(buf, 4);
  out_.append(text);
  out_.append("\r\n");
  ++env_->stats.replies[code];
  pending_.emplace_back(cmd, now_ns_);
}

void SmtpSession::MarkFlushed(uint64_t now_ns) {
  for (const auto& [cmd, t] : pending_) {
    env_->stats.latency[static_cast<size_t>(cmd)].Add(now_ns > t ? now_ns - t : 0);
  }
  pending_.clear();
}

void SmtpSession::OnTlsStarted() {
  starttls_ = false;
  tls_active_ = true;
  helo_ = false;
  authed_ = false;
  account_ = 0;
  state_ = State::kCommand;
  line_.clear();
  line_too_long_ = false;
  ResetTransaction();
}

void SmtpSession::ResetTransaction() {
  in_mail_ = false;
  rcpts_.clear();
  rcpt_count_ = 0;
  msg_bytes_ = 0;
  drop_pending_ = false;
  bdat_used_ = false;
  bdat_ok_ = false;
}

size_t SmtpSession::Feed(std::string_view in, uint64_t now_ns) {
  now_ns_ = now_ns;
  const char* p = in.data();
  size_t n = in.size();
  size_t pos = 0;
  while (pos < n && !close_ && !drop_ && !starttls_) {
    if (state_ == State::kData) {
      pos += FeedData(p + pos, n - pos);
      continue;
    }
    if (state_ == State::kBdat) {
      pos += FeedBdat(p + pos, n - pos);
      continue;
    }
    const char* nl = static_cast<const char*>(memchr(p + pos, '\n', n - pos));
    size_t end = nl ? static_cast<size_t>(nl - p) : n;
    std::string_view piece(p + pos, end - pos);
    if (nl == nullptr) {  // partial line: keep (bounded)
      if (!line_too_long_) {
        if (line_.size() + piece.size() > kMaxLine) {
          line_too_long_ = true;
          line_.clear();
        } else {
          line_.append(piece);
        }
      }
      pos = n;
      break;
    }
    pos = end + 1;
    if (line_too_long_) {
      line_too_long_ = false;
      line_.clear();
      Reply(Cmd::kOther, 500, "5.5.2 Line too long");
      if (state_ != State::kCommand) state_ = State::kCommand;
      continue;
    }
    std::string_view line;
    if (line_.empty()) {
      line = piece;
    } else {
      if (line_.size() + piece.size() > kMaxLine) {
        line_.clear();
        Reply(Cmd::kOther, 500, "5.5.2 Line too long");
        continue;
      }
      line_.append(piece);
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    OnLine(line);
    line_.clear();
  }
  return pos;
}

// End-of-data scanner. States: 0 mid-line, 1 at line start, 2 saw "." at line start,
// 3 saw ".\r" at line start. Lines may end in CRLF or a bare LF (lenient, like Postfix).
size_t SmtpSession::FeedData(const char* p, size_t n) {
  if (drop_pending_) {
    drop_ = true;
    ++env_->stats.dropped_in_data;
    return n;
  }
  size_t i = 0;
  while (i < n) {
    switch (data_state_) {
      case 0: {
        const char* nl = static_cast<const char*>(memchr(p + i, '\n', n - i));
        if (nl == nullptr) {
          i = n;
        } else {
          i = static_cast<size_t>(nl - p) + 1;
          data_state_ = 1;
        }
        break;
      }
      case 1:
        data_state_ = p[i] == '.' ? 2 : (p[i] == '\n' ? 1 : 0);
        ++i;
        break;
      case 2:    // "." at a line start
      case 3: {  // ".\r" at a line start
        if (p[i] == '\n') {
          ++i;
          msg_bytes_ += static_cast<int64_t>(i);
          EndOfMessage(Cmd::kEndOfData);
          return i;
        }
        // After ".", a CR may still come (and this byte is consumed); after ".\r" this byte is
        // re-examined mid-line.
        const bool after_dot = data_state_ == 2;
        data_state_ = after_dot && p[i] == '\r' ? 3 : 0;
        if (after_dot) ++i;
        break;
      }
    }
  }
  msg_bytes_ += static_cast<int64_t>(n);
  return n;
}

size_t SmtpSession::FeedBdat(const char* /*p*/, size_t n) {
  size_t take = n < bdat_remaining_ ? n : static_cast<size_t>(bdat_remaining_);
  bdat_remaining_ -= take;
  if (bdat_ok_) msg_bytes_ += static_cast<int64_t>(take);
  if (bdat_remaining_ == 0) {
    state_ = State::kCommand;
    if (!bdat_ok_) {
      Reply(Cmd::kBdat, 503, "5.5.1 Bad sequence of commands");
    } else if (bdat_last_) {
      EndOfMessage(Cmd::kBdat);
    } else {
      Reply(Cmd::kBdat, 250, absl::StrCat("2.0.0 ", msg_bytes_, " octets received"));
    }
  }
  return take;
}

void SmtpSession::EndOfMessage(Cmd cmd) {
  state_ = State::kCommand;
  if (msg_bytes_ > env_->cfg.max_size) {
    Reply(cmd, 552, "5.3.4 Message size exceeds fixed limit");
    ResetTransaction();
    return;
  }
  WorkerStats& st = env_->stats;
  ++st.messages;
  env_->live_messages.store(st.messages, std::memory_order_relaxed);
  if (st.first_message_ns == 0) st.first_message_ns = now_ns_;
  st.last_message_ns = now_ns_;
  st.message_bytes += static_cast<uint64_t>(msg_bytes_);
  st.rcpt_accepted += rcpt_count_;
  if (!env_->cfg.record_path.empty()) {
    for (const std::string& r : rcpts_) env_->recorder.Accept(r, peer_);
  }
  if (!env_->cfg.arrivals_path.empty()) {
    const int64_t us = (static_cast<int64_t>(now_ns_) + env_->realtime_offset_ns) / 1000;
    for (const std::string& r : rcpts_) env_->arrivals.Add(r, us);
  }
  env_->accounts->Accepted(account_);
  WorkerStats::Share& peer = st.by_peer[peer_];
  ++peer.messages;
  peer.recipients += rcpt_count_;
  static const std::string kNoAccount;
  WorkerStats::Share& acct =
      st.by_account[authed_ ? env_->cfg.accounts[static_cast<size_t>(account_ - 1)].user : kNoAccount];
  ++acct.messages;
  acct.recipients += rcpt_count_;
  Reply(cmd, 250, absl::StrCat("2.0.0 Ok: queued as ", absl::Hex(env_->next_queue_id++)));
  ResetTransaction();
}

void SmtpSession::OnLine(std::string_view line) {
  if (line.find('\0') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
    Reply(Cmd::kOther, 500, "5.5.2 Bare CR or NUL in command line");
    state_ = State::kCommand;
    return;
  }
  switch (state_) {
    case State::kAuthPlain:
      state_ = State::kCommand;
      if (line == "*") return Reply(Cmd::kAuth, 501, "5.0.0 Authentication cancelled");
      return AuthPlain(line);
    case State::kAuthLoginUser: {
      if (line == "*") {
        state_ = State::kCommand;
        return Reply(Cmd::kAuth, 501, "5.0.0 Authentication cancelled");
      }
      std::string user;
      if (!absl::Base64Unescape(Av(line), &user)) {
        state_ = State::kCommand;
        return Reply(Cmd::kAuth, 501, "5.5.2 Cannot decode response");
      }
      login_user_ = user;
      state_ = State::kAuthLoginPass;
      return ReplyRaw(Cmd::kAuth, 334, "334 UGFzc3dvcmQ6");
    }
    case State::kAuthLoginPass: {
      state_ = State::kCommand;
      if (line == "*") return Reply(Cmd::kAuth, 501, "5.0.0 Authentication cancelled");
      std::string pass;
      if (!absl::Base64Unescape(Av(line), &pass)) {
        return Reply(Cmd::kAuth, 501, "5.5.2 Cannot decode response");
      }
      return AuthFinish(login_user_, pass);
    }
    default:
      return OnCommand(line);
  }
}

void SmtpSession::OnCommand(std::string_view line) {
  std::string_view verb = line.substr(0, line.find(' '));
  std::string_view arg = verb.size() < line.size() ? line.substr(verb.size() + 1) : std::string_view();
  if (IEquals(verb, "MAIL")) return DoMail(arg);
  if (IEquals(verb, "RCPT")) return DoRcpt(arg);
  if (IEquals(verb, "DATA")) return DoData();
  if (IEquals(verb, "BDAT")) return DoBdat(arg);
  if (IEquals(verb, "EHLO")) return DoEhlo(arg, true);
  if (IEquals(verb, "HELO")) return DoEhlo(arg, false);
  if (IEquals(verb, "RSET")) {
    ResetTransaction();
    return Reply(Cmd::kRset, 250, "2.0.0 Ok");
  }
  if (IEquals(verb, "NOOP")) return Reply(Cmd::kNoop, 250, "2.0.0 Ok");
  if (IEquals(verb, "QUIT")) {
    close_ = true;
    return Reply(Cmd::kQuit, 221, "2.0.0 Bye");
  }
  if (IEquals(verb, "AUTH")) return DoAuth(arg);
  if (IEquals(verb, "STARTTLS")) {
    if (!env_->tls_available) return Reply(Cmd::kStartTls, 502, "5.5.1 STARTTLS not available");
    if (tls_active_) return Reply(Cmd::kStartTls, 503, "5.5.1 TLS already active");
    if (!Trim(arg, kBlanks).empty()) return Reply(Cmd::kStartTls, 501, "5.5.4 Syntax: STARTTLS");
    starttls_ = true;
    return Reply(Cmd::kStartTls, 220, "2.0.0 Ready to start TLS");
  }
  if (IEquals(verb, "VRFY")) return Reply(Cmd::kOther, 252, "2.0.0 Cannot VRFY user");
  if (IEquals(verb, "HELP")) return Reply(Cmd::kOther, 214, "2.0.0 See RFC 5321");
  return Reply(Cmd::kOther, 502, "5.5.2 Command not recognized");
}

void SmtpSession::DoEhlo(std::string_view arg, bool extended) {
  Cmd cmd = extended ? Cmd::kEhlo : Cmd::kHelo;
  if (Trim(arg, kBlanks).empty()) return Reply(cmd, 501, "5.5.4 Syntax: EHLO hostname");
  ResetTransaction();
  helo_ = true;
  if (!extended) return Reply(cmd, 250, env_->cfg.hostname);
  const std::string& r = tls_active_ ? env_->ehlo_tls : env_->ehlo_plain;
  size_t ph = r.find('\x01');
  if (ph == std::string::npos) {
    out_.append(r);
  } else {
    out_.append(r, 0, ph);
    if (env_->tls_available) out_.append("250-STARTTLS\r\n");
    out_.append(r, ph + 1);
  }
  ++env_->stats.replies[250];
  pending_.emplace_back(cmd, now_ns_);
}

void SmtpSession::DoMail(std::string_view arg) {
  if (!helo_) return Reply(Cmd::kMail, 503, "5.5.1 Send EHLO/HELO first");
  if (!env_->cfg.accounts.empty() && !authed_) {
    return Reply(Cmd::kMail, 530, "5.7.0 Authentication required");
  }
  if (env_->accounts->AuthFailed(account_)) {
    return Reply(Cmd::kMail, 535, "5.7.8 Authentication credentials invalid");
  }
  if (env_->accounts->OutOfCredit(account_)) {
    return ReplyRaw(Cmd::kMail, 451, "451 Authentication failed: Maximum credits exceeded");
  }
  if (in_mail_) return Reply(Cmd::kMail, 503, "5.5.1 Nested MAIL command");
  if (!IStartsWith(arg, "FROM:")) return Reply(Cmd::kMail, 501, "5.5.4 Syntax: MAIL FROM:<address>");
  std::string_view path, params;
  if (!ParsePath(arg.substr(5), &path, &params)) {
    return Reply(Cmd::kMail, 501, "5.1.7 Bad sender address syntax");
  }
  while (!params.empty()) {
    std::string_view p = params.substr(0, params.find(' '));
    params = Trim(params.substr(p.size()), kBlanks);
    if (IStartsWith(p, "SIZE=")) {
      int64_t size = 0;
      if (!absl::SimpleAtoi(Av(p.substr(5)), &size) || size < 0) {
        return Reply(Cmd::kMail, 501, "5.5.4 Bad SIZE parameter");
      }
      if (size > env_->cfg.max_size) {
        return Reply(Cmd::kMail, 552, "5.3.4 Message size exceeds fixed limit");
      }
    } else if (IStartsWith(p, "BODY=")) {
      std::string_view b = p.substr(5);
      if (!IEquals(b, "7BIT") && !IEquals(b, "8BITMIME") && !IEquals(b, "BINARYMIME")) {
        return Reply(Cmd::kMail, 501, "5.5.4 Bad BODY parameter");
      }
    } else if (IEquals(p, "SMTPUTF8") || IStartsWith(p, "AUTH=") || IStartsWith(p, "RET=") ||
               IStartsWith(p, "ENVID=")) {
      // accepted
    } else {
      return Reply(Cmd::kMail, 555, "5.5.4 Unsupported MAIL parameter");
    }
  }
  in_mail_ = true;
  Reply(Cmd::kMail, 250, "2.1.0 Ok");
}

void SmtpSession::DoRcpt(std::string_view arg) {
  if (!in_mail_) return Reply(Cmd::kRcpt, 503, "5.5.1 Need MAIL command");
  if (!IStartsWith(arg, "TO:")) return Reply(Cmd::kRcpt, 501, "5.5.4 Syntax: RCPT TO:<address>");
  std::string_view path, params;
  if (!ParsePath(arg.substr(3), &path, &params) || path.empty()) {
    return Reply(Cmd::kRcpt, 501, "5.1.3 Bad recipient address syntax");
  }
  if (rcpt_count_ >= static_cast<size_t>(env_->cfg.max_recipients)) {
    return Reply(Cmd::kRcpt, 452, "4.5.3 Too many recipients");
  }
  for (const RcptFault& f : env_->cfg.rcpt_faults) {
    if (path.find(f.pattern) != std::string_view::npos) {
      if (f.times > 0 && (env_->attempts == nullptr || !env_->attempts->Fail(path, f.times))) break;
      if (f.reply.code == 421) close_ = true;
      return Reply(Cmd::kRcpt, f.reply.code,
                   f.reply.enhanced.empty() ? f.reply.text : absl::StrCat(f.reply.enhanced, " ", f.reply.text));
    }
  }
  if (!env_->cfg.faults.empty()) {
    double u = env_->Uniform();
    double acc = 0;
    for (const FaultSpec& f : env_->cfg.faults) {
      if (f.kind == FaultSpec::Kind::kDropInData) continue;
      acc += f.probability;
      if (u < acc) {
        if (f.kind == FaultSpec::Kind::kTarpit) {
          delay_ms_ = static_cast<uint32_t>(env_->cfg.tarpit_ms);
          break;  // accepted, slowly
        }
        if (f.reply.code == 421) close_ = true;
        return Reply(Cmd::kRcpt, f.reply.code,
                     f.reply.enhanced.empty() ? f.reply.text
                                              : absl::StrCat(f.reply.enhanced, " ", f.reply.text));
      }
    }
  }
  ++rcpt_count_;
  if (env_->keep_rcpts) rcpts_.emplace_back(path);
  Reply(Cmd::kRcpt, 250, "2.1.5 Ok");
}

void SmtpSession::DoData() {
  if (!in_mail_) return Reply(Cmd::kData, 503, "5.5.1 Need MAIL command");
  if (rcpt_count_ == 0) return Reply(Cmd::kData, 554, "5.5.1 No valid recipients");
  if (bdat_used_) return Reply(Cmd::kData, 503, "5.5.1 DATA after BDAT");
  for (const FaultSpec& f : env_->cfg.faults) {
    if (f.kind == FaultSpec::Kind::kDropInData && env_->Uniform() < f.probability) drop_pending_ = true;
  }
  state_ = State::kData;
  data_state_ = 1;  // the CRLF after DATA counts as a line start: ".\r\n" is an empty message
  msg_bytes_ = 0;
  Reply(Cmd::kData, 354, "End data with <CR><LF>.<CR><LF>");
}

void SmtpSession::DoBdat(std::string_view arg) {
  arg = Trim(arg, kBlanks);
  std::string_view size_s = arg.substr(0, arg.find(' '));
  std::string_view rest = Trim(arg.substr(size_s.size()), kBlanks);
  uint64_t size = 0;
  if (size_s.empty() || !absl::SimpleAtoi(Av(size_s), &size) || (!rest.empty() && !IEquals(rest, "LAST"))) {
    // Without a valid size we cannot know where the chunk ends: the connection is unusable.
    close_ = true;
    return Reply(Cmd::kBdat, 501, "5.5.4 Syntax: BDAT size [LAST]");
  }
  bdat_ok_ = in_mail_ && rcpt_count_ > 0;
  if (bdat_ok_ && !bdat_used_) {
    msg_bytes_ = 0;
    for (const FaultSpec& f : env_->cfg.faults) {
      if (f.kind == FaultSpec::Kind::kDropInData && env_->Uniform() < f.probability) {
        drop_ = true;
        ++env_->stats.dropped_in_data;
        return;
      }
    }
  }
  bdat_used_ = bdat_used_ || bdat_ok_;
  bdat_last_ = !rest.empty();
  bdat_remaining_ = size;
  state_ = State::kBdat;
  if (size == 0) FeedBdat(nullptr, 0);
}

void SmtpSession::DoAuth(std::string_view arg) {
  if (env_->cfg.accounts.empty()) return Reply(Cmd::kAuth, 502, "5.5.1 AUTH not available");
  if (!helo_) return Reply(Cmd::kAuth, 503, "5.5.1 Send EHLO first");
  if (authed_) return Reply(Cmd::kAuth, 503, "5.5.1 Already authenticated");
  if (in_mail_) return Reply(Cmd::kAuth, 503, "5.5.1 AUTH not allowed during a transaction");
  arg = Trim(arg, kBlanks);
  std::string_view mech = arg.substr(0, arg.find(' '));
  std::string_view initial = Trim(arg.substr(mech.size()), kBlanks);
  if (IEquals(mech, "PLAIN")) {
    if (initial.empty()) {
      state_ = State::kAuthPlain;
      return ReplyRaw(Cmd::kAuth, 334, "334 ");
    }
    return AuthPlain(initial == "=" ? std::string_view() : initial);
  }
  if (IEquals(mech, "LOGIN")) {
    if (initial.empty()) {
      state_ = State::kAuthLoginUser;
      return ReplyRaw(Cmd::kAuth, 334, "334 VXNlcm5hbWU6");
    }
    std::string user;
    if (!absl::Base64Unescape(Av(initial), &user)) {
      return Reply(Cmd::kAuth, 501, "5.5.2 Cannot decode response");
    }
    login_user_ = user;
    state_ = State::kAuthLoginPass;
    return ReplyRaw(Cmd::kAuth, 334, "334 UGFzc3dvcmQ6");
  }
  return Reply(Cmd::kAuth, 504, "5.5.4 Unrecognized authentication type");
}

void SmtpSession::AuthPlain(std::string_view b64) {
  std::string dec;
  if (!absl::Base64Unescape(Av(b64), &dec)) return Reply(Cmd::kAuth, 501, "5.5.2 Cannot decode response");
  size_t a = dec.find('\0');
  size_t b = a == std::string::npos ? a : dec.find('\0', a + 1);
  if (b == std::string::npos) return Reply(Cmd::kAuth, 501, "5.5.2 Bad AUTH PLAIN response");
  AuthFinish(std::string_view(dec).substr(a + 1, b - a - 1), std::string_view(dec).substr(b + 1));
}

void SmtpSession::AuthFinish(std::string_view user, std::string_view pass) {
  int slot = env_->accounts->Find(user, pass);
  if (slot < 0 || env_->accounts->AuthFailed(slot)) {
    return Reply(Cmd::kAuth, 535, "5.7.8 Authentication credentials invalid");
  }
  authed_ = true;
  account_ = slot;
  Reply(Cmd::kAuth, 235, "2.7.0 Authentication successful");
}

}  // namespace salvo::sink
