// See unsubscribe_mail.h.
#include "engine/feedback/unsubscribe_mail.h"

#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "engine/feedback/mail_reader.h"
#include "engine/feedback/report_parser.h"

namespace salvo {
namespace {

constexpr size_t kMaxTags = 4;
constexpr size_t kMaxTagChars = 64;  // a local part's limit

bool TagShaped(std::string_view w) {
  if (w.empty() || w.size() > kMaxTagChars) return false;
  for (char c : w) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
    if (!ok) return false;
  }
  return true;
}

void Add(std::string_view tag, UnsubscribeMail* out) {
  if (!TagShaped(tag) || out->tags.size() >= kMaxTags) return;
  for (const std::string& t : out->tags)
    if (t == tag) return;
  out->tags.emplace_back(tag);
}

}  // namespace

std::optional<UnsubscribeMail> ParseUnsubscribeMail(std::string_view mail,
                                                    std::string_view mailbox) {
  const size_t at = mailbox.rfind('@');
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  const std::string local = AsciiLower(mailbox.substr(0, at));
  const std::string domain = AsciiLower(mailbox.substr(at + 1));
  MailPart root = ParseMail(mail);
  if (root.headers.empty() || root.content_type == "multipart/report") return std::nullopt;
  UnsubscribeMail out;
  bool for_us = false;
  for (const HeaderField& h : root.headers) {
    if (h.name != "to" && h.name != "cc" && h.name != "delivered-to" &&
        h.name != "x-original-to" && h.name != "envelope-to")
      continue;
    for (absl::string_view part : absl::StrSplit(Av(h.value), ',')) {
      const std::string a = AsciiLower(HeaderAddress(Sv(part)));
      const size_t a_at = a.rfind('@');
      if (a_at == std::string::npos || std::string_view(a).substr(a_at + 1) != domain) continue;
      const std::string_view l = std::string_view(a).substr(0, a_at);
      if (l == local) {
        for_us = true;
      } else if (l.size() > local.size() + 1 && l.substr(0, local.size()) == local &&
                 l[local.size()] == '+') {
        for_us = true;
        Add(l.substr(local.size() + 1), &out);
      }
    }
  }
  if (!for_us) return std::nullopt;
  if (const std::string* subject = root.Header("subject")) {
    for (absl::string_view w : absl::StrSplit(Av(*subject), absl::ByAnyChar(" \t:"),
                                              absl::SkipEmpty()))
      if (w.size() >= 32) Add(Sv(w), &out);  // "unsubscribe TAG", "Re: unsubscribe TAG"
  }
  if (const std::string* mid = root.Header("message-id"))
    out.message_id = SanitizeForLog(Trim(*mid, kAsciiSpace), 200);
  return out;
}

}  // namespace salvo
