// SPF (RFC 7208): parsing a record and check_host() over an injected DnsLookup, with the limits
// receivers enforce: at most 10 lookup terms (include, a, mx, ptr, exists, redirect) and 2 void
// lookups per evaluation, at most 10 MX names, include loops. No I/O here.
// Trust: records come from DNS (hostile): bounded length, every parse error is a permerror that
// names the term.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/preflight/dns_lookup.h"

namespace salvo {

enum class SpfResult { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };
const char* SpfResultName(SpfResult r);  // RFC 7208 §2.6 names: "pass", "permerror", ...

struct SpfTerm {
  enum class Kind { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists, kRedirect, kExp, kOther };
  Kind kind = Kind::kAll;
  char qualifier = '+';     // + - ~ ?
  std::string domain_spec;  // include / a / mx / ptr / exists / redirect / exp (may hold macros)
  std::string ip;           // ip4 / ip6 address text
  int cidr4 = -1, cidr6 = -1;  // -1: full length
  std::string text;         // the term as written (messages)
};

struct SpfRecord {
  std::vector<SpfTerm> terms;  // mechanisms and modifiers in order (redirect/exp included)
};

inline constexpr size_t kMaxSpfRecordBytes = 4096;

// True when a TXT record is an SPF record ("v=spf1" alone or followed by a space).
bool IsSpfRecord(std::string_view txt);
// Parses "v=spf1 ...". Errors (permerror): the bad term, quoted.
[[nodiscard]] absl::StatusOr<SpfRecord> ParseSpfRecord(std::string_view txt);

struct SpfEvaluation {
  SpfResult result = SpfResult::kNone;
  std::string detail;                // why (permerror / temperror / which term matched)
  int lookups = 0;                   // lookup terms counted
  int void_lookups = 0;
  std::vector<std::string> domains;  // every domain whose record was read (top, includes, redirects)
};

// check_host(ip, domain, sender) of RFC 7208 §4. `sender` is the MAIL FROM address (for macros).
SpfEvaluation CheckHost(DnsLookup& dns, std::string_view ip, std::string_view domain,
                        std::string_view sender);
// Evaluates every term of `domain`'s record and its includes without matching an IP (so the
// lookup count is the record's worst case, and errors anywhere in the tree show).
SpfEvaluation WalkSpf(DnsLookup& dns, std::string_view domain);

}  // namespace salvo
