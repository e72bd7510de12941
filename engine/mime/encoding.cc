// Encoders for message bytes; see encoding.h for the guarantees.
#include "engine/mime/encoding.h"

#include <algorithm>
#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

void AppendSanitizedUtf8(std::string_view in, bool single_line, size_t max_bytes,
                         std::string* out) {
  const size_t base = out->size();
  size_t i = 0;
  while (i < in.size()) {
    // Fast path: a run of ASCII that is copied as is (printable; with !single_line also the
    // controls other than NUL), appended in one piece.
    size_t j = i;
    if (single_line) {
      while (j < in.size() && static_cast<unsigned char>(in[j]) - 0x20u < 0x5Fu) ++j;
    } else {
      while (j < in.size() && static_cast<unsigned char>(in[j]) - 1u < 0x7Fu) ++j;
    }
    if (j > i) {
      size_t room = max_bytes - (out->size() - base);
      size_t take = j - i < room ? j - i : room;
      AppendOpaque(out, in.data() + i, take);
      if (take < j - i) return;
      i = j;
      continue;
    }
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
    if (out->size() - base + piece.size() > max_bytes) break;
    out->append(piece);
    i += n;
  }
}

std::string SanitizeUtf8(std::string_view in, bool single_line, size_t max_bytes) {
  std::string out;
  out.reserve(in.size() < max_bytes ? in.size() : max_bytes);
  AppendSanitizedUtf8(in, single_line, max_bytes, &out);
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

namespace {

// Length of the run of octets at the start of p[0..n) that QP keeps literal (33..126 except '=').
size_t LiteralRun(const char* p, size_t n) {
  size_t j = 0;
#if defined(__SSE2__)
  const __m128i lo = _mm_set1_epi8(32), hi = _mm_set1_epi8(127), eq = _mm_set1_epi8('=');
  for (; j + 16 <= n; j += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
    // Signed compares: octets >= 0x80 are negative, so they fail "> 32".
    __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
    ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, eq), ok);
    unsigned bad = ~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xFFFFu;
    if (bad != 0) return j + static_cast<size_t>(__builtin_ctz(bad));
  }
#endif
  for (; j < n; ++j) {
    unsigned char d = static_cast<unsigned char>(p[j]);
    if (d <= 32 || d >= 127 || d == '=') break;
  }
  return j;
}

}  // namespace

void QpEncoder::Append(std::string_view in) {
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    // Fast path: a run of octets that stay literal, copied in line-sized chunks.
    if (c > 32 && c < 127 && c != '=' && !pending_space_ && col_ > 0) {
      pending_cr_ = false;
      const size_t j = i + 1 + LiteralRun(in.data() + i + 1, n - i - 1);
      while (i < j) {
        if (col_ >= 75) {
          out_->append("=\r\n");
          col_ = 0;
          last_wsp_ = false;
        }
        if (col_ == 0) break;  // line start: the slow path applies the "." / "From " rule
        size_t k = std::min(75 - col_, j - i);
        AppendOpaque(out_, in.data() + i, k);
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
