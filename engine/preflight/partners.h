// SMTP partners (SendGrid, Mailgun, SES, ...) recognised by an account's host, with the SPF
// include each documents. Data: engine/preflight/partners.tsv, embedded at build time.
#pragma once

#include <string>
#include <string_view>

namespace salvo {

struct Partner {
  std::string name;         // "SendGrid"
  std::string host_suffix;  // "sendgrid.net"
  std::string spf_include;  // "sendgrid.net"
};

// The partner whose host suffix `host` is or ends with (".suffix"), or nullptr.
const Partner* PartnerForHost(std::string_view host);

}  // namespace salvo
