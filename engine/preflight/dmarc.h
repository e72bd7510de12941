// DMARC (RFC 7489): the policy record and identifier alignment. Discovery (§6.6.3): the TXT at
// _dmarc.<From domain>, else at _dmarc.<organizational domain>; records not starting "v=DMARC1"
// are ignored; more than one is as none.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/preflight/dns_lookup.h"
#include "engine/preflight/psl.h"

namespace salvo {

struct DmarcRecord {
  std::string p;            // none | quarantine | reject
  std::string sp;           // subdomain policy (empty: as p)
  bool strict_dkim = false;  // adkim=s
  bool strict_spf = false;   // aspf=s
  int pct = 100;
  std::string rua;
};

bool IsDmarcRecord(std::string_view txt);
// Parses "v=DMARC1; p=...". Errors name the tag.
[[nodiscard]] absl::StatusOr<DmarcRecord> ParseDmarcRecord(std::string_view txt);

struct DmarcLookup {
  enum class State { kFound, kMissing, kInvalid, kDnsError } state = State::kMissing;
  std::string name;    // where it was found (or the last name asked)
  std::string text;    // the record
  DmarcRecord record;
  std::string detail;  // kInvalid / kDnsError: why
};

DmarcLookup FindDmarc(DnsLookup& dns, const PublicSuffixList& psl, std::string_view from_domain);

// Identifier alignment (§3.1): strict = the same name; relaxed = the same organizational domain.
bool Aligned(const PublicSuffixList& psl, std::string_view id_domain, std::string_view from_domain,
             bool strict);

}  // namespace salvo
