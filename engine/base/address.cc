// Email address normalization: RFC 5321 syntax and limits, RFC 6531 UTF-8 local parts, IDN
// domains to A-labels with libidn2. Trust: input is hostile; it is bounded before any work and
// errors quote it only after SanitizeForLog.
#include "engine/base/address.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr size_t kMaxRawInput = 1024;   // far above 254: anything longer is rejected unparsed
constexpr size_t kMaxLocalPart = 64;    // RFC 5321 §4.5.3.1.1
constexpr size_t kMaxAddress = 254;     // RFC 5321 path limit (256) minus the angle brackets
constexpr size_t kMaxDomain = 253;
constexpr size_t kMaxLabel = 63;

[[nodiscard]] absl::Status Invalid(std::string_view raw, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid address \"", SanitizeForLog(raw, 120), "\": ", Av(why)));
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

void AsciiLower(std::string* s) {
  for (char& c : *s) c = Lower(c);
}

// Checks a dot-atom local part (UTF-8 allowed per RFC 6531). Returns the reason or "".
std::string_view CheckDotAtom(std::string_view local) {
  if (local.empty()) return "empty local part";
  if (local.front() == '.' || local.back() == '.') return "local part starts or ends with '.'";
  for (size_t i = 0; i < local.size();) {
    unsigned char c = local[i];
    if (c == '.') {
      if (i + 1 < local.size() && local[i + 1] == '.') return "'..' in local part";
      ++i;
    } else if (c < 0x80) {
      if (c == ' ' || c == '\t') return "space in local part";
      if (c < 0x20 || c == 0x7F) return "control character in local part";
      if (!IsAtext(c)) return "character not allowed in unquoted local part";
      ++i;
    } else {
      size_t n = Utf8SeqLen(local, i);
      if (n == 0) return "invalid UTF-8 in local part";
      i += n;
    }
  }
  return "";
}

// Scans a quoted-string local part starting at s[0] == '"'. On success returns the length
// including both quotes; on failure 0 with *why set.
size_t ScanQuoted(std::string_view s, std::string_view* why) {
  for (size_t i = 1; i < s.size();) {
    unsigned char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 >= s.size()) break;
      unsigned char e = s[i + 1];
      if (e < 0x20 || e == 0x7F) {
        *why = "control character in quoted local part";
        return 0;
      }
      i += 2;  // quoted-pairSMTP: '\' %d32-126 (or UTF-8, scanned as bytes >= 0x80 below)
      if (e >= 0x80) {
        size_t n = Utf8SeqLen(s, i - 1);
        if (n == 0) {
          *why = "invalid UTF-8 in local part";
          return 0;
        }
        i += n - 1;
      }
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      *why = "control character in quoted local part";
      return 0;
    }
    if (c >= 0x80) {
      size_t n = Utf8SeqLen(s, i);
      if (n == 0) {
        *why = "invalid UTF-8 in local part";
        return 0;
      }
      i += n;
      continue;
    }
    ++i;
  }
  *why = "unterminated quoted local part";
  return 0;
}

// Validates an ASCII host name (already lowercased): labels 1..63 of letters, digits, hyphens,
// no leading or trailing hyphen, at least two labels, total <= 253. Returns the reason or "".
std::string_view CheckHostname(std::string_view d) {
  if (d.empty()) return "empty domain";
  if (d.size() > kMaxDomain) return "domain longer than 253 octets";
  size_t labels = 0;
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    if (dot == std::string_view::npos) dot = d.size();
    std::string_view label = d.substr(start, dot - start);
    if (label.empty()) return "empty label in domain";
    if (label.size() > kMaxLabel) return "domain label longer than 63 octets";
    if (label.front() == '-' || label.back() == '-') return "domain label starts or ends with '-'";
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) {
        if (c == ' ' || c == '\t') return "space in domain";
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "control character in domain";
        if (c == '@') return "two '@'";
        return "character not allowed in domain";
      }
    }
    ++labels;
    start = dot + 1;
  }
  if (labels < 2) return "domain has no dot";
  return "";
}

// Normalizes "[1.2.3.4]" / "[IPv6:...]" into *out, or returns the reason.
std::string_view NormalizeLiteral(std::string_view d, std::string* out) {
  if (d.size() < 3 || d.back() != ']') return "unterminated address literal";
  std::string inner(d.substr(1, d.size() - 2));
  unsigned char buf[16];
  if (inner.size() > 5 && (inner.compare(0, 5, "IPv6:") == 0 || inner.compare(0, 5, "ipv6:") == 0 ||
                           inner.compare(0, 5, "IPV6:") == 0)) {
    std::string v6 = inner.substr(5);
    if (inet_pton(AF_INET6, v6.c_str(), buf) != 1) return "invalid IPv6 address literal";
    AsciiLower(&v6);
    *out = absl::StrCat("[IPv6:", v6, "]");
    return "";
  }
  if (inet_pton(AF_INET, inner.c_str(), buf) != 1) return "invalid address literal";
  *out = absl::StrCat("[", inner, "]");
  return "";
}

// Lowercases and converts `d` to an A-label host name (or literal) into *out, or returns the reason.
std::string_view NormalizeDomain(std::string_view d, std::string* out) {
  if (d.empty()) return "empty domain";
  if (d.front() == '[') return NormalizeLiteral(d, out);
  if (d.size() > 1 && d.back() == '.') d.remove_suffix(1);  // FQDN form "example.com."
  bool ascii = true;
  for (char c : d) {
    if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
  }
  if (ascii) {
    out->assign(d);
    AsciiLower(out);
    return CheckHostname(*out);
  }
  for (size_t i = 0; i < d.size();) {  // libidn2 wants valid UTF-8; check first for a clear reason
    if (static_cast<unsigned char>(d[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = Utf8SeqLen(d, i);
    if (n == 0) return "invalid UTF-8 in domain";
    i += n;
  }
  std::string in(d);
  char* alabel = nullptr;
  // IDNA2008 with UTS#46 non-transitional mapping (ß stays ß, like browsers); fall back to
  // transitional processing, which accepts some older registrations.
  int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(in.c_str()),
                          reinterpret_cast<uint8_t**>(&alabel), IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  if (rc != IDN2_OK) {
    rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(in.c_str()),
                        reinterpret_cast<uint8_t**>(&alabel), IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
  }
  if (rc != IDN2_OK || alabel == nullptr) {
    if (alabel) idn2_free(alabel);
    return "invalid internationalized domain";
  }
  out->assign(alabel);
  idn2_free(alabel);
  AsciiLower(out);
  return CheckHostname(*out);
}

}  // namespace

std::string_view NormalizedAddress::local() const {
  auto at = address.rfind('@');
  return std::string_view(address).substr(0, at);
}
std::string_view NormalizedAddress::domain() const {
  auto at = address.rfind('@');
  return std::string_view(address).substr(at + 1);
}

[[nodiscard]] absl::StatusOr<NormalizedAddress> NormalizeAddress(std::string_view raw) {
  if (raw.size() > kMaxRawInput) return Invalid(raw, "longer than 254 octets");
  std::string_view s = Trim(raw, " \t\r\n");
  if (s.empty()) return Invalid(raw, "empty");

  std::string_view local;
  std::string_view rest;  // "@domain"
  if (s.front() == '"') {
    std::string_view why;
    size_t n = ScanQuoted(s, &why);
    if (n == 0) return Invalid(raw, why);
    local = s.substr(0, n);
    rest = s.substr(n);
    if (rest.empty()) return Invalid(raw, "missing '@'");
    if (rest.front() != '@') return Invalid(raw, "text after quoted local part");
    if (n == 2) return Invalid(raw, "empty local part");
  } else {
    size_t at = s.find('@');
    if (at == std::string_view::npos) return Invalid(raw, "missing '@'");
    local = s.substr(0, at);
    rest = s.substr(at);
    if (local.empty()) return Invalid(raw, "empty local part");
    if (local.find('"') != std::string_view::npos) return Invalid(raw, "misplaced '\"'");
    std::string_view why = CheckDotAtom(local);
    if (!why.empty()) return Invalid(raw, why);
  }
  std::string_view domain_raw = rest.substr(1);
  if (domain_raw.find('@') != std::string_view::npos) return Invalid(raw, "two '@'");
  if (local.size() > kMaxLocalPart) return Invalid(raw, "local part longer than 64 octets");

  std::string domain;
  std::string_view why = NormalizeDomain(domain_raw, &domain);
  if (!why.empty()) return Invalid(raw, why);

  NormalizedAddress out;
  out.address.reserve(local.size() + 1 + domain.size());
  out.address.append(local).append(1, '@').append(domain);
  if (out.address.size() > kMaxAddress) return Invalid(raw, "longer than 254 octets");
  out.key = out.address;
  AsciiLower(&out.key);
  return out;
}

[[nodiscard]] absl::StatusOr<std::string> NormalizeDomainKey(std::string_view raw_domain) {
  std::string_view s = Trim(raw_domain, " \t\r\n");
  if (s.size() > kMaxRawInput) {
    return absl::InvalidArgumentError(absl::StrCat("invalid domain \"", SanitizeForLog(s, 120),
                                                   "\": longer than 253 octets"));
  }
  if (!s.empty() && s.front() == '@') s.remove_prefix(1);
  std::string domain;
  std::string_view why;
  if (s.empty()) {
    why = "empty domain";
  } else if (s.front() == '[') {
    why = "address literals cannot be suppressed domain-wide";
  } else {
    why = NormalizeDomain(s, &domain);
  }
  if (!why.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid domain \"", SanitizeForLog(raw_domain, 120), "\": ", Av(why)));
  }
  return absl::StrCat("@", domain);
}

std::string_view DomainOf(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  return address.substr(at + 1);
}

}  // namespace salvo
