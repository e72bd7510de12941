// engine/smtp/reply_parser.h — incremental, bounded parser of SMTP server replies
// (RFC 5321 §4.2).
//
// Trust: everything it reads comes from the server and is hostile. Bytes may arrive split at any
// position. Limits: a line over kMaxReplyLineBytes or a reply over kMaxReplyBytes is a typed error
// (the caller must drop the connection). Stored text has its non-printable bytes replaced by '?'.
// Multi-line replies ("250-a" ... "250 b", including Postfix smtp-sink's empty last line "250 ")
// are joined with "\n" in SmtpReply::text. RFC 3463 enhanced codes ("5.1.1") are split off the
// text when the server offered ENHANCEDSTATUSCODES, or when the text clearly starts with one whose
// class digit matches the basic code. Lines may end in CRLF or a bare LF (tolerated on input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/smtp/reply.h"

namespace salvo {

inline constexpr size_t kMaxReplyLineBytes = 4096;      // per line, including CRLF
inline constexpr size_t kMaxReplyBytes = 64 * 1024;     // per (multi-line) reply

enum class ReplyError : uint8_t {
  kNone,
  kLineTooLong,   // a line exceeded kMaxReplyLineBytes
  kReplyTooLong,  // a reply exceeded kMaxReplyBytes
  kBadSyntax,     // not "ddd", "ddd text", "ddd-text" (garbage, 1xx, bad separator)
  kCodeMismatch,  // lines of one multi-line reply carry different codes
};
const char* ReplyErrorName(ReplyError e);  // "reply line too long", ...

class ReplyParser {
 public:
  enum class Status : uint8_t {
    kNeedMore,  // all input consumed, no complete reply yet
    kReply,     // reply() holds a complete reply; call Feed again with the rest of the input
    kError,     // error() says why; the parser stays in error until Reset()
  };

  ReplyParser();

  // Consumes bytes from `in` up to and including the end of the first complete reply (it stops
  // there so the caller can act on it, e.g. switch to TLS, before parsing further). Sets
  // *consumed to the number of bytes taken from `in`.
  Status Feed(std::string_view in, size_t* consumed);

  // The last complete reply; valid after kReply until the next Feed().
  const SmtpReply& reply() const { return reply_; }
  ReplyError error() const { return error_; }
  // Plain words for the error, naming the offending line (sanitized, cut), e.g.
  // "garbage instead of an SMTP reply: \"HTTP/1.1 400\"".
  const std::string& error_text() const { return error_text_; }

  // Whether the server offered ENHANCEDSTATUSCODES (set by the session after EHLO).
  void set_enhanced_status_codes(bool offered) { enhanced_offered_ = offered; }

  // True when part of a reply has been read (a line or more) but it is not complete yet.
  bool InReply() const { return !line_.empty() || (lines_ > 0 && !done_); }

  // Forgets partial input and errors (keeps the enhanced-codes setting).
  void Reset();

 private:
  Status Fail(ReplyError e, std::string_view line);
  Status ProcessLine(std::string_view line);  // line without its terminator

  SmtpReply reply_;
  std::string line_;        // partial line carried between Feed() calls
  size_t reply_bytes_ = 0;  // bytes of the reply so far
  int lines_ = 0;           // lines of the current reply so far
  int code_ = 0;            // code of the current reply's first line
  bool enhanced_offered_ = false;
  bool done_ = false;       // reply_ holds a finished reply; cleared by the next line
  ReplyError error_ = ReplyError::kNone;
  std::string error_text_;
};

}  // namespace salvo
