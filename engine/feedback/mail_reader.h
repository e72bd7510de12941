// A small reader for received mail (DSNs, ARF reports): header fields with unfolding, the
// Content-Type with its parameters, and multipart splitting. It only reads: no decoding beyond
// base64 bodies, no charset conversion. Trust: the mail is hostile; depth, part count and field
// count are bounded and the reader never allocates more than a copy of its input.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace salvo {

inline constexpr int kMaxMimeDepth = 8;
inline constexpr size_t kMaxMimeParts = 256;
inline constexpr size_t kMaxHeaderFields = 1000;

struct HeaderField {
  std::string name;   // lowercased
  std::string value;  // unfolded (CR/LF + WSP -> one space), trimmed
};

struct MailPart {
  std::vector<HeaderField> headers;
  std::string content_type = "text/plain";  // type/subtype, lowercased
  std::string body;                          // LF line ends; base64 decoded when so encoded
  std::vector<MailPart> children;            // multipart/* only
  // First field named `name` (lowercase), or nullptr.
  const std::string* Header(std::string_view name) const;
  // A Content-Type parameter (name lowercase), "" when absent.
  std::string Param(std::string_view name) const;
};

// Splits header lines ending at the first empty line; `rest` gets the remainder (the body).
std::vector<HeaderField> ParseHeaderBlock(std::string_view text, std::string_view* rest);

// Parses a whole message (CRLF or LF). Never fails: unreadable structure becomes a leaf part.
MailPart ParseMail(std::string_view raw);

// Visits parts depth first (the part itself first).
template <typename Fn>
void ForEachPart(const MailPart& p, Fn&& fn) {
  fn(p);
  for (const MailPart& c : p.children) ForEachPart(c, fn);
}

// The value of a Content-Type style parameter in `header_value` ("" when absent).
std::string HeaderParam(std::string_view header_value, std::string_view name);

}  // namespace salvo
