// engine/smtp: the server side of SMTP submission (RFC 5321, 6409, 4954, 3207, 2920, 1870) as a
// pure state machine: bytes in, reply bytes out, and requests the owner answers (check these
// credentials, may this recipient be sent to, queue this message). No I/O and no store: the
// runtime (shard/submission_server.h) does the lookups off its event loop and calls Resolve().
//
// Trust: the client is hostile until it authenticated, and still bounded after. Command lines
// are capped at kMaxCommandLine, the message at max_message_bytes (the rest of an oversized
// message is read and discarded, then 552), recipients at max_recipients, failed AUTH attempts
// at kMaxAuthFailures. Replies are built from constants and sanitized text: never a bare CR or
// LF on the wire. The message body is dot-unstuffed and CRLF-normalized: lines end at LF (a CR before
// it is part of the line end), a bare CR inside a line becomes CRLF; a line holding only "."
// ends the message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace salvo {

inline constexpr size_t kMaxCommandLine = 4096;  // command lines and AUTH responses
inline constexpr int kMaxAuthFailures = 3;       // then 421 and the connection ends

struct ServerSessionOptions {
  std::string hostname = "localhost";  // greeting, EHLO
  uint64_t max_message_bytes = 10u << 20;
  uint32_t max_recipients = 1000;
  bool starttls_available = false;  // a certificate is loaded: STARTTLS is offered
  bool auth_requires_tls = true;    // AUTH only once TLS is active (with a certificate)
};

// What the session waits for; Feed() consumes nothing more until Resolve().
enum class ServerWait : uint8_t {
  kNone,
  kAuth,       // auth_user() / auth_password(): 235 accepts, anything else refuses
  kRecipient,  // recipient() (normalized): 250 accepts it, anything else refuses it
  kMessage,    // sender(), recipients(), body(): the reply to the end of data
};

class SmtpServerSession {
 public:
  // `tls_active`: the connection is already TLS (implicit TLS listener).
  SmtpServerSession(ServerSessionOptions options, bool tls_active);

  // Queues the 220 greeting.
  void Greet();
  // Consumes received bytes and returns how many: all of them unless the session now waits for
  // a Resolve(), asked to close or to start TLS. The owner keeps the rest and feeds it again
  // after Resolve(); after STARTTLS the rest must be discarded (RFC 3207 §5, command injection).
  size_t Feed(std::string_view in);
  // Answers the current wait with a reply ("550", "5.7.1 ... suppressed"). CR/LF and control
  // bytes in `text` become spaces.
  void Resolve(int code, std::string_view text);

  // Reply bytes to send; the owner takes them (swap or clear).
  std::string& out() { return out_; }
  ServerWait waiting() const { return wait_; }
  bool close_after_flush() const { return close_; }  // QUIT, 421: send out(), then close
  bool starttls_requested() const { return starttls_; }
  // The owner switched the connection to TLS: state resets as RFC 3207 §4.2 requires.
  void OnTlsStarted();
  // Ends the session with 421 (timeout, shutdown): `text` like "4.4.2 Idle timeout".
  void Abort(std::string_view text);

  bool tls_active() const { return tls_active_; }
  bool authenticated() const { return authenticated_; }
  bool in_data() const { return state_ == State::kData; }
  // Complete commands (and message ends) so far: the owner's per-command timer restarts when
  // this changes, so a client that trickles bytes still times out.
  uint64_t progress() const { return progress_; }

  const std::string& helo() const { return helo_name_; }           // sanitized
  const std::string& auth_user() const { return auth_user_; }      // while kAuth
  const std::string& auth_password() const { return auth_pass_; }  // while kAuth; wiped after
  const std::string& recipient() const { return pending_rcpt_; }   // while kRecipient
  const std::string& recipient_key() const { return pending_rcpt_key_; }  // case-folded
  const std::string& sender() const { return sender_; }            // "" = null sender
  const std::vector<std::string>& recipients() const { return rcpts_; }
  std::string& body() { return body_; }                            // while kMessage

 private:
  enum class State : uint8_t { kCommand, kData, kAuthPlain, kAuthLoginUser, kAuthLoginPass };

  void Reply(int code, std::string_view text);
  void OnLine(std::string_view line);
  void OnCommand(std::string_view line);
  void DoEhlo(std::string_view arg, bool extended);
  void DoAuth(std::string_view arg);
  void DoMail(std::string_view arg);
  void DoRcpt(std::string_view arg);
  void DoData();
  void DoStartTls(std::string_view arg);
  void AuthPlain(std::string_view b64);
  void AskAuth(std::string user, std::string pass);
  void ResetTransaction();
  size_t FeedData(std::string_view in);
  void DataLine(std::string_view line);  // one complete line, without its line end
  void EndOfData();

  ServerSessionOptions options_;
  std::string out_;
  State state_ = State::kCommand;
  ServerWait wait_ = ServerWait::kNone;
  std::string line_;  // partial command line (bounded)
  bool line_too_long_ = false;
  bool close_ = false;
  bool starttls_ = false;
  bool tls_active_;
  bool helo_done_ = false;
  bool authenticated_ = false;
  int auth_failures_ = 0;
  uint64_t progress_ = 0;
  std::string helo_name_, auth_user_, auth_pass_, pending_rcpt_;

  bool in_mail_ = false;
  std::string sender_;
  std::vector<std::string> rcpts_;
  std::vector<std::string> rcpt_keys_;  // case-folded, for duplicates
  std::string pending_rcpt_key_;
  std::string body_;
  std::string data_line_;   // partial data line (bounded by the message limit)
  bool oversized_ = false;  // the message passed max_message_bytes: discarded, 552 at the end
};

}  // namespace salvo
