// The DNS half of `salvo preflight`: SPF, DKIM, DMARC, tracking host, MX of the return path and
// sender domains, FCrDNS of source IPs and EHLO names. Pure: everything it knows comes from
// DnsSetup (built from the config and campaign by tools/) and the injected DnsLookup.
// Each finding is one CheckResult; a failed DNS query is reported as the timeout / SERVFAIL it
// was, never as a missing record.
#pragma once

#include <string>
#include <vector>

#include "engine/preflight/dns_lookup.h"
#include "engine/preflight/psl.h"
#include "engine/preflight/report.h"

namespace salvo {

struct DnsSetup {
  std::string from_domain;      // empty for --account / --responder without a campaign
  std::string reply_to_domain;  // empty: no Reply-To
  std::string envelope_domain;  // [tracking] bounce_domain, else the From domain
  bool require_dmarc = true;    // bulk campaigns: no DMARC record fails

  struct Sender {
    std::string account;
    std::string host;                     // the SMTP host (partners are recognised by it)
    std::vector<std::string> source_ips;  // empty: the machine's default address
    std::string ehlo_name;
  };
  std::vector<Sender> senders;  // the accounts that will send

  struct Dkim {
    std::string domain, selector;
    std::string expected_record;  // "v=DKIM1; k=rsa; p=..." of the configured key
    int bits = 0;                 // RSA bits (0 for ed25519)
  };
  std::vector<Dkim> dkim;

  std::string tracking_host;  // empty: no [tracking] base_url
  std::string cname_target;   // [tracking] cname_target, optional
};

void RunDnsChecks(const DnsSetup& setup, DnsLookup& dns, const PublicSuffixList& psl,
                  PreflightReport* report);

}  // namespace salvo
