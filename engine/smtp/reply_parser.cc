// engine/smtp/reply_parser.cc — incremental, bounded SMTP reply parser (see reply_parser.h).
// Trust: input is hostile; every path is bounded by kMaxReplyLineBytes / kMaxReplyBytes.
#include "engine/smtp/reply_parser.h"

#include <cstring>

#include "engine/base/strings.h"
#include "engine/smtp/enhanced_code.h"

namespace salvo {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of an RFC 3463 code ("5.1.1") at the start of `text`, followed by a space or the end;
// 0 when there is none. `cls` receives the class digit.
size_t LeadingEnhancedCode(std::string_view text, char* cls) {
  const size_t n = EnhancedCodeLength(text);
  if (n == 0 || (n < text.size() && text[n] != ' ')) return 0;
  *cls = text[0];
  return n;
}

void AppendSanitized(std::string_view in, std::string* out) {
  size_t old = out->size();
  out->resize(old + in.size());
  char* p = out->data() + old;
  for (unsigned char c : in) *p++ = (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
}

}  // namespace

const char* ReplyErrorName(ReplyError e) {
  switch (e) {
    case ReplyError::kNone: return "no error";
    case ReplyError::kLineTooLong: return "reply line too long";
    case ReplyError::kReplyTooLong: return "reply too long";
    case ReplyError::kBadSyntax: return "garbage instead of an SMTP reply";
    case ReplyError::kCodeMismatch: return "reply codes differ between lines";
  }
  return "?";
}

ReplyParser::ReplyParser() { line_.reserve(256); }

void ReplyParser::Reset() {
  reply_ = SmtpReply();
  line_.clear();
  reply_bytes_ = 0;
  lines_ = 0;
  code_ = 0;
  done_ = false;
  error_ = ReplyError::kNone;
  error_text_.clear();
}

ReplyParser::Status ReplyParser::Fail(ReplyError e, std::string_view line) {
  error_ = e;
  error_text_ = ReplyErrorName(e);
  switch (e) {
    case ReplyError::kLineTooLong:
      error_text_ += " (over " + std::to_string(kMaxReplyLineBytes) + " bytes)";
      break;
    case ReplyError::kReplyTooLong:
      error_text_ += " (over " + std::to_string(kMaxReplyBytes) + " bytes)";
      break;
    default:
      break;
  }
  if (!line.empty()) error_text_ += ": \"" + SanitizeForLog(line, 80) + "\"";
  line_.clear();
  line_.shrink_to_fit();
  return Status::kError;
}

ReplyParser::Status ReplyParser::Feed(std::string_view in, size_t* consumed) {
  *consumed = 0;
  if (error_ != ReplyError::kNone) return Status::kError;
  if (done_) {
    done_ = false;
    reply_.code = 0;
    reply_.enhanced.clear();
    reply_.text.clear();
    reply_bytes_ = 0;
    lines_ = 0;
    code_ = 0;
  }
  size_t pos = 0;
  while (pos < in.size()) {
    const char* start = in.data() + pos;
    const size_t avail = in.size() - pos;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
    const size_t n = nl ? static_cast<size_t>(nl - start) + 1 : avail;  // incl. LF
    if (line_.size() + n > kMaxReplyLineBytes) {
      *consumed = pos + n;
      line_.append(start, std::min<size_t>(n, 80));
      return Fail(ReplyError::kLineTooLong, line_);
    }
    if (reply_bytes_ + line_.size() + n > kMaxReplyBytes) {
      *consumed = pos + n;
      return Fail(ReplyError::kReplyTooLong, std::string_view(start, std::min<size_t>(n, 80)));
    }
    pos += n;
    if (!nl) {
      line_.append(start, n);
      break;
    }
    reply_bytes_ += line_.size() + n;
    std::string_view line;
    if (line_.empty()) {
      line = std::string_view(start, n - 1);
    } else {
      line_.append(start, n - 1);
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Status s = ProcessLine(line);
    line_.clear();
    if (s != Status::kNeedMore) {
      *consumed = pos;
      if (s == Status::kReply) done_ = true;
      return s;
    }
  }
  *consumed = pos;
  return Status::kNeedMore;
}

ReplyParser::Status ReplyParser::ProcessLine(std::string_view line) {
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
      !IsDigit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    return Fail(ReplyError::kBadSyntax, line);
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (lines_ > 0 && code != code_) return Fail(ReplyError::kCodeMismatch, line);
  code_ = code;
  const bool last = line.size() == 3 || line[3] == ' ';
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
  char cls = 0;
  const size_t elen = LeadingEnhancedCode(text, &cls);
  if (elen > 0 && (enhanced_offered_ || cls == line[0])) {
    if (reply_.enhanced.empty()) reply_.enhanced.assign(text.data(), elen);
    text.remove_prefix(elen);
    if (!text.empty()) text.remove_prefix(1);  // the space after the code
  }
  if (lines_ > 0) reply_.text += '\n';
  AppendSanitized(text, &reply_.text);
  ++lines_;
  if (!last) return Status::kNeedMore;
  reply_.code = code;
  return Status::kReply;
}

}  // namespace salvo
