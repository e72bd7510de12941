#include "engine/preflight/dmarc.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/preflight/tag_list.h"

namespace salvo {

bool IsDmarcRecord(std::string_view txt) {
  std::string_view t = TrimLeft(txt, kAsciiSpace);
  if (t.size() < 8 || !EqualsAsciiNoCase(t.substr(0, 8), "v=DMARC1")) return false;
  std::string_view rest = TrimLeft(t.substr(8), kAsciiSpace);
  return rest.empty() || rest[0] == ';';
}

absl::StatusOr<DmarcRecord> ParseDmarcRecord(std::string_view txt) {
  if (!IsDmarcRecord(txt)) return absl::InvalidArgumentError("does not start with \"v=DMARC1\"");
  auto tags = ParseTagList(txt);
  if (!tags.ok()) return tags.status();
  DmarcRecord r;
  const std::string* p = tags->Get("p");
  if (p == nullptr) return absl::InvalidArgumentError("no p= tag");
  r.p = AsciiLower(*p);
  if (r.p != "none" && r.p != "quarantine" && r.p != "reject")
    return absl::InvalidArgumentError(absl::StrCat("p=", SanitizeForLog(*p, 40), " is not none, quarantine or reject"));
  if (const std::string* sp = tags->Get("sp")) r.sp = AsciiLower(*sp);
  for (const char* name : {"adkim", "aspf"}) {
    const std::string* v = tags->Get(name);
    if (v == nullptr) continue;
    std::string lv = AsciiLower(*v);
    if (lv != "r" && lv != "s")
      return absl::InvalidArgumentError(absl::StrCat(name, "=", SanitizeForLog(*v, 40), " is not r or s"));
    (std::string_view(name) == "adkim" ? r.strict_dkim : r.strict_spf) = lv == "s";
  }
  if (const std::string* pct = tags->Get("pct")) {
    if (!absl::SimpleAtoi(*pct, &r.pct) || r.pct < 0 || r.pct > 100)
      return absl::InvalidArgumentError(absl::StrCat("pct=", SanitizeForLog(*pct, 40), " is not 0..100"));
  }
  if (const std::string* rua = tags->Get("rua")) r.rua = *rua;
  return r;
}

namespace {

// One name: kFound, kMissing (no DMARC record), or an error state.
DmarcLookup AskName(DnsLookup& dns, const std::string& name) {
  DmarcLookup out;
  out.name = name;
  DnsAnswer a = dns.Txt(name);
  if (a.failed()) {
    out.state = DmarcLookup::State::kDnsError;
    out.detail = absl::StrCat("TXT lookup of ", name, ": ", a.Describe());
    return out;
  }
  int n = 0;
  for (const auto& r : a.records) {
    if (!IsDmarcRecord(r)) continue;
    ++n;
    out.text = r;
  }
  if (n == 0) return out;
  if (n > 1) {
    out.state = DmarcLookup::State::kInvalid;
    out.detail = absl::StrCat(n, " DMARC records at ", name, " (receivers then apply none)");
    return out;
  }
  auto rec = ParseDmarcRecord(out.text);
  if (!rec.ok()) {
    out.state = DmarcLookup::State::kInvalid;
    out.detail = absl::StrCat(name, ": ", rec.status().message());
    return out;
  }
  out.state = DmarcLookup::State::kFound;
  out.record = *rec;
  return out;
}

}  // namespace

DmarcLookup FindDmarc(DnsLookup& dns, const PublicSuffixList& psl, std::string_view from_domain) {
  const std::string domain = AsciiLower(from_domain);
  DmarcLookup first = AskName(dns, absl::StrCat("_dmarc.", domain));
  if (first.state != DmarcLookup::State::kMissing) return first;
  const std::string org = psl.OrganizationalDomain(domain);
  if (org == domain) return first;
  return AskName(dns, absl::StrCat("_dmarc.", org));
}

bool Aligned(const PublicSuffixList& psl, std::string_view id_domain, std::string_view from_domain,
             bool strict) {
  const std::string a = AsciiLower(TrimRight(id_domain, ".")), b = AsciiLower(TrimRight(from_domain, "."));
  if (strict) return a == b;
  return psl.OrganizationalDomain(a) == psl.OrganizationalDomain(b);
}

}  // namespace salvo
