// A DNS table for the unit tests of engine/preflight (the integration test asks real dnsmasq).
// Unknown names answer NXDOMAIN; names listed in `servfail` / `timeout` answer that.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/preflight/dns_lookup.h"

namespace salvo {

class TableDns : public DnsLookup {
 public:
  // type: "TXT", "MX", "A", "AAAA", "PTR", "CNAME"
  void Add(const std::string& type, const std::string& name, const std::string& value) {
    table_[{type, name}].push_back(value);
  }
  std::set<std::string> servfail, timeout;
  int queries = 0;

  DnsAnswer Txt(std::string_view n) override { return Ask("TXT", n); }
  DnsAnswer Mx(std::string_view n) override { return Ask("MX", n); }
  DnsAnswer Addresses(std::string_view n, bool v6) override { return Ask(v6 ? "AAAA" : "A", n); }
  DnsAnswer Ptr(std::string_view ip) override { return Ask("PTR", ip); }
  DnsAnswer CnameChain(std::string_view n) override {
    DnsAnswer a;
    std::string cur(n);
    for (int i = 0; i < 8; ++i) {
      auto it = table_.find({"CNAME", cur});
      if (it == table_.end()) break;
      cur = it->second[0];
      a.records.push_back(cur);
    }
    return a;
  }

 private:
  DnsAnswer Ask(const std::string& type, std::string_view name) {
    ++queries;
    DnsAnswer a;
    std::string n(name);
    if (servfail.count(n)) return {DnsStatus::kServFail, {}, ""};
    if (timeout.count(n)) return {DnsStatus::kTimeout, {}, ""};
    auto it = table_.find({type, n});
    if (it != table_.end()) {
      a.records = it->second;
      return a;
    }
    for (const auto& [k, v] : table_)
      if (k.second == n) return {DnsStatus::kNoData, {}, ""};
    return {DnsStatus::kNxDomain, {}, ""};
  }
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> table_;
};

}  // namespace salvo
