#include "engine/preflight/dns_checks.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/strings.h"
#include "engine/preflight/dkim_record.h"
#include "engine/preflight/dmarc.h"
#include "engine/preflight/partners.h"
#include "engine/preflight/spf.h"

namespace salvo {
namespace {

bool IsV6(std::string_view ip) { return ip.find(':') != std::string_view::npos; }

std::string Quote(std::string_view s) { return absl::StrCat("\"", Av(s), "\""); }

// A suggested SPF record for the envelope domain: own IPs and partner includes, then -all.
std::string SuggestedSpf(const DnsSetup& s) {
  std::vector<std::string> terms = {"v=spf1"};
  std::set<std::string> seen;
  for (const auto& snd : s.senders) {
    if (const Partner* p = PartnerForHost(snd.host)) {
      if (seen.insert(p->spf_include).second) terms.push_back(absl::StrCat("include:", p->spf_include));
      continue;
    }
    for (const auto& ip : snd.source_ips)
      if (seen.insert(ip).second) terms.push_back(absl::StrCat(IsV6(ip) ? "ip6:" : "ip4:", ip));
  }
  terms.push_back("-all");
  return absl::StrJoin(terms, " ");
}

void CheckSpf(const DnsSetup& s, DnsLookup& dns, PreflightReport* rep) {
  const std::string& d = s.envelope_domain;
  if (d.empty()) return;
  DnsAnswer txt = dns.Txt(d);
  if (txt.failed()) {
    rep->Fail("spf.record", absl::StrCat("temperror: TXT lookup of ", d, ": ", txt.Describe()),
              "make the DNS servers answer ([dns] servers, resolv.conf), then run preflight again");
    return;
  }
  std::vector<std::string> records;
  for (const auto& r : txt.records)
    if (IsSpfRecord(r)) records.push_back(r);
  if (records.empty()) {
    rep->Fail("spf.record", absl::StrCat("no SPF record at ", d),
              absl::StrCat("publish TXT at ", d, ": ", Quote(SuggestedSpf(s))));
    return;
  }
  if (records.size() > 1) {
    rep->Fail("spf.record",
              absl::StrCat(records.size(), " SPF records at ", d, " (permerror: exactly one allowed): ",
                           absl::StrJoin(records, " | ")),
              absl::StrCat("merge them into one TXT at ", d, ": ", Quote(SuggestedSpf(s))));
    return;
  }
  rep->Pass("spf.record", absl::StrCat(d, ": ", Quote(records[0])));

  SpfEvaluation walk = WalkSpf(dns, d);
  if (walk.result == SpfResult::kPermError || walk.result == SpfResult::kTempError) {
    std::string fix = absl::StrContains(walk.detail, "loop")
        ? "remove the include that leads back to an earlier record"
        : absl::StrContains(walk.detail, "DNS lookups")
            ? absl::StrCat("flatten includes into ip4:/ip6: terms so at most 10 lookups remain; e.g. ",
                           Quote(SuggestedSpf(s)))
            : walk.result == SpfResult::kTempError
                ? "make the DNS servers answer, then run preflight again"
                : absl::StrCat("correct the record at ", d, ", e.g. ", Quote(SuggestedSpf(s)));
    rep->Fail("spf.limits", absl::StrCat(SpfResultName(walk.result), ": ", walk.detail), fix);
  } else {
    rep->Pass("spf.limits", absl::StrCat(walk.lookups, " of 10 lookups, ", walk.void_lookups,
                                         " of 2 void lookups"));
  }

  const std::string sender = absl::StrCat("bounces@", d);
  std::set<std::string> done;
  for (const auto& snd : s.senders) {
    if (const Partner* p = PartnerForHost(snd.host)) {
      if (!done.insert(absl::StrCat("partner:", p->spf_include)).second) continue;
      const bool reached = std::find(walk.domains.begin(), walk.domains.end(), p->spf_include) !=
                           walk.domains.end();
      if (reached)
        rep->Pass("spf.partner", absl::StrCat("account ", snd.account, " (", p->name, "): ", d,
                                              " includes ", p->spf_include));
      else
        rep->Fail("spf.partner",
                  absl::StrCat("account ", snd.account, " sends through ", p->name, " (", snd.host,
                               ") but the SPF of ", d, " does not include ", p->spf_include),
                  absl::StrCat("add include:", p->spf_include, " to the TXT at ", d, ": ",
                               Quote(SuggestedSpf(s))));
      continue;
    }
    if (snd.source_ips.empty()) {
      rep->Warn("spf.ip", absl::StrCat("account ", snd.account,
                                       " has no source_ips: the sending address is unknown"),
                absl::StrCat("list the account's sending addresses in source_ips so SPF and PTR "
                             "can be checked"));
      continue;
    }
    for (const auto& ip : snd.source_ips) {
      if (!done.insert(ip).second) continue;
      SpfEvaluation e = CheckHost(dns, ip, d, sender);
      const std::string found = absl::StrCat("check_host(", ip, ", ", d, ") = ",
                                             SpfResultName(e.result), ": ", e.detail);
      if (e.result == SpfResult::kPass)
        rep->Pass("spf.ip", found);
      else
        rep->Fail("spf.ip", found,
                  absl::StrCat("add ", IsV6(ip) ? "ip6:" : "ip4:", ip, " to the TXT at ", d, ": ",
                               Quote(SuggestedSpf(s))));
    }
  }
}

void CheckDkim(const DnsSetup& s, DnsLookup& dns, PreflightReport* rep) {
  for (const auto& k : s.dkim) {
    const std::string name = absl::StrCat(k.selector, "._domainkey.", k.domain);
    const std::string publish = absl::StrCat("publish TXT at ", name, ": ", Quote(k.expected_record));
    DnsAnswer txt = dns.Txt(name);
    if (txt.failed()) {
      rep->Fail("dkim.record", absl::StrCat("TXT lookup of ", name, ": ", txt.Describe()),
                "make the DNS servers answer, then run preflight again");
      continue;
    }
    if (txt.missing()) {
      rep->Fail("dkim.record", absl::StrCat("no TXT at ", name), publish);
      continue;
    }
    auto expected = ParseDkimKeyRecord(k.expected_record);
    auto got = ParseDkimKeyRecord(txt.records[0]);
    if (txt.records.size() > 1) {
      rep->Fail("dkim.record", absl::StrCat(txt.records.size(), " TXT records at ", name),
                absl::StrCat("keep one: ", publish));
      continue;
    }
    if (!got.ok()) {
      rep->Fail("dkim.record", absl::StrCat(name, ": ", got.status().message()), publish);
      continue;
    }
    if (!expected.ok() || got->p != expected->p || got->k != expected->k) {
      rep->Fail("dkim.record",
                absl::StrCat(name, " holds another key (k=", got->k,
                             got->p.empty() ? ", p= empty: revoked" : "", ") than the configured key_file"),
                publish);
      continue;
    }
    const int bits = got->k == "rsa" ? RsaPublicKeyBits(got->p) : 0;
    const std::string found = absl::StrCat(name, ": k=", got->k,
                                           bits ? absl::StrCat(" ", bits, "-bit") : "",
                                           " key matches the configured key_file");
    if (got->k == "rsa" && bits > 0 && bits < 2048)
      rep->Warn("dkim.record", found, "use an RSA key of 2048 bits or more (salvo dkim keygen)");
    else if (got->testing)
      rep->Warn("dkim.record", absl::StrCat(found, "; t=y (testing mode)"),
                absl::StrCat("remove t=y from the TXT at ", name));
    else
      rep->Pass("dkim.record", found);
  }
}

void CheckDmarc(const DnsSetup& s, DnsLookup& dns, const PublicSuffixList& psl,
                PreflightReport* rep) {
  if (s.from_domain.empty()) return;
  const std::string org = psl.OrganizationalDomain(s.from_domain);
  const std::string publish = absl::StrCat("publish TXT at _dmarc.", org, ": ",
                                           Quote(absl::StrCat("v=DMARC1; p=none; rua=mailto:dmarc@", org)));
  DmarcLookup d = FindDmarc(dns, psl, s.from_domain);
  switch (d.state) {
    case DmarcLookup::State::kDnsError:
      rep->Fail("dmarc.record", d.detail, "make the DNS servers answer, then run preflight again");
      return;
    case DmarcLookup::State::kInvalid:
      rep->Fail("dmarc.record", d.detail, publish);
      return;
    case DmarcLookup::State::kMissing:
      if (s.require_dmarc)
        rep->Fail("dmarc.record",
                  absl::StrCat("no DMARC record at _dmarc.", s.from_domain,
                               org != s.from_domain ? absl::StrCat(" or _dmarc.", org) : "",
                               " (bulk senders must publish one)"),
                  publish);
      else
        rep->Warn("dmarc.record", absl::StrCat("no DMARC record for ", s.from_domain), publish);
      return;
    case DmarcLookup::State::kFound: break;
  }
  rep->Pass("dmarc.record", absl::StrCat(d.name, ": ", Quote(d.text)));

  // DKIM alignment keeps DMARC passing through forwarding; it is required. SPF alignment warns.
  std::vector<std::string> aligned, unaligned;
  for (const auto& k : s.dkim)
    (Aligned(psl, k.domain, s.from_domain, d.record.strict_dkim) ? aligned : unaligned)
        .push_back(k.domain);
  const bool spf_aligned =
      !s.envelope_domain.empty() && Aligned(psl, s.envelope_domain, s.from_domain, d.record.strict_spf);
  const std::string mode = absl::StrCat("adkim=", d.record.strict_dkim ? "s" : "r", ", aspf=",
                                        d.record.strict_spf ? "s" : "r");
  if (aligned.empty()) {
    std::string fix = absl::StrCat("sign with d=", s.from_domain, " ([[dkim]] domain = \"",
                                   s.from_domain, "\")");
    if (d.record.strict_dkim && !unaligned.empty() &&
        psl.OrganizationalDomain(unaligned[0]) == org)
      absl::StrAppend(&fix, ", or relax the policy: TXT at ", d.name, ": ",
                      Quote(absl::StrCat("v=DMARC1; p=", d.record.p, "; adkim=r")));
    rep->Fail("dmarc.alignment",
              absl::StrCat(unaligned.empty() ? "no [[dkim]] signs the mail"
                                             : absl::StrCat("DKIM d=", absl::StrJoin(unaligned, ","),
                                                            " is not aligned with From ", s.from_domain),
                           " (", mode, ")"),
              fix);
  } else if (!spf_aligned) {
    rep->Warn("dmarc.alignment",
              absl::StrCat("DKIM d=", aligned[0], " aligned; SPF domain ", s.envelope_domain,
                           " is not aligned with From ", s.from_domain, " (", mode, ")"),
              absl::StrCat("use a bounce_domain under ", org));
  } else {
    rep->Pass("dmarc.alignment", absl::StrCat("DKIM d=", aligned[0], " and SPF ", s.envelope_domain,
                                              " aligned with From ", s.from_domain, " (", mode, ")"));
  }
}

// A host resolves: A or AAAA. Returns the addresses, or sets *why.
std::vector<std::string> Resolve(DnsLookup& dns, const std::string& host, std::string* why) {
  DnsAnswer a = dns.Addresses(host, false);
  DnsAnswer aaaa = dns.Addresses(host, true);
  std::vector<std::string> out = a.ok() ? a.records : std::vector<std::string>{};
  if (aaaa.ok()) out.insert(out.end(), aaaa.records.begin(), aaaa.records.end());
  if (out.empty())
    *why = a.failed() ? a.Describe() : aaaa.failed() ? aaaa.Describe()
                                                      : std::string(DnsStatusName(a.status));
  return out;
}

void CheckTracking(const DnsSetup& s, DnsLookup& dns, const PublicSuffixList& psl,
                   PreflightReport* rep) {
  if (s.tracking_host.empty()) return;
  const std::string& h = s.tracking_host;
  DnsAnswer chain = dns.CnameChain(h);
  std::string why;
  std::vector<std::string> addrs = Resolve(dns, h, &why);
  const std::string path = chain.ok() ? absl::StrCat(h, " -> ", absl::StrJoin(chain.records, " -> "))
                                      : h;
  const std::string publish =
      s.cname_target.empty() ? absl::StrCat("publish an A record (or CNAME) for ", h,
                                            " pointing at the host running salvo serve")
                             : absl::StrCat("publish CNAME at ", h, ": ", s.cname_target);
  if (addrs.empty()) {
    rep->Fail("tracking.dns", absl::StrCat(path, " does not resolve (", why, ")"), publish);
  } else if (!s.cname_target.empty() &&
             std::find(chain.records.begin(), chain.records.end(), AsciiLower(s.cname_target)) ==
                 chain.records.end()) {
    rep->Fail("tracking.dns", absl::StrCat(path, " -> ", absl::StrJoin(addrs, ","),
                                           ": not a CNAME to ", s.cname_target),
              publish);
  } else {
    rep->Pass("tracking.dns", absl::StrCat(path, " -> ", absl::StrJoin(addrs, ",")));
  }
  if (!s.from_domain.empty()) {
    const std::string org = psl.OrganizationalDomain(s.from_domain);
    if (psl.OrganizationalDomain(h) == org)
      rep->Pass("tracking.domain", absl::StrCat(h, " is under ", org, " like the From domain"));
    else
      rep->Warn("tracking.domain",
                absl::StrCat(h, " is not under the From domain's ", org,
                             " (links to another domain look like phishing to filters)"),
                absl::StrCat("use a base_url host under ", org, ", e.g. click.", org));
  }
}

// A domain accepts mail: MX, or (RFC 5321 §5.1) an address.
void CheckMailDomain(const char* id, const char* what, const std::string& domain, DnsLookup& dns,
                     PreflightReport* rep) {
  DnsAnswer mx = dns.Mx(domain);
  if (mx.ok()) {
    rep->Pass(id, absl::StrCat(what, " ", domain, ": MX ", absl::StrJoin(mx.records, ", ")));
    return;
  }
  if (mx.failed()) {
    rep->Fail(id, absl::StrCat(what, " ", domain, ": MX lookup: ", mx.Describe()),
              "make the DNS servers answer, then run preflight again");
    return;
  }
  std::string why;
  std::vector<std::string> addrs = Resolve(dns, domain, &why);
  if (!addrs.empty()) {
    rep->Pass(id, absl::StrCat(what, " ", domain, ": no MX, accepts mail at its address ",
                               absl::StrJoin(addrs, ",")));
    return;
  }
  rep->Fail(id, absl::StrCat(what, " ", domain, " has no MX and no address (", why, "): replies and bounces to it are lost"),
            absl::StrCat("publish MX at ", domain, ": \"10 mx.", domain, "\" (a host that receives its mail)"));
}

void CheckMx(const DnsSetup& s, DnsLookup& dns, PreflightReport* rep) {
  bool all_partner = !s.senders.empty();
  for (const auto& snd : s.senders) all_partner = all_partner && PartnerForHost(snd.host) != nullptr;
  if (!s.envelope_domain.empty()) {
    if (all_partner && s.envelope_domain != s.from_domain)
      rep->Pass("mx.bounce", absl::StrCat("bounces to ", s.envelope_domain, " are handled by the partner"));
    else
      CheckMailDomain("mx.bounce", "bounce domain", s.envelope_domain, dns, rep);
  }
  if (!s.from_domain.empty()) CheckMailDomain("mx.from", "From domain", s.from_domain, dns, rep);
  if (!s.reply_to_domain.empty() && s.reply_to_domain != s.from_domain)
    CheckMailDomain("mx.reply_to", "Reply-To domain", s.reply_to_domain, dns, rep);
}

void CheckOwnIps(const DnsSetup& s, DnsLookup& dns, PreflightReport* rep) {
  std::set<std::string> done;
  for (const auto& snd : s.senders) {
    if (PartnerForHost(snd.host) != nullptr) continue;
    const std::string name_hint = snd.ehlo_name.empty() ? "mail.<your domain>" : snd.ehlo_name;
    for (const auto& ip : snd.source_ips) {
      if (!done.insert(ip).second) continue;
      DnsAnswer ptr = dns.Ptr(ip);
      const std::string fix = absl::StrCat("ask the owner of ", ip, " to set its PTR to ", name_hint,
                                           ", and publish A ", name_hint, " -> ", ip);
      if (ptr.failed()) {
        rep->Fail("ptr.ip", absl::StrCat(ip, ": PTR lookup: ", ptr.Describe()),
                  "make the DNS servers answer, then run preflight again");
        continue;
      }
      if (ptr.missing()) {
        rep->Fail("ptr.ip", absl::StrCat(ip, " has no PTR record"), fix);
        continue;
      }
      std::string matched;
      for (const auto& name : ptr.records) {
        DnsAnswer fwd = dns.Addresses(name, IsV6(ip));
        if (fwd.ok() && std::find(fwd.records.begin(), fwd.records.end(), ip) != fwd.records.end()) {
          matched = name;
          break;
        }
      }
      if (matched.empty())
        rep->Fail("ptr.ip", absl::StrCat(ip, " PTR ", absl::StrJoin(ptr.records, ","),
                                         " does not resolve back to ", ip),
                  absl::StrCat("publish A ", ptr.records[0], " -> ", ip));
      else
        rep->Pass("ptr.ip", absl::StrCat(ip, " PTR ", matched, " -> ", ip, " (FCrDNS)"));
    }
    if (!snd.ehlo_name.empty() && done.insert(absl::StrCat("ehlo:", snd.ehlo_name)).second) {
      std::string why;
      std::vector<std::string> addrs = Resolve(dns, snd.ehlo_name, &why);
      if (addrs.empty())
        rep->Fail("ehlo.name", absl::StrCat("account ", snd.account, ": ehlo_name ", snd.ehlo_name,
                                            " does not resolve (", why, ")"),
                  absl::StrCat("publish A ", snd.ehlo_name, " -> the account's source IP"));
      else
        rep->Pass("ehlo.name", absl::StrCat("account ", snd.account, ": ", snd.ehlo_name, " -> ",
                                            absl::StrJoin(addrs, ",")));
    }
  }
}

}  // namespace

void RunDnsChecks(const DnsSetup& setup, DnsLookup& dns, const PublicSuffixList& psl,
                  PreflightReport* report) {
  CheckSpf(setup, dns, report);
  CheckDkim(setup, dns, report);
  CheckDmarc(setup, dns, psl, report);
  CheckTracking(setup, dns, psl, report);
  CheckMx(setup, dns, report);
  CheckOwnIps(setup, dns, report);
}

}  // namespace salvo
