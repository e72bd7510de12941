#include "engine/preflight/dns_lookup.h"

#include "absl/strings/str_cat.h"

namespace salvo {

const char* DnsStatusName(DnsStatus s) {
  switch (s) {
    case DnsStatus::kOk: return "ok";
    case DnsStatus::kNxDomain: return "NXDOMAIN";
    case DnsStatus::kNoData: return "no data";
    case DnsStatus::kServFail: return "SERVFAIL";
    case DnsStatus::kTimeout: return "timeout";
    case DnsStatus::kError: return "error";
  }
  return "?";
}

std::string DnsAnswer::Describe() const {
  if (status == DnsStatus::kError && !error.empty()) return absl::StrCat("DNS error: ", error);
  if (status == DnsStatus::kOk && records.empty()) return "no data";
  return std::string(DnsStatusName(status));
}

}  // namespace salvo
