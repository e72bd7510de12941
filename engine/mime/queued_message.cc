// See queued_message.h.
#include "engine/mime/queued_message.h"

// SHA256_Init/Update/Final: the low-level API, as the renderer uses it (no EVP allocation).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/smtp/raw_message.h"

namespace salvo {
namespace {

// The header block (fields with their CRLFs, without the empty line) and the body after it.
void SplitMessage(std::string_view m, std::string_view* headers, std::string_view* body) {
  if (m.substr(0, 2) == "\r\n") {
    *headers = {};
    *body = m.substr(2);
    return;
  }
  const size_t end = m.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    *headers = m;
    *body = {};
    return;
  }
  *headers = m.substr(0, end + 2);
  *body = m.substr(end + 4);
}

bool HasNonAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

// No bare CR or LF, and a final CRLF.
bool CrlfClean(std::string_view s) {
  if (s.size() < 2 || s.substr(s.size() - 2) != "\r\n") return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

}  // namespace

std::string FromDomain(std::string_view message) {
  std::string_view headers, body;
  SplitMessage(message, &headers, &body);
  size_t i = 0;
  while (i < headers.size()) {
    size_t end = i;
    for (;;) {  // a field ends at a CRLF not followed by WSP
      const size_t crlf = headers.find("\r\n", end);
      end = crlf == std::string_view::npos ? headers.size() : crlf + 2;
      if (crlf == std::string_view::npos || end >= headers.size() ||
          (headers[end] != ' ' && headers[end] != '\t'))
        break;
    }
    const std::string_view f = headers.substr(i, end - i);
    i = end;
    const size_t colon = f.find(':');
    if (colon == std::string_view::npos ||
        !EqualsAsciiNoCase(TrimRight(f.substr(0, colon), kBlanks), "from"))
      continue;
    std::string_view v = f.substr(colon + 1);
    const size_t lt = v.rfind('<');
    if (lt != std::string_view::npos) {
      v = v.substr(lt + 1);
      v = v.substr(0, v.find('>'));
    }
    const size_t at = v.rfind('@');
    if (at == std::string_view::npos) return "";
    std::string_view d = v.substr(at + 1);
    size_t n = 0;
    while (n < d.size() && d[n] != '>' && d[n] != ',' && d[n] != ';' && d[n] != ')' &&
           kAsciiSpace.find(d[n]) == std::string_view::npos)
      ++n;
    return AsciiLower(d.substr(0, n));
  }
  return "";
}

void RelaxedBodyHash(std::string_view body, unsigned char out[32]) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  size_t empty_lines = 0;  // held back: trailing empty lines are dropped
  std::string line;
  size_t i = 0;
  while (i < body.size()) {
    size_t eol = body.find("\r\n", i);
    if (eol == std::string_view::npos) eol = body.size();
    const std::string_view raw = body.substr(i, eol - i);
    i = eol + 2;
    line.clear();
    bool wsp = false;
    for (char c : raw) {
      if (c == ' ' || c == '\t') {
        wsp = true;
        continue;
      }
      if (wsp) line.push_back(' ');
      wsp = false;
      line.push_back(c);
    }
    if (line.empty()) {
      ++empty_lines;
      continue;
    }
    for (; empty_lines > 0; --empty_lines) SHA256_Update(&ctx, "\r\n", 2);
    line.append("\r\n");
    SHA256_Update(&ctx, line.data(), line.size());
  }
  SHA256_Final(out, &ctx);
}

std::vector<const DkimSigner*> SignersFor(const std::vector<std::unique_ptr<DkimSigner>>& all,
                                          std::string_view from_domain) {
  std::vector<const DkimSigner*> out;
  if (from_domain.empty()) return out;
  for (const auto& s : all) {
    const std::string d = AsciiLower(s->domain());
    if (from_domain == d ||
        (from_domain.size() > d.size() && from_domain.substr(from_domain.size() - d.size()) == d &&
         from_domain[from_domain.size() - d.size() - 1] == '.'))
      out.push_back(s.get());
  }
  return out;
}

absl::StatusOr<std::shared_ptr<QueuedMessage>> BuildQueuedMessage(
    std::shared_ptr<const std::string> body, std::string_view id, std::string envelope_from,
    std::string recipient, const std::vector<const DkimSigner*>& signers) {
  if (!CrlfClean(*body)) body = std::make_shared<const std::string>(NormalizeCrlf(*body));
  auto m = std::make_shared<QueuedMessage>();
  m->owned.resize(1);
  std::string& head = m->owned[0];
  if (!signers.empty()) {
    std::string_view headers, text;
    SplitMessage(*body, &headers, &text);
    unsigned char bh[32];
    RelaxedBodyHash(text, bh);
    for (const DkimSigner* s : signers) {
      absl::Status st = s->Sign(headers, bh, &head);
      if (!st.ok())
        return absl::InternalError(
            absl::StrCat("DKIM signature for ", s->domain(), ": ", st.message()));
    }
  }
  absl::StrAppend(&head, "X-Salvo-ID: ", Av(id), "\r\n");
  m->segments = {head, *body};
  m->size = head.size() + body->size();
  m->body_8bit = HasNonAscii(*body);
  m->smtputf8 = HasNonAscii(envelope_from) || HasNonAscii(recipient);
  m->envelope_from = std::move(envelope_from);
  m->recipient = std::move(recipient);
  m->body = std::move(body);
  return m;
}

}  // namespace salvo
