// Label value sanitizing and escaping, domain bucketing. Input is untrusted text.
#include "engine/metrics/labels.h"

#include <algorithm>
#include <cstdint>

#include "engine/metrics/registry.h"

namespace salvo::metrics {

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  // Overlong forms, surrogates, beyond U+10FFFF.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  if (cp > 0x10ffff) return 0;
  return n;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Normalize(std::string_view d) {
  while (!d.empty() && d.back() == '.') d.remove_suffix(1);
  std::string out(d);
  for (char& c : out) c = Lower(c);
  return out;
}

}  // namespace

std::string SanitizeLabelValue(std::string_view in) {
  std::string out;
  out.reserve(std::min(in.size(), kMaxLabelValueBytes));
  size_t i = 0;
  while (i < in.size()) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    size_t n = Utf8SequenceLength(in, i);
    if (out.size() + std::max<size_t>(n, 1) > kMaxLabelValueBytes) break;
    if (n == 0 || (c < 0x20 && c != '\n') || c == 0x7f) {
      out.push_back('?');
      ++i;
      continue;
    }
    out.append(in.substr(i, n));
    i += n;
  }
  return out;
}

namespace {

// Text-format escaping: backslash and line feed always, the double quote when `quote`.
std::string Escape(std::string_view in, bool quote) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view in) { return Escape(in, true); }

std::string EscapeHelp(std::string_view in) { return Escape(in, false); }

DomainBucketer::DomainBucketer(const std::vector<std::string>& top_domains) {
  for (const std::string& d : top_domains) {
    std::string n = SanitizeLabelValue(Normalize(d));
    if (n.empty() || std::find(top_.begin(), top_.end(), n) != top_.end()) continue;
    top_.push_back(std::move(n));
  }
}

std::string_view DomainBucketer::Bucket(std::string_view domain) const {
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  for (const std::string& t : top_) {
    if (t.size() != domain.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < t.size() && eq; ++i) eq = Lower(domain[i]) == t[i];
    if (eq) return t;
  }
  return kOther;
}

}  // namespace salvo::metrics
