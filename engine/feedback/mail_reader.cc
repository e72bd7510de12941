// Received-mail reader: headers, Content-Type, multipart. See mail_reader.h.
#include "engine/feedback/mail_reader.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

// A header value: blanks off both ends, and the CR of a CRLF line end.
std::string_view TrimHeaderValue(std::string_view s) {
  return TrimRight(TrimLeft(s, kBlanks), " \t\r");
}

void ParseInto(std::string_view raw, int depth, MailPart* part);

void SplitMultipart(std::string_view body, const std::string& boundary, int depth, MailPart* part) {
  const std::string delim = "--" + boundary;
  size_t pos = 0;
  bool in_part = false;
  size_t part_start = 0;
  size_t parts = 0;
  while (pos <= body.size()) {
    size_t eol = body.find('\n', pos);
    std::string_view line = body.substr(pos, eol == std::string_view::npos ? body.npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool is_delim = line.size() >= delim.size() && line.substr(0, delim.size()) == delim;
    if (is_delim) {
      std::string_view tail = TrimHeaderValue(line.substr(delim.size()));
      bool closing = tail.substr(0, 2) == "--";
      if (!closing && !tail.empty()) is_delim = false;  // a longer boundary that starts alike
      if (is_delim) {
        if (in_part && parts < kMaxMimeParts) {
          size_t end = pos > part_start ? pos - 1 : part_start;  // drop the LF before the delimiter
          part->children.emplace_back();
          ParseInto(body.substr(part_start, end - part_start), depth + 1, &part->children.back());
          ++parts;
        }
        if (closing) return;
        in_part = true;
        part_start = eol == std::string_view::npos ? body.size() : eol + 1;
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  if (in_part && parts < kMaxMimeParts) {  // unterminated: keep what is there
    part->children.emplace_back();
    ParseInto(body.substr(part_start), depth + 1, &part->children.back());
  }
}

void ParseInto(std::string_view raw, int depth, MailPart* part) {
  std::string_view body;
  part->headers = ParseHeaderBlock(raw, &body);
  if (const std::string* ct = part->Header("content-type")) {
    std::string_view v = *ct;
    size_t semi = v.find(';');
    std::string t = AsciiLower(TrimHeaderValue(v.substr(0, semi)));
    if (!t.empty()) part->content_type = t;
  }
  const std::string* cte = part->Header("content-transfer-encoding");
  if (part->content_type.rfind("multipart/", 0) == 0 && depth < kMaxMimeDepth) {
    std::string boundary = part->Param("boundary");
    if (!boundary.empty() && boundary.size() <= 200) {
      SplitMultipart(body, boundary, depth, part);
      return;
    }
  }
  if (cte && AsciiLower(*cte) == "base64") {
    std::string decoded;
    std::string compact;
    compact.reserve(body.size());
    for (char c : body)
      if (c != '\r' && c != '\n' && c != ' ' && c != '\t') compact.push_back(c);
    if (absl::Base64Unescape(Av(compact), &decoded)) {
      part->body = std::move(decoded);
      return;
    }
  }
  part->body.assign(body.data(), body.size());
}

}  // namespace

const std::string* MailPart::Header(std::string_view name) const {
  for (const HeaderField& f : headers)
    if (f.name == name) return &f.value;
  return nullptr;
}

std::string MailPart::Param(std::string_view name) const {
  const std::string* ct = Header("content-type");
  return ct ? HeaderParam(*ct, name) : std::string();
}

std::string HeaderParam(std::string_view v, std::string_view name) {
  size_t pos = v.find(';');
  while (pos != std::string_view::npos && pos < v.size()) {
    std::string_view rest = TrimHeaderValue(v.substr(pos + 1));
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return "";
    std::string key = AsciiLower(TrimHeaderValue(rest.substr(0, eq)));
    std::string_view val = TrimHeaderValue(rest.substr(eq + 1));
    std::string out;
    size_t consumed;
    if (!val.empty() && val.front() == '"') {
      size_t i = 1;
      for (; i < val.size() && val[i] != '"'; ++i) {
        if (val[i] == '\\' && i + 1 < val.size()) ++i;
        out.push_back(val[i]);
      }
      consumed = i + 1;
    } else {
      size_t end = val.find_first_of("; \t");
      out = std::string(val.substr(0, end));
      consumed = end == std::string_view::npos ? val.size() : end;
    }
    if (key == name) return out;
    std::string_view after = val.substr(std::min(consumed, val.size()));
    size_t semi = after.find(';');
    if (semi == std::string_view::npos) return "";
    v = after;
    pos = semi;
  }
  return "";
}

std::vector<HeaderField> ParseHeaderBlock(std::string_view text, std::string_view* rest) {
  std::vector<HeaderField> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line = text.substr(pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {  // end of the header block
      pos = next;
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      std::string_view cont = TrimHeaderValue(line);
      if (out.back().value.size() + cont.size() < 64 * 1024) {
        if (!out.back().value.empty()) out.back().value.push_back(' ');
        out.back().value.append(cont);
      }
    } else {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        // Not a header line: the header block ended without a blank line.
        break;
      }
      if (out.size() < kMaxHeaderFields)
        out.push_back({AsciiLower(TrimHeaderValue(line.substr(0, colon))),
                       std::string(TrimHeaderValue(line.substr(colon + 1)))});
    }
    pos = next;
  }
  if (rest) *rest = text.substr(std::min(pos, text.size()));
  return out;
}

MailPart ParseMail(std::string_view raw) {
  MailPart root;
  ParseInto(raw, 0, &root);
  return root;
}

}  // namespace salvo
