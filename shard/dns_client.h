// shard/: the DNS client of `salvo preflight`: TXT, MX, A/AAAA, PTR and CNAME queries through
// c-ares, answering engine/preflight/dns_lookup.h. Queries are asynchronous underneath: Prefetch()
// sends many at once (list hygiene asks the MX of many domains); the DnsLookup calls wait for one.
// Timeouts are short and bounded (default 2 s x 2 tries per server) so a machine without network
// reports temperror quickly. Answers are cached for the client's life (one preflight run).
// Trust: answers are hostile: c-ares parses them; names and TXT strings are kept bounded.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/preflight/dns_lookup.h"

namespace salvo {

struct DnsClientOptions {
  std::vector<std::string> servers;  // "127.0.0.1:5353"; empty: /etc/resolv.conf
  int timeout_ms = 2000;
  int tries = 2;
};

class DnsClient : public DnsLookup {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DnsClient>> Create(
      const DnsClientOptions& options);
  ~DnsClient() override;

  DnsAnswer Txt(std::string_view name) override;
  DnsAnswer Mx(std::string_view name) override;
  DnsAnswer Addresses(std::string_view name, bool v6) override;
  DnsAnswer Ptr(std::string_view ip) override;
  DnsAnswer CnameChain(std::string_view name) override;

  enum class Type { kTxt, kMx, kA, kAaaa, kPtr, kCname };
  // Sends every query not yet answered at once and waits for all (bounded by the timeouts).
  void Prefetch(const std::vector<std::pair<Type, std::string>>& queries);

  struct Impl;

 private:
  explicit DnsClient(std::unique_ptr<Impl> impl);
  DnsAnswer Ask(Type type, std::string_view name);
  std::unique_ptr<Impl> impl_;
};

}  // namespace salvo
