#include "engine/preflight/sample_message.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "engine/preflight/tag_list.h"

namespace salvo {

const std::string* SampleMessage::Header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (EqualsAsciiNoCase(n, name)) return &v;
  return nullptr;
}

SampleMessage ParseSampleMessage(std::string_view message) {
  SampleMessage m;
  m.size = message.size();
  size_t end = message.find("\r\n\r\n");
  std::string_view head = message.substr(0, end);
  for (absl::string_view line : absl::StrSplit(Av(head), "\r\n")) {
    if (line.empty()) continue;
    if ((line[0] == ' ' || line[0] == '\t') && !m.headers.empty()) {
      m.headers.back().second += std::string(line);
      continue;
    }
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    m.headers.emplace_back(std::string(line.substr(0, colon)),
                           std::string(Trim(Sv(line.substr(colon + 1)), kAsciiSpace)));
  }
  const std::string lower = AsciiLower(message);
  m.has_text_part = absl::StrContains(lower, "content-type: text/plain");
  m.has_html_part = absl::StrContains(lower, "content-type: text/html");
  return m;
}

CheckResult CheckUnsubscribeHeaders(const SampleMessage& m) {
  CheckResult r{"unsubscribe.headers", CheckStatus::kPass, "", ""};
  const std::string* lu = m.Header("List-Unsubscribe");
  const std::string* lup = m.Header("List-Unsubscribe-Post");
  if (lu == nullptr || lup == nullptr) {
    r.status = CheckStatus::kFail;
    r.found = absl::StrCat("the sample has ", lu ? "" : "no List-Unsubscribe ",
                           lup ? "" : "no List-Unsubscribe-Post");
    r.fix = "set [tracking] base_url so salvo adds one-click unsubscribe headers";
    return r;
  }
  // Any DKIM-Signature whose h= names both.
  for (const auto& [n, v] : m.headers) {
    if (!EqualsAsciiNoCase(n, "DKIM-Signature")) continue;
    auto tags = ParseTagList(v);
    if (!tags.ok()) continue;
    const std::string* h = tags->Get("h");
    if (h == nullptr) continue;
    bool has_lu = false, has_lup = false;
    for (absl::string_view f : absl::StrSplit(Av(*h), ':')) {
      std::string name = AsciiLower(Trim(Sv(f), kAsciiSpace));
      has_lu |= name == "list-unsubscribe";
      has_lup |= name == "list-unsubscribe-post";
    }
    if (has_lu && has_lup) {
      const std::string* d = tags->Get("d");
      r.found = absl::StrCat("List-Unsubscribe and List-Unsubscribe-Post present, signed by d=",
                             d ? *d : "?");
      return r;
    }
  }
  r.status = CheckStatus::kFail;
  r.found = "List-Unsubscribe / List-Unsubscribe-Post are not covered by a DKIM signature (h=)";
  r.fix = "add a [[dkim]] key for the From domain (salvo dkim keygen): salvo signs both headers";
  return r;
}

}  // namespace salvo
