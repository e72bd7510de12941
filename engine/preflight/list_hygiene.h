// Consent and list hygiene of a campaign's segment, counted member by member: no consent (they
// will be skipped), consent older than [preflight] consent_max_age, role addresses (postmaster@,
// info@, ...), addresses already suppressed, and the recipient domains (for the bounded MX
// sample tools/ asks DNS about). Then the checks (the route's capacity: capacity.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/base/recipient.h"
#include "engine/preflight/report.h"

namespace salvo {

bool IsRoleAddress(std::string_view address);  // local part postmaster, info, sales, ...

class ListHygiene {
 public:
  // `now_us` and `max_age_us`: consent older than now - max_age counts as old.
  ListHygiene(int64_t now_us, int64_t max_age_us) : now_us_(now_us), max_age_us_(max_age_us) {}

  // One member of the segment.
  void Add(const Recipient& r, bool suppressed);

  uint64_t members() const { return members_; }
  uint64_t no_consent() const { return no_consent_; }
  uint64_t old_consent() const { return old_consent_; }
  uint64_t roles() const { return roles_; }
  uint64_t suppressed() const { return suppressed_; }
  // Members that will be sent to: consent on record, not suppressed.
  uint64_t eligible() const { return eligible_; }
  // The `n` most frequent domains of eligible members, most frequent first.
  std::vector<std::pair<std::string, uint64_t>> TopDomains(size_t n) const;

  // list.consent, list.consent_age, list.roles, list.suppressed.
  void Report(PreflightReport* rep) const;
  // list.mx: `without_mx` = sampled domains (of `sampled`) answering no MX and no address.
  void ReportMx(size_t sampled, const std::vector<std::pair<std::string, uint64_t>>& without_mx,
                PreflightReport* rep) const;

 private:
  int64_t now_us_, max_age_us_;
  uint64_t members_ = 0, no_consent_ = 0, old_consent_ = 0, roles_ = 0, suppressed_ = 0,
           eligible_ = 0;
  std::vector<std::string> role_examples_;
  absl::flat_hash_map<std::string, uint64_t> domains_;
};

// 120000 -> "120,000"
std::string WithThousands(uint64_t n);

}  // namespace salvo
