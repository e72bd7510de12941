// Encoders for message bytes; see encoding.h for the guarantees.
#include "engine/mime/encoding.h"

#include <algorithm>
#include <cstdint>

#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

// Appends encoded-words for `value` (valid UTF-8), separated by "\r\n ".
void AppendEncodedWords(std::string_view value, std::string* out) {
  constexpr size_t kChunk = 30;  // bytes per word: 40 base64 chars, 52 with the delimiters
  size_t i = 0;
  bool first = true;
  while (i < value.size()) {
    size_t end = i;
    while (end < value.size()) {
      size_t n = Utf8SeqLen(value, end);
      if (n == 0) n = 1;  // not expected (sanitized input); never split inside anyway
      if (end + n - i > kChunk && end > i) break;
      end += n;
    }
    if (!first) out->append("\r\n ");
    first = false;
    out->append("=?UTF-8?B?");
    AppendBase64(reinterpret_cast<const unsigned char*>(value.data() + i), end - i, out);
    out->append("?=");
    i = end;
  }
}

}  // namespace

std::string SanitizeUtf8(std::string_view in, bool single_line, size_t max_bytes) {
  std::string out;
  out.reserve(in.size() < max_bytes ? in.size() : max_bytes);
  size_t i = 0;
  while (i < in.size()) {
    size_t n = Utf8SeqLen(in, i);
    std::string_view piece;
    if (n == 0) {
      piece = "\xEF\xBF\xBD";
      n = 1;
    } else {
      piece = in.substr(i, n);
      unsigned char c = static_cast<unsigned char>(in[i]);
      if (single_line && (c < 0x20 || c == 0x7F)) piece = " ";
      else if (c == 0) piece = " ";  // NUL never goes on the wire
    }
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += n;
  }
  return out;
}

void AppendHtmlEscaped(std::string_view in, std::string* out) {
  for (char c : in) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&#39;"); break;
      default: out->push_back(c);
    }
  }
}

// --- QpEncoder ---

void QpEncoder::Token(const char* s, size_t n, bool literal_space) {
  if (col_ + n > 75) {
    out_->append("=\r\n");
    col_ = 0;
    last_wsp_ = false;
  }
  out_->append(s, n);
  col_ += n;
  last_wsp_ = literal_space;
}

void QpEncoder::FlushSpace(bool at_line_end) {
  if (!pending_space_) return;
  pending_space_ = false;
  // A space that would end a line, follow another literal space, or land at the end of a line
  // because of a soft break is encoded; otherwise it stays readable.
  if (at_line_end || last_wsp_ || col_ + 1 > 75) Token("=20", 3, false);
  else Token(" ", 1, true);
}

void QpEncoder::HardBreak() {
  FlushSpace(true);
  out_->append("\r\n");
  col_ = 0;
  last_wsp_ = false;
}

void QpEncoder::Append(std::string_view in) {
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    // Fast path: a run of octets that stay literal, copied in line-sized chunks.
    if (c > 32 && c < 127 && c != '=' && !pending_space_ && col_ > 0) {
      pending_cr_ = false;
      size_t j = i + 1;
      while (j < n) {
        unsigned char d = static_cast<unsigned char>(in[j]);
        if (d <= 32 || d >= 127 || d == '=') break;
        ++j;
      }
      while (i < j) {
        if (col_ >= 75) {
          out_->append("=\r\n");
          col_ = 0;
          last_wsp_ = false;
        }
        if (col_ == 0) break;  // line start: the slow path applies the "." / "From " rule
        size_t k = std::min(75 - col_, j - i);
        out_->append(in.data() + i, k);
        col_ += k;
        last_wsp_ = false;
        i += k;
      }
      continue;
    }
    AppendOne(c);
    ++i;
  }
}

void QpEncoder::AppendOne(unsigned char c) {
  if (c == '\n') {
    if (pending_cr_) {
      pending_cr_ = false;
      return;
    }
    HardBreak();
    return;
  }
  pending_cr_ = false;
  if (c == '\r') {
    HardBreak();
    pending_cr_ = true;
    return;
  }
  if (c == ' ') {
    if (pending_space_) FlushSpace(false);
    pending_space_ = true;
    return;
  }
  FlushSpace(false);
  bool literal = c > 32 && c < 127 && c != '=';
  if (col_ + (literal ? 1 : 3) > 75) {  // break first, so the line-start rule sees column 0
    out_->append("=\r\n");
    col_ = 0;
    last_wsp_ = false;
  }
  if (col_ == 0 && (c == '.' || c == 'F')) literal = false;  // "." and "From " line starts
  if (literal) {
    char s = static_cast<char>(c);
    Token(&s, 1, false);
  } else {
    char s[3] = {'=', kHex[c >> 4], kHex[c & 15]};
    Token(s, 3, false);
  }
}

void QpEncoder::SoftBreak() {
  FlushSpace(true);
  pending_cr_ = false;
  if (col_ > 0) {
    out_->append("=\r\n");
    col_ = 0;
    last_wsp_ = false;
  }
}

void QpEncoder::Finish() {
  FlushSpace(true);
  pending_cr_ = false;
}

// --- headers ---

void AppendUnstructuredHeader(std::string_view name, std::string_view value, std::string* out) {
  out->append(name);
  out->append(": ");
  bool ascii = value.find("=?") == std::string_view::npos;
  size_t word = 0;
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) { ascii = false; break; }
    word = (c == ' ') ? 0 : word + 1;
    if (word > 900) { ascii = false; break; }
  }
  if (!ascii) {
    AppendEncodedWords(value, out);
    out->append("\r\n");
    return;
  }
  // Greedy folding before a space when the line would pass 78 octets.
  size_t col = name.size() + 2;
  size_t i = 0;
  while (i < value.size()) {
    size_t sp = value.find(' ', i + 1);
    if (sp == std::string_view::npos) sp = value.size();
    std::string_view w = value.substr(i, sp - i);  // starts with ' ' except the first
    if (i > 0 && col + w.size() > 78 && w.size() > 1 && w[0] == ' ') {
      out->append("\r\n");
      col = 0;
    }
    out->append(w);
    col += w.size();
    i = sp;
  }
  out->append("\r\n");
}

void AppendPhrase(std::string_view value, std::string* out) {
  bool atoms = !value.empty() && value.front() != ' ' && value.back() != ' ';
  bool ascii = value.find("=?") == std::string_view::npos;
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) ascii = false;
    if (!IsAtext(c) && c != ' ') atoms = false;
  }
  if (ascii && value.size() <= 200) {
    if (atoms && value.find("  ") == std::string_view::npos) {
      out->append(value);
      return;
    }
    out->push_back('"');
    for (char c : value) {
      if (c == '"' || c == '\\') out->push_back('\\');
      out->push_back(c);
    }
    out->push_back('"');
    return;
  }
  AppendEncodedWords(value, out);
}

}  // namespace salvo
