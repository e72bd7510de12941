// The DNS questions preflight asks, as an interface: engine/ evaluates records (SPF check_host(),
// DMARC, DKIM, FCrDNS) over it without doing I/O; shard/dns_client.h answers it with c-ares, the
// unit tests with a table. A timeout or SERVFAIL is never the same as "no such record".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace salvo {

enum class DnsStatus {
  kOk,        // records hold the answer
  kNxDomain,  // the name does not exist
  kNoData,    // the name exists, no record of that type
  kServFail,  // the server failed (SERVFAIL, REFUSED)
  kTimeout,   // no answer within the bounded tries
  kError,     // anything else (connection refused, malformed answer)
};
const char* DnsStatusName(DnsStatus s);  // "ok" | "NXDOMAIN" | "no data" | "SERVFAIL" | ...

struct DnsAnswer {
  DnsStatus status = DnsStatus::kOk;
  std::vector<std::string> records;
  std::string error;  // kError: what went wrong

  bool ok() const { return status == DnsStatus::kOk && !records.empty(); }
  // NXDOMAIN or no data (or an empty kOk): the record is missing. Timeouts are not.
  bool missing() const {
    return status == DnsStatus::kNxDomain || status == DnsStatus::kNoData ||
           (status == DnsStatus::kOk && records.empty());
  }
  // The lookup itself failed (temporary: SERVFAIL, timeout, error).
  bool failed() const { return !ok() && !missing(); }
  // "SERVFAIL" / "timeout" / the error, for messages.
  std::string Describe() const;
};

class DnsLookup {
 public:
  virtual ~DnsLookup() = default;
  // TXT records, each record's character-strings joined (RFC 7208 §3.3).
  virtual DnsAnswer Txt(std::string_view name) = 0;
  // MX exchange host names, by preference.
  virtual DnsAnswer Mx(std::string_view name) = 0;
  // A (v6 false) or AAAA (v6 true) addresses as text.
  virtual DnsAnswer Addresses(std::string_view name, bool v6) = 0;
  // PTR names of an IPv4/IPv6 address (text).
  virtual DnsAnswer Ptr(std::string_view ip) = 0;
  // The CNAME chain from `name` (the names it points to, in order; empty when `name` has none).
  virtual DnsAnswer CnameChain(std::string_view name) = 0;
};

}  // namespace salvo
