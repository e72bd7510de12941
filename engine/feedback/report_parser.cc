// DSN / ARF parsing and classification. See report_parser.h.
#include "engine/feedback/report_parser.h"

#include <xxhash.h>

#include <cctype>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/feedback/mail_reader.h"
#include "engine/smtp/enhanced_code.h"

namespace salvo {
namespace {


// "rfc822; a@b" / "<a@b>" / "a@b" -> "a@b".
std::string AddressValue(std::string_view v) {
  size_t semi = v.find(';');
  if (semi != std::string_view::npos) v = v.substr(semi + 1);
  v = Trim(v, kAsciiSpace);
  if (!v.empty() && v.front() == '<') {
    size_t close = v.find('>');
    v = v.substr(1, close == std::string_view::npos ? v.npos : close - 1);
  }
  v = Trim(v, kAsciiSpace);
  if (v.size() > 320 || v.find('@') == std::string_view::npos) return "";
  for (char c : v)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "";
  return std::string(v);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// First RFC 3463 enhanced status code ("5.1.1") in text, "" if none.
std::string FindEnhancedStatus(std::string_view t) { return std::string(FindEnhancedCode(t)); }

// First 3-digit SMTP reply code at a word start ("550"), 0 if none.
int FindReplyCode(std::string_view t) {
  for (size_t i = 0; i + 3 <= t.size(); ++i) {
    if ((t[i] == '4' || t[i] == '5') && IsDigit(t[i + 1]) && IsDigit(t[i + 2]) &&
        (i == 0 || !std::isalnum(static_cast<unsigned char>(t[i - 1]))) &&
        (i + 3 == t.size() || t[i + 3] == ' ' || t[i + 3] == '-'))
      return (t[i] - '0') * 100 + (t[i + 1] - '0') * 10 + (t[i + 2] - '0');
  }
  return 0;
}

bool MentionsAny(std::string_view lower_text, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words)
    if (lower_text.find(w) != std::string_view::npos) return true;
  return false;
}

bool LooksLikeUnknownUser(std::string_view lower) {
  return MentionsAny(lower, {"user unknown", "unknown user", "does not exist", "no such user",
                             "mailbox not found", "mailbox unavailable", "recipient not found",
                             "recipnotfound", "address rejected", "invalid recipient",
                             "no mailbox", "account disabled", "not found"});
}

bool LooksLikeSenderPolicy(std::string_view lower) {
  return MentionsAny(lower, {"block", "spam", "reputation", "dmarc", "spf", "dkim", "policy",
                             "blacklist", "denylist", "rbl", "content", "unauthenticated",
                             "rate limit", "too many"});
}

std::string EventId(std::string_view prefix, std::string_view report_id, std::string_view rcpt) {
  return SanitizeForLog(absl::StrCat(Av(prefix), ":", Av(report_id), ":", Av(rcpt)), kMaxIdBytes);
}

// Headers of the returned message (text/rfc822-headers or message/rfc822 part), if any.
std::vector<HeaderField> ReturnedHeaders(const MailPart& root) {
  std::vector<HeaderField> out;
  ForEachPart(root, [&](const MailPart& p) {
    if (!out.empty()) return;
    if (p.content_type == "text/rfc822-headers" || p.content_type == "message/rfc822" ||
        p.content_type == "message/rfc822-headers")
      out = ParseHeaderBlock(p.body, nullptr);
  });
  return out;
}

const std::string* Find(const std::vector<HeaderField>& h, std::string_view name) {
  for (const HeaderField& f : h)
    if (f.name == name) return &f.value;
  return nullptr;
}

// Collects salvo tags from the returned headers and the report's envelope fields.
void CollectTags(const MailPart& root, const std::vector<HeaderField>& returned,
                 std::vector<std::string>* tags) {
  auto add = [tags](std::string t) {
    if (t.empty() || t.size() > 1024 || tags->size() >= 8) return;
    for (const std::string& x : *tags)
      if (x == t) return;
    tags->push_back(std::move(t));
  };
  for (const char* name : {"x-salvo-id"})
    if (const std::string* v = Find(returned, name)) add(std::string(Trim(*v, kAsciiSpace)));
  for (const char* name : {"return-path", "to"})
    if (const std::string* v = Find(returned, name)) add(VerpTag(*v));
  for (const char* name : {"to", "x-original-to", "delivered-to"})
    if (const std::string* v = root.Header(name)) add(VerpTag(*v));
  if (const std::string* v = root.Header("x-salvo-id")) add(std::string(Trim(*v, kAsciiSpace)));
}

// Per-recipient DSN blocks from a message/delivery-status body.
void ParseDeliveryStatus(std::string_view body, std::string_view report_id, ParsedReport* out) {
  std::string_view rest = body;
  ParseHeaderBlock(rest, &rest);  // per-message fields
  while (!rest.empty() && out->events.size() < 10000) {
    // Skip blank lines between blocks.
    while (!rest.empty() && (rest.front() == '\n' || rest.front() == '\r')) rest.remove_prefix(1);
    if (rest.empty()) break;
    std::string_view before = rest;
    std::vector<HeaderField> f = ParseHeaderBlock(rest, &rest);
    if (rest.size() == before.size()) break;  // no progress: garbage
    const std::string* action = Find(f, "action");
    const std::string* final_rcpt = Find(f, "final-recipient");
    const std::string* orig_rcpt = Find(f, "original-recipient");
    if (!action && !final_rcpt && !orig_rcpt) continue;
    FeedbackEvent ev;
    ev.provider = "dsn";
    if (orig_rcpt) ev.recipient = AddressValue(*orig_rcpt);
    if (ev.recipient.empty() && final_rcpt) ev.recipient = AddressValue(*final_rcpt);
    const std::string* status = Find(f, "status");
    const std::string* diag = Find(f, "diagnostic-code");
    ev.type = action ? AsciiLower(Trim(*action, kAsciiSpace)) : "failed";
    ev.klass = ClassifyDsn(ev.type, status ? std::string_view(*status) : "",
                           diag ? std::string_view(*diag) : "");
    ev.reason = SanitizeForLog(absl::StrCat(ev.type, "; ", status ? Av(*status) : "", "; ",
                                            diag ? Av(*diag) : ""),
                               kMaxReasonBytes);
    ev.event_id = EventId("dsn", report_id, ev.recipient);
    out->events.push_back(std::move(ev));
  }
}

// One bounce event for `rcpt` from the human-readable text that gives its reason.
FeedbackEvent PlainTextEvent(std::string rcpt, std::string_view para, std::string_view report_id) {
  FeedbackEvent ev;
  ev.provider = "dsn";
  ev.recipient = std::move(rcpt);
  std::string status = FindEnhancedStatus(para);
  int code = FindReplyCode(para);
  if (status.empty() && code) status = absl::StrCat(code / 100, ".0.0");
  std::string lower = AsciiLower(para);
  ev.type = MentionsAny(lower, {"delayed", "will retry", "still trying", "temporary"}) ||
                    (!status.empty() && status[0] == '4')
                ? "delayed"
                : "failed";
  ev.klass = ClassifyDsn(ev.type, status, para);
  ev.reason = SanitizeForLog(absl::StrCat(ev.type, "; ", status, "; ", Av(para)), kMaxReasonBytes);
  ev.event_id = EventId("dsn", report_id, ev.recipient);
  return ev;
}

// Plain-text bounce wording (Postfix "<a@b>: host ... said: 550 5.1.1 ...", Sendmail
// "<a@b>\n (reason: 550 ...)", Exchange 2010+ "a@b\n#550 5.1.1 RESOLVER... ##" and 2003
// "a@b on DATE\n ... <server #5.1.1 smtp;550 ...>").
void ParsePlainText(std::string_view text, std::string_view report_id, ParsedReport* out) {
  struct Hit { std::string rcpt; std::string para; };
  std::vector<Hit> hits;
  std::string all_codes;  // for the single-recipient fallback
  size_t pos = 0;
  while (pos < text.size() && hits.size() < 1000) {
    size_t end = text.find("\n\n", pos);
    std::string_view para = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 2;
    // Addresses in angle brackets, or "addr:" at the paragraph start.
    std::string rcpt;
    size_t lt = para.find('<');
    if (lt != std::string_view::npos) {
      size_t gt = para.find('>', lt);
      if (gt != std::string_view::npos) rcpt = AddressValue(para.substr(lt, gt - lt + 1));
    }
    if (rcpt.empty()) {
      std::string_view first = Trim(para.substr(0, para.find('\n')), kAsciiSpace);
      size_t colon = first.find(':');
      if (colon != std::string_view::npos) rcpt = AddressValue(first.substr(0, colon));
      // Exchange: a bare address opening the paragraph ("john@contoso.example", or
      // "john@contoso.example on 1/14/2026 10:00 AM").
      std::string_view token = first.substr(0, first.find_first_of(" \t"));
      if (rcpt.empty() && token.find(':') == std::string_view::npos) rcpt = AddressValue(token);
    }
    std::string lower = AsciiLower(rcpt);
    if (!rcpt.empty() && (lower.rfind("postmaster@", 0) == 0 ||
                          lower.rfind("mailer-daemon@", 0) == 0 || !VerpTag(rcpt).empty()))
      rcpt.clear();
    bool has_code = !FindEnhancedStatus(para).empty() || FindReplyCode(para) != 0;
    if (!rcpt.empty() && has_code) {
      hits.push_back({rcpt, std::string(para.substr(0, 2048))});
    } else if (!rcpt.empty()) {
      hits.push_back({rcpt, ""});
    } else if (has_code && !hits.empty() && hits.back().para.empty()) {
      hits.back().para = std::string(para.substr(0, 2048));  // reason in the next paragraph
    }
  }
  for (Hit& h : hits) {
    if (h.para.empty()) continue;
    out->events.push_back(PlainTextEvent(h.rcpt, h.para, report_id));
  }
}

}  // namespace

std::string HeaderAddress(std::string_view a) {
  std::string v = AddressValue(a);
  if (v.empty()) {
    // "Name <bounces+x@d>" forms.
    size_t lt = a.find('<');
    if (lt != std::string_view::npos) v = AddressValue(a.substr(lt));
  }
  return v;
}

std::string VerpTag(std::string_view a) {
  std::string v = HeaderAddress(a);
  size_t at = v.rfind('@');
  if (at == std::string::npos) return "";
  std::string_view local = std::string_view(v).substr(0, at);
  constexpr std::string_view kPrefix = "bounces+";
  if (local.size() <= kPrefix.size() || AsciiLower(local.substr(0, kPrefix.size())) != kPrefix)
    return "";
  return std::string(local.substr(kPrefix.size()));
}

FeedbackClass ClassifyDsn(std::string_view action, std::string_view status,
                          std::string_view diagnostic) {
  std::string act = AsciiLower(Trim(action, kAsciiSpace));
  if (act == "delayed") return FeedbackClass::kSoftBounce;
  if (act == "delivered" || act == "relayed" || act == "expanded") return FeedbackClass::kIgnore;
  std::string st = FindEnhancedStatus(status);
  if (st.empty()) st = FindEnhancedStatus(diagnostic);
  std::string lower = AsciiLower(diagnostic.substr(0, 4096));
  if (st.empty()) {
    int code = FindReplyCode(diagnostic);
    if (code >= 500) st = "5.0.0";
    else if (code >= 400) st = "4.0.0";
    else return LooksLikeUnknownUser(lower) ? FeedbackClass::kHardBounce : FeedbackClass::kSoftBounce;
  }
  if (st[0] == '2') return FeedbackClass::kIgnore;
  if (st[0] == '4') return FeedbackClass::kSoftBounce;
  // 5.x.y
  int subject = 0, detail = 0;
  std::sscanf(st.c_str() + 2, "%d.%d", &subject, &detail);
  switch (subject) {
    case 1:  // addressing: bad mailbox / domain; 5.1.7 and 5.1.8 are about the sender
      return (detail == 7 || detail == 8) ? FeedbackClass::kSoftBounce : FeedbackClass::kHardBounce;
    case 2:  // mailbox: 5.2.1 disabled is dead; full (5.2.2) or too big (5.2.3) is not
      return (detail == 0 || detail == 1) ? FeedbackClass::kHardBounce : FeedbackClass::kSoftBounce;
    case 4:  // routing: 5.4.4 unable to route (no such domain) is dead; the rest is network
      return detail == 4 ? FeedbackClass::kHardBounce : FeedbackClass::kSoftBounce;
    case 0:  // unspecific: decide from the wording
      if (LooksLikeSenderPolicy(lower)) return FeedbackClass::kSoftBounce;
      return LooksLikeUnknownUser(lower) || lower.empty() ? FeedbackClass::kHardBounce
                                                          : FeedbackClass::kSoftBounce;
    default:  // 3 mail system, 5 protocol, 6 content, 7 security/policy: not the recipient's fault
      return FeedbackClass::kSoftBounce;
  }
}

[[nodiscard]]
absl::StatusOr<ParsedReport> ParseReport(std::string_view mail, const BounceTagVerifier& verify,
                                         size_t max_bytes) {
  if (mail.size() > max_bytes)
    return absl::OutOfRangeError(absl::StrCat("mail of ", mail.size(), " bytes exceeds the limit of ",
                                              max_bytes));
  // Work on LF line ends.
  std::string text;
  text.reserve(mail.size());
  for (size_t i = 0; i < mail.size(); ++i)
    if (!(mail[i] == '\r' && i + 1 < mail.size() && mail[i + 1] == '\n')) text.push_back(mail[i]);
  MailPart root = ParseMail(text);
  if (root.headers.empty()) return absl::InvalidArgumentError("not a mail: no header fields");

  std::string report_id;
  if (const std::string* mid = root.Header("message-id"))
    report_id = std::string(Trim(*mid, kAsciiSpace));
  if (report_id.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx",
                  static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
    report_id = buf;
  }
  report_id = SanitizeForLog(report_id, 200);

  ParsedReport out;
  std::vector<HeaderField> returned = ReturnedHeaders(root);
  CollectTags(root, returned, &out.tags);
  std::string tag_campaign, tag_address;
  if (verify) {
    for (const std::string& t : out.tags) {
      if (verify(t, &tag_campaign, &tag_address)) {
        out.tag_verified = true;
        break;
      }
    }
  }

  // ARF first: a feedback report may also carry delivery-status-like fields.
  const MailPart* feedback = nullptr;
  const MailPart* dsn = nullptr;
  ForEachPart(root, [&](const MailPart& p) {
    if (!feedback && p.content_type == "message/feedback-report") feedback = &p;
    if (!dsn && (p.content_type == "message/delivery-status" ||
                 p.content_type == "message/global-delivery-status"))
      dsn = &p;
  });
  if (feedback) {
    out.kind = ReportKind::kArf;
    std::vector<HeaderField> f = ParseHeaderBlock(feedback->body, nullptr);
    const std::string* type = Find(f, "feedback-type");
    std::string ftype = type ? AsciiLower(Trim(*type, kAsciiSpace)) : "abuse";
    std::vector<std::string> rcpts;
    for (const HeaderField& h : f)
      if (h.name == "original-rcpt-to" && rcpts.size() < 100) {
        std::string a = AddressValue(h.value);
        if (!a.empty()) rcpts.push_back(a);
      }
    if (rcpts.empty())
      if (const std::string* to = Find(returned, "to")) {
        std::string a = AddressValue(*to);
        if (!a.empty()) rcpts.push_back(a);
      }
    if (rcpts.empty() && out.tag_verified && !tag_address.empty()) rcpts.push_back(tag_address);
    if (rcpts.empty()) return absl::InvalidArgumentError("feedback report names no recipient");
    for (const std::string& r : rcpts) {
      FeedbackEvent ev;
      ev.provider = "arf";
      ev.recipient = r;
      ev.type = SanitizeForLog(ftype, 64);
      ev.klass = (ftype == "abuse" || ftype == "fraud" || ftype == "virus" || ftype == "other")
                     ? FeedbackClass::kComplaint
                     : FeedbackClass::kIgnore;  // not-spam, auth-failure, dmarc
      const std::string* ua = Find(f, "user-agent");
      ev.reason = SanitizeForLog(absl::StrCat("Feedback-Type ", ftype, ua ? "; " : "", ua ? Av(*ua) : ""),
                                 kMaxReasonBytes);
      ev.event_id = EventId("arf", report_id, r);
      ev.campaign_id = tag_campaign;
      out.events.push_back(std::move(ev));
    }
    return out;
  }

  out.kind = ReportKind::kDsn;
  if (dsn) {
    ParseDeliveryStatus(dsn->body, report_id, &out);
  } else {
    // No machine-readable part: the human-readable text of the first text/plain part (or body).
    const MailPart* textp = nullptr;
    ForEachPart(root, [&](const MailPart& p) {
      if (!textp && p.children.empty() && p.content_type == "text/plain") textp = &p;
    });
    if (textp) ParsePlainText(textp->body, report_id, &out);
    // Bounce text that names no address: the verified VERP tag names the recipient (what VERP
    // is for), the text still gives the reason.
    if (out.events.empty() && textp && out.tag_verified && !tag_address.empty()) {
      std::string_view body = std::string_view(textp->body).substr(0, 4096);
      if (!FindEnhancedStatus(body).empty() || FindReplyCode(body) != 0)
        out.events.push_back(PlainTextEvent(tag_address, body, report_id));
    }
  }
  if (out.events.empty() && out.tag_verified && !tag_address.empty() && dsn) {
    FeedbackEvent ev;  // a DSN block without recipient fields: the tag names the recipient
    ev.provider = "dsn";
    ev.recipient = tag_address;
    ev.type = "failed";
    ev.klass = FeedbackClass::kSoftBounce;
    ev.reason = "failed; delivery-status without recipient fields";
    ev.event_id = EventId("dsn", report_id, ev.recipient);
    out.events.push_back(std::move(ev));
  }
  if (out.events.empty())
    return absl::InvalidArgumentError(
        dsn ? "delivery-status part names no recipient"
            : "not a delivery status notification or feedback report (no message/delivery-status "
              "or message/feedback-report part, no recognizable bounce text)");
  for (FeedbackEvent& ev : out.events) {
    ev.campaign_id = tag_campaign;
    if (ev.recipient.empty() && out.tag_verified) ev.recipient = tag_address;
  }
  return out;
}

}  // namespace salvo
