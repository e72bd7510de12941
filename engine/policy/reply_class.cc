// Reply classification table (see reply_class.h). Checked against every row of
// tests/fixtures/smtp_replies.tsv in tests/engine/policy/reply_class_test.cc.
#include "engine/policy/reply_class.h"

#include <algorithm>
#include <cctype>

namespace salvo {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s.substr(0, 4096));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Has(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

bool Starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "d.d{1,3}.d{1,3}" at the start of s; returns its length or 0.
size_t EnhancedLen(std::string_view s) {
  size_t i = 0;
  if (i >= s.size() || !(s[i] == '2' || s[i] == '4' || s[i] == '5')) return 0;
  ++i;
  for (int part = 0; part < 2; ++part) {
    if (i >= s.size() || s[i] != '.') return 0;
    ++i;
    size_t start = i;
    while (i < s.size() && i - start < 3 && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return 0;
  }
  if (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) return 0;
  return i;
}

bool IsCode(std::string_view s) {
  return s.size() >= 3 && std::isdigit(static_cast<unsigned char>(s[0])) &&
         std::isdigit(static_cast<unsigned char>(s[1])) &&
         std::isdigit(static_cast<unsigned char>(s[2])) && (s.size() == 3 || s[3] == ' ' ||
                                                            s[3] == '-');
}

}  // namespace

std::string_view ReplyClassName(ReplyClass c) {
  switch (c) {
    case ReplyClass::kDelivered: return "delivered";
    case ReplyClass::kHard: return "hard";
    case ReplyClass::kPolicy: return "policy";
    case ReplyClass::kSoft: return "soft";
    case ReplyClass::kThrottle: return "throttle";
    case ReplyClass::kQuota: return "quota";
    case ReplyClass::kAuth: return "auth";
  }
  return "soft";
}

ReplyClass ClassifyReply(const SmtpReply& reply) {
  const int code = reply.code;
  if (code >= 200 && code < 300) return ReplyClass::kDelivered;
  if (code == 0) return ReplyClass::kSoft;  // connection-level failure
  const std::string t = Lower(reply.text);
  const std::string& e = reply.enhanced;

  // Account-level refusals: the submission server refuses our account.
  if (code == 535 || code == 534 || code == 530 || e == "5.7.8" || e == "4.7.8" ||
      (e == "5.7.0" && Has(t, "authentication")) || Has(t, "authentication failed") ||
      Has(t, "maximum credits exceeded") || Has(t, "unauthenticated senders not allowed") ||
      Has(t, "authentication required"))
    return ReplyClass::kAuth;

  if (code >= 400 && code < 500) {
    if (e == "4.2.2" || Has(t, "over quota") || Has(t, "mailbox full") || Has(t, "quota exceeded"))
      return ReplyClass::kQuota;
    if (Starts(e, "4.7.") || e == "4.2.1" || Has(t, "tss04") || Has(t, "rate limit") ||
        Has(t, "rate that") || Has(t, "too many") || Has(t, "unusual rate") ||
        Has(t, "maximum number of connections") ||
        (code == 421 && Has(t, "temporarily deferred")) || (Has(t, "try again later") && e.empty()))
      return ReplyClass::kThrottle;
    return ReplyClass::kSoft;
  }
  if (code >= 500 && code < 600) {
    // Sender-side refusals (policy, reputation, DMARC, content) never suppress the recipient.
    if (Starts(e, "5.7.") || Has(t, "block list") || Has(t, "blocklist") || Has(t, "dmarc") ||
        Has(t, "spam") || Has(t, "reputation"))
      return ReplyClass::kPolicy;
    if (e == "5.2.2") return ReplyClass::kPolicy;  // mailbox full: not the address's fault
    if (Starts(e, "5.1.") && e != "5.1.7" && e != "5.1.8") return ReplyClass::kHard;
    if (e == "5.2.1" || e == "5.4.4" || (e == "5.5.0" && Has(t, "mailbox"))) return ReplyClass::kHard;
    if (Has(t, "does not exist") || Has(t, "doesn't exist") || Has(t, "no such user") ||
        Has(t, "user unknown") || Has(t, "unknown user") || Has(t, "mailbox unavailable") ||
        Has(t, "recipient not found") || Has(t, "doesn't have a") || Has(t, "account disabled") ||
        Has(t, "invalid recipient") || Has(t, "address rejected"))
      return ReplyClass::kHard;
    return ReplyClass::kPolicy;
  }
  return ReplyClass::kSoft;  // 1xx/3xx where a final reply was due: treat as temporary
}

SmtpReply ParseLoggedReply(std::string_view line) {
  SmtpReply r;
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
  if (Starts(line, "smtp;")) {
    line.remove_prefix(5);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  }
  if (!IsCode(line)) {
    r.text = std::string(line.substr(0, 4096));
    return r;
  }
  r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  const std::string code(line.substr(0, 3));
  // Walk "CODE[- ]" segments; each may be followed by the enhanced code.
  std::string text;
  size_t i = 0;
  while (i < line.size()) {
    // At a segment start: "550-" or "550 ".
    size_t seg = i + 4 <= line.size() ? i + 4 : line.size();
    if (i + 3 < line.size() && line.substr(i, 3) == code && (line[i + 3] == '-' || line[i + 3] == ' '))
      i = seg;
    else if (i + 3 == line.size() && line.substr(i, 3) == code)
      break;
    std::string_view rest = line.substr(i);
    if (size_t el = EnhancedLen(rest)) {
      if (r.enhanced.empty()) r.enhanced = std::string(rest.substr(0, el));
      i += el;
      while (i < line.size() && line[i] == ' ') ++i;
    }
    // Text up to the next " CODE-" / " CODE " continuation.
    size_t next = i;
    while (true) {
      size_t p = line.find(code, next);
      if (p == std::string_view::npos) { next = line.size(); break; }
      if (p > 0 && line[p - 1] == ' ' && p + 3 < line.size() &&
          (line[p + 3] == '-' || line[p + 3] == ' ') &&
          (line[p + 3] == '-' || EnhancedLen(line.substr(p + 4)) > 0 || r.enhanced.empty())) {
        // A continuation marker: with '-' always; with ' ' only when an enhanced code follows
        // (or there is none in this reply) to avoid cutting ordinary text.
        if (line[p + 3] == '-' || (!r.enhanced.empty() &&
                                   line.substr(p + 4, r.enhanced.size()) == r.enhanced)) {
          next = p;
          break;
        }
      }
      next = p + 3;
    }
    std::string_view piece = line.substr(i, next - i);
    while (!piece.empty() && piece.back() == ' ') piece.remove_suffix(1);
    if (!piece.empty()) {
      if (!text.empty()) text.push_back(' ');
      text.append(piece);
    }
    i = next;
    if (text.size() > 65536) break;
  }
  r.text = std::move(text);
  return r;
}

}  // namespace salvo
