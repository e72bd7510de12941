// libFuzzer target: the DNS record parsers of engine/preflight with hostile TXT data — SPF
// (parse and check_host() over a DNS table answering the input for every name), DMARC, DKIM key
// records, tag lists, the rspamd reply and a Public Suffix List.
// Build: see tests/fuzz/README.md (`tools/dev fuzz`).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/preflight/dkim_record.h"
#include "engine/preflight/dmarc.h"
#include "engine/preflight/psl.h"
#include "engine/preflight/rspamd_reply.h"
#include "engine/preflight/spf.h"
#include "engine/preflight/tag_list.h"

namespace {

// Every TXT / A / MX question answers parts of the input: includes, redirects and macros in it
// are followed (bounded by the SPF limits).
class EchoDns : public salvo::DnsLookup {
 public:
  explicit EchoDns(std::string_view in) : in_(in) {}
  salvo::DnsAnswer Txt(std::string_view) override { return {salvo::DnsStatus::kOk, {std::string(in_)}, ""}; }
  salvo::DnsAnswer Mx(std::string_view n) override { return Some(n); }
  salvo::DnsAnswer Addresses(std::string_view n, bool v6) override {
    if (n.size() % 3 == 0) return {salvo::DnsStatus::kNxDomain, {}, ""};
    return {salvo::DnsStatus::kOk, {v6 ? "2001:db8::1" : "192.0.2.1"}, ""};
  }
  salvo::DnsAnswer Ptr(std::string_view) override { return {salvo::DnsStatus::kOk, {"mail.example.com"}, ""}; }
  salvo::DnsAnswer CnameChain(std::string_view) override { return {}; }

 private:
  salvo::DnsAnswer Some(std::string_view n) {
    if (n.size() % 2) return {salvo::DnsStatus::kTimeout, {}, ""};
    return {salvo::DnsStatus::kOk, {"mx.example.com"}, ""};
  }
  std::string_view in_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)salvo::ParseSpfRecord(in);
  EchoDns dns(in);
  salvo::SpfEvaluation e = salvo::CheckHost(dns, "192.0.2.1", "example.com", "a@example.com");
  if (e.lookups > 11) __builtin_trap();  // the limit ends evaluation at the 11th
  (void)salvo::CheckHost(dns, "2001:db8::1", "example.com", "a@example.com");
  (void)salvo::WalkSpf(dns, "example.com");
  (void)salvo::ParseDmarcRecord(in);
  (void)salvo::ParseDkimKeyRecord(in);
  (void)salvo::RsaPublicKeyBits(in);
  (void)salvo::ParseTagList(in);
  (void)salvo::ParseRspamdReply(in);
  if (auto psl = salvo::PublicSuffixList::Parse(in); psl.ok()) {
    (void)psl->OrganizationalDomain("a.b.example.co.uk");
    (void)psl->OrganizationalDomain(in.substr(0, 253));
  }
  return 0;
}
