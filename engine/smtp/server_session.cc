// engine/smtp: SMTP submission server state machine (see server_session.h).
#include "engine/smtp/server_session.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr size_t kMaxHelo = 255;

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsAsciiNoCase(s.substr(0, prefix.size()), prefix);
}

// "<path> params" after "FROM:" / "TO:" (a space after the colon is tolerated). False on bad
// syntax.
bool ParsePath(std::string_view arg, std::string_view* path, std::string_view* params) {
  arg = Trim(arg, kBlanks);
  if (arg.empty() || arg.front() != '<') return false;
  size_t close = arg.find('>');
  if (close == std::string_view::npos) return false;
  *path = arg.substr(1, close - 1);
  *params = Trim(arg.substr(close + 1), kBlanks);
  return true;
}

// Reply text from outside (store errors, ids): printable ASCII only, bounded.
std::string CleanText(std::string_view text) {
  std::string s = SanitizeForLog(text, 400);
  for (char& c : s)
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  return s;
}

}  // namespace

SmtpServerSession::SmtpServerSession(ServerSessionOptions options, bool tls_active)
    : options_(std::move(options)), tls_active_(tls_active) {}

void SmtpServerSession::Greet() { Reply(220, absl::StrCat(options_.hostname, " ESMTP salvo")); }

void SmtpServerSession::Reply(int code, std::string_view text) {
  absl::StrAppend(&out_, code, " ", Av(text), "\r\n");
}

void SmtpServerSession::Abort(std::string_view text) {
  Reply(421, absl::StrCat(CleanText(text)));
  close_ = true;
}

void SmtpServerSession::OnTlsStarted() {
  starttls_ = false;
  tls_active_ = true;
  helo_done_ = false;
  authenticated_ = false;
  state_ = State::kCommand;
  line_.clear();
  line_too_long_ = false;
  ResetTransaction();
}

void SmtpServerSession::ResetTransaction() {
  in_mail_ = false;
  sender_.clear();
  rcpts_.clear();
  rcpt_keys_.clear();
  body_.clear();
  data_line_.clear();
  oversized_ = false;
}

size_t SmtpServerSession::Feed(std::string_view in) {
  size_t pos = 0;
  while (pos < in.size() && wait_ == ServerWait::kNone && !close_ && !starttls_) {
    if (state_ == State::kData) {
      pos += FeedData(in.substr(pos));
      continue;
    }
    const char* nl = static_cast<const char*>(memchr(in.data() + pos, '\n', in.size() - pos));
    if (nl == nullptr) {  // partial line: keep it, bounded
      std::string_view piece = in.substr(pos);
      if (!line_too_long_ && line_.size() + piece.size() > kMaxCommandLine) {
        line_too_long_ = true;
        line_.clear();
      }
      if (!line_too_long_) line_.append(piece);
      return in.size();
    }
    size_t end = static_cast<size_t>(nl - in.data());
    std::string_view piece = in.substr(pos, end - pos);
    pos = end + 1;
    if (line_too_long_ || line_.size() + piece.size() > kMaxCommandLine) {
      line_too_long_ = false;
      line_.clear();
      ++progress_;
      state_ = State::kCommand;
      Reply(500, "5.5.2 Line too long");
      continue;
    }
    std::string_view line = piece;
    if (!line_.empty()) {
      line_.append(piece);
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++progress_;
    OnLine(line);
    line_.clear();
  }
  return pos;
}

void SmtpServerSession::OnLine(std::string_view line) {
  for (unsigned char c : line) {
    if (c == '\0' || c == '\r') {
      state_ = State::kCommand;
      return Reply(500, "5.5.2 Bare CR or NUL in command line");
    }
  }
  std::string decoded;
  switch (state_) {
    case State::kAuthPlain:
      state_ = State::kCommand;
      if (line == "*") return Reply(501, "5.0.0 Authentication cancelled");
      return AuthPlain(line);
    case State::kAuthLoginUser:
      if (line == "*") {
        state_ = State::kCommand;
        return Reply(501, "5.0.0 Authentication cancelled");
      }
      if (!absl::Base64Unescape(Av(line), &decoded)) {
        state_ = State::kCommand;
        return Reply(501, "5.5.2 Cannot decode response");
      }
      auth_user_ = std::move(decoded);
      state_ = State::kAuthLoginPass;
      return Reply(334, "UGFzc3dvcmQ6");  // "Password:"
    case State::kAuthLoginPass:
      state_ = State::kCommand;
      if (line == "*") return Reply(501, "5.0.0 Authentication cancelled");
      if (!absl::Base64Unescape(Av(line), &decoded)) return Reply(501, "5.5.2 Cannot decode response");
      return AskAuth(std::move(auth_user_), std::move(decoded));
    default:
      return OnCommand(line);
  }
}

void SmtpServerSession::OnCommand(std::string_view line) {
  std::string_view verb = line.substr(0, line.find(' '));
  std::string_view arg = verb.size() < line.size() ? line.substr(verb.size() + 1) : std::string_view();
  auto is = [&](std::string_view v) { return EqualsAsciiNoCase(verb, v); };
  if (is("MAIL")) return DoMail(arg);
  if (is("RCPT")) return DoRcpt(arg);
  if (is("DATA")) return DoData();
  if (is("EHLO")) return DoEhlo(arg, true);
  if (is("HELO")) return DoEhlo(arg, false);
  if (is("AUTH")) return DoAuth(arg);
  if (is("STARTTLS")) return DoStartTls(arg);
  if (is("RSET")) {
    ResetTransaction();
    return Reply(250, "2.0.0 Ok");
  }
  if (is("NOOP")) return Reply(250, "2.0.0 Ok");
  if (is("QUIT")) {
    close_ = true;
    return Reply(221, "2.0.0 Bye");
  }
  if (is("VRFY")) return Reply(252, "2.5.0 Cannot VRFY user");
  if (is("HELP")) return Reply(214, "2.0.0 See RFC 5321");
  return Reply(502, "5.5.2 Command not recognized");
}

void SmtpServerSession::DoEhlo(std::string_view arg, bool extended) {
  arg = Trim(arg, kBlanks);
  if (arg.empty()) return Reply(501, "5.5.4 Syntax: EHLO hostname");
  ResetTransaction();
  helo_done_ = true;
  helo_name_ = SanitizeForLog(arg.substr(0, arg.find(' ')), kMaxHelo);
  if (!extended) return Reply(250, options_.hostname);
  std::vector<std::string> lines = {options_.hostname, "PIPELINING",
                                    absl::StrCat("SIZE ", options_.max_message_bytes), "8BITMIME",
                                    "ENHANCEDSTATUSCODES"};
  if (options_.starttls_available && !tls_active_) lines.push_back("STARTTLS");
  if (!options_.auth_requires_tls || tls_active_) lines.push_back("AUTH PLAIN LOGIN");
  for (size_t i = 0; i < lines.size(); ++i)
    absl::StrAppend(&out_, "250", i + 1 < lines.size() ? "-" : " ", lines[i], "\r\n");
}

void SmtpServerSession::DoStartTls(std::string_view arg) {
  if (!options_.starttls_available) return Reply(502, "5.5.1 STARTTLS not available");
  if (tls_active_) return Reply(503, "5.5.1 TLS already active");
  if (!Trim(arg, kBlanks).empty()) return Reply(501, "5.5.4 Syntax: STARTTLS");
  starttls_ = true;
  Reply(220, "2.0.0 Ready to start TLS");
}

void SmtpServerSession::DoAuth(std::string_view arg) {
  if (!helo_done_) return Reply(503, "5.5.1 Send EHLO first");
  if (options_.auth_requires_tls && !tls_active_)
    return Reply(530, "5.7.0 Must issue a STARTTLS command first");
  if (authenticated_) return Reply(503, "5.5.1 Already authenticated");
  if (in_mail_) return Reply(503, "5.5.1 AUTH not allowed during a mail transaction");
  arg = Trim(arg, kBlanks);
  std::string_view mech = arg.substr(0, arg.find(' '));
  std::string_view initial = Trim(arg.substr(mech.size()), kBlanks);
  if (EqualsAsciiNoCase(mech, "PLAIN")) {
    if (initial.empty()) {
      state_ = State::kAuthPlain;
      return Reply(334, "");
    }
    return AuthPlain(initial == "=" ? std::string_view() : initial);
  }
  if (EqualsAsciiNoCase(mech, "LOGIN")) {
    if (initial.empty()) {
      state_ = State::kAuthLoginUser;
      return Reply(334, "VXNlcm5hbWU6");  // "Username:"
    }
    if (!absl::Base64Unescape(Av(initial), &auth_user_)) return Reply(501, "5.5.2 Cannot decode response");
    state_ = State::kAuthLoginPass;
    return Reply(334, "UGFzc3dvcmQ6");
  }
  return Reply(504, "5.5.4 Unrecognized authentication type (PLAIN, LOGIN)");
}

void SmtpServerSession::AuthPlain(std::string_view b64) {
  std::string dec;
  if (!absl::Base64Unescape(Av(b64), &dec)) return Reply(501, "5.5.2 Cannot decode response");
  // authzid NUL authcid NUL passwd (RFC 4616); the identity is authcid.
  size_t a = dec.find('\0');
  size_t b = a == std::string::npos ? a : dec.find('\0', a + 1);
  if (b == std::string::npos) return Reply(501, "5.5.2 Bad AUTH PLAIN response");
  std::string user = dec.substr(a + 1, b - a - 1);
  std::string pass = dec.substr(b + 1);
  std::fill(dec.begin(), dec.end(), '\0');
  AskAuth(std::move(user), std::move(pass));
}

void SmtpServerSession::AskAuth(std::string user, std::string pass) {
  auth_user_ = std::move(user);
  auth_pass_ = std::move(pass);
  wait_ = ServerWait::kAuth;
}

void SmtpServerSession::DoMail(std::string_view arg) {
  if (!helo_done_) return Reply(503, "5.5.1 Send EHLO/HELO first");
  if (!authenticated_) return Reply(530, "5.7.0 Authentication required");
  if (in_mail_) return Reply(503, "5.5.1 Nested MAIL command");
  if (!StartsWithNoCase(arg, "FROM:")) return Reply(501, "5.5.4 Syntax: MAIL FROM:<address>");
  std::string_view path, params;
  if (!ParsePath(arg.substr(5), &path, &params)) return Reply(501, "5.1.7 Bad sender address syntax");
  std::string sender;
  if (!path.empty()) {
    auto a = NormalizeAddress(path);
    if (!a.ok()) return Reply(501, absl::StrCat("5.1.7 ", CleanText(Sv(a.status().message()))));
    sender = a->address;
  }
  while (!params.empty()) {
    std::string_view p = params.substr(0, params.find(' '));
    params = Trim(params.substr(p.size()), kBlanks);
    if (StartsWithNoCase(p, "SIZE=")) {
      uint64_t size = 0;
      if (!absl::SimpleAtoi(Av(p.substr(5)), &size)) return Reply(501, "5.5.4 Bad SIZE parameter");
      if (size > options_.max_message_bytes)
        return Reply(552, absl::StrCat("5.3.4 Message size exceeds the limit of ",
                                       options_.max_message_bytes, " bytes"));
    } else if (StartsWithNoCase(p, "BODY=")) {
      std::string_view b = p.substr(5);
      if (!EqualsAsciiNoCase(b, "7BIT") && !EqualsAsciiNoCase(b, "8BITMIME"))
        return Reply(501, "5.5.4 Bad BODY parameter");
    } else if (!StartsWithNoCase(p, "AUTH=")) {
      return Reply(555, "5.5.4 Unsupported MAIL parameter");
    }
  }
  in_mail_ = true;
  sender_ = std::move(sender);
  Reply(250, "2.1.0 Ok");
}

void SmtpServerSession::DoRcpt(std::string_view arg) {
  if (!in_mail_) return Reply(503, "5.5.1 Need MAIL command");
  if (!StartsWithNoCase(arg, "TO:")) return Reply(501, "5.5.4 Syntax: RCPT TO:<address>");
  std::string_view path, params;
  if (!ParsePath(arg.substr(3), &path, &params) || path.empty())
    return Reply(501, "5.1.3 Bad recipient address syntax");
  if (!params.empty()) return Reply(555, "5.5.4 Unsupported RCPT parameter");
  if (rcpts_.size() >= options_.max_recipients) return Reply(452, "4.5.3 Too many recipients");
  auto a = NormalizeAddress(path);
  if (!a.ok()) return Reply(501, absl::StrCat("5.1.3 ", CleanText(Sv(a.status().message()))));
  for (const std::string& k : rcpt_keys_)
    if (k == a->key) return Reply(250, "2.1.5 Ok (duplicate recipient, sent once)");
  pending_rcpt_ = std::move(a->address);
  pending_rcpt_key_ = std::move(a->key);
  wait_ = ServerWait::kRecipient;
}

void SmtpServerSession::DoData() {
  if (!in_mail_) return Reply(503, "5.5.1 Need MAIL command");
  if (rcpts_.empty()) return Reply(554, "5.5.1 No valid recipients");
  state_ = State::kData;
  body_.clear();
  data_line_.clear();
  oversized_ = false;
  Reply(354, "End data with <CR><LF>.<CR><LF>");
}

size_t SmtpServerSession::FeedData(std::string_view in) {
  size_t pos = 0;
  while (pos < in.size() && state_ == State::kData) {
    const char* nl = static_cast<const char*>(memchr(in.data() + pos, '\n', in.size() - pos));
    if (nl == nullptr) {
      // Partial line: kept whole while the message fits, else only what tells a "." line.
      std::string_view piece = in.substr(pos);
      if (oversized_ || body_.size() + data_line_.size() + piece.size() > options_.max_message_bytes) {
        oversized_ = true;
        body_.clear();
        piece = piece.substr(0, data_line_.size() >= 2 ? 0 : 2 - data_line_.size());
      }
      data_line_.append(piece);
      return in.size();
    }
    size_t end = static_cast<size_t>(nl - in.data());
    std::string_view line = in.substr(pos, end - pos);
    pos = end + 1;
    if (!data_line_.empty()) {
      data_line_.append(line);
      line = data_line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == ".") {
      data_line_.clear();
      EndOfData();
      break;
    }
    DataLine(line);
    data_line_.clear();
  }
  return pos;
}

void SmtpServerSession::DataLine(std::string_view line) {
  if (!line.empty() && line.front() == '.') line.remove_prefix(1);  // dot-unstuffing
  if (oversized_ || body_.size() + line.size() + 2 > options_.max_message_bytes) {
    oversized_ = true;
    body_.clear();
    return;
  }
  // A bare CR inside the line ends a line too: the stored body has CRLF only.
  for (size_t cr; (cr = line.find('\r')) != std::string_view::npos; line.remove_prefix(cr + 1)) {
    body_.append(line.substr(0, cr));
    body_.append("\r\n");
  }
  body_.append(line);
  body_.append("\r\n");
}

void SmtpServerSession::EndOfData() {
  state_ = State::kCommand;
  ++progress_;
  if (oversized_) {
    ResetTransaction();
    return Reply(552, absl::StrCat("5.3.4 Message size exceeds the limit of ",
                                   options_.max_message_bytes, " bytes"));
  }
  wait_ = ServerWait::kMessage;
}

void SmtpServerSession::Resolve(int code, std::string_view text) {
  const ServerWait was = std::exchange(wait_, ServerWait::kNone);
  const bool ok = code >= 200 && code < 300;
  std::string clean = CleanText(text);
  switch (was) {
    case ServerWait::kNone:
      return;
    case ServerWait::kAuth:
      std::fill(auth_pass_.begin(), auth_pass_.end(), '\0');
      auth_pass_.clear();
      if (ok) {
        authenticated_ = true;
        return Reply(235, "2.7.0 Authentication successful");
      }
      Reply(code, clean);
      if (++auth_failures_ >= kMaxAuthFailures) Abort("4.7.0 Too many authentication failures");
      return;
    case ServerWait::kRecipient:
      if (ok) {
        rcpts_.push_back(std::move(pending_rcpt_));
        rcpt_keys_.push_back(std::move(pending_rcpt_key_));
      }
      pending_rcpt_.clear();
      return Reply(code, clean);
    case ServerWait::kMessage:
      ResetTransaction();
      return Reply(code, clean);
  }
}

}  // namespace salvo
