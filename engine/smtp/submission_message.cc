// engine/smtp: route header and Received: trace of submitted mail (see submission_message.h).
#include "engine/smtp/submission_message.h"

#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr size_t kMaxRouteValue = 200;

// Field name of a header line ("X-Salvo-Route" of "X-Salvo-Route: x"); empty for a
// continuation line or a line without a colon.
std::string_view FieldName(std::string_view line) {
  if (line.empty() || line[0] == ' ' || line[0] == '\t') return {};
  size_t colon = line.find(':');
  return colon == std::string_view::npos ? std::string_view() : TrimRight(line.substr(0, colon), kBlanks);
}

// A token for the trace header: printable ASCII without specials that would break its syntax.
std::string TraceToken(std::string_view s) {
  std::string out = SanitizeForLog(s, 255);
  for (char& c : out)
    if (c == ' ' || c == '(' || c == ')' || c == ';' || c == '\\' || c == '"') c = '_';
  return out.empty() ? "unknown" : out;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> TakeRouteHeader(std::string* body) {
  std::string kept;
  kept.reserve(body->size());
  std::optional<std::string> value;
  size_t pos = 0;
  bool in_route = false;  // inside a route field (its continuation lines follow)
  std::string current;
  auto finish = [&]() -> absl::Status {
    if (!in_route) return absl::OkStatus();
    in_route = false;
    std::string v(Trim(current, " \t"));
    if (v.empty() || v.size() > kMaxRouteValue)
      return absl::InvalidArgumentError(
          absl::StrCat(Av(kRouteHeader), " must name a route (1..", kMaxRouteValue, " bytes)"));
    if (value && *value != v)
      return absl::InvalidArgumentError(absl::StrCat(Av(kRouteHeader), " given twice: \"",
                                                     SanitizeForLog(*value, 64), "\" and \"",
                                                     SanitizeForLog(v, 64), "\""));
    value = std::move(v);
    return absl::OkStatus();
  };
  while (pos < body->size()) {
    size_t eol = body->find("\r\n", pos);
    size_t next = eol == std::string::npos ? body->size() : eol + 2;
    std::string_view line(body->data() + pos, (eol == std::string::npos ? body->size() : eol) - pos);
    if (line.empty()) break;  // end of the header section: the rest is kept as is
    const bool continuation = line[0] == ' ' || line[0] == '\t';
    if (continuation && in_route) {
      current.append(line);
    } else {
      if (!continuation) {
        if (absl::Status st = finish(); !st.ok()) return st;
      }
      if (!continuation && EqualsAsciiNoCase(FieldName(line), kRouteHeader)) {
        in_route = true;
        current.assign(line.substr(line.find(':') + 1));
      } else {
        kept.append(body->data() + pos, next - pos);
      }
    }
    pos = next;
  }
  if (absl::Status st = finish(); !st.ok()) return st;
  if (!value) return value;
  kept.append(*body, pos, std::string::npos);
  body->swap(kept);
  return value;
}

absl::StatusOr<std::string> SubmissionRoute(std::string_view key_name, std::string_view key_route,
                                            const std::optional<std::string>& header) {
  if (!key_route.empty()) {
    if (header && *header != key_route)
      return absl::PermissionDeniedError(absl::StrCat(
          "key \"", Av(key_name), "\" may only use route \"", Av(key_route), "\", not \"",
          SanitizeForLog(*header, 64), "\""));
    return std::string(key_route);
  }
  if (!header)
    return absl::FailedPreconditionError(absl::StrCat(
        "key \"", Av(key_name), "\" has no route: give one with an ", Av(kRouteHeader), " header"));
  return *header;
}

std::string ReceivedHeader(const ReceivedTrace& t) {
  return absl::StrCat("Received: from ", TraceToken(t.helo), " ([", TraceToken(t.peer_ip),
                      "])\r\n\tby ", TraceToken(t.hostname), " (salvo) with ",
                      t.tls ? "ESMTPSA" : "ESMTPA", " id ", TraceToken(t.id), ";\r\n\t",
                      FormatRfc5322Date(absl::ToUnixSeconds(t.at)), "\r\n");
}

}  // namespace salvo
