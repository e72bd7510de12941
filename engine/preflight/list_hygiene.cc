#include "engine/preflight/list_hygiene.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/base/address.h"
#include "engine/base/rfc3339.h"
#include "engine/base/strings.h"

namespace salvo {

namespace {

// Mailboxes of a function, not a person: they rarely opted in and often feed spam traps.
constexpr std::string_view kRoleLocalParts[] = {
    "abuse",     "admin",      "administrator", "billing", "contact",   "help",     "hostmaster",
    "info",      "mailer-daemon", "marketing", "no-reply", "noc",      "noreply",   "office",
    "postmaster", "root",      "sales",         "security", "support", "webmaster"};

std::string Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? "0 %" : absl::StrFormat("%.0f %%", 100.0 * part / whole);
}

}  // namespace

std::string WithThousands(uint64_t n) {
  std::string digits = absl::StrCat(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

bool IsRoleAddress(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string local = AsciiLower(address.substr(0, at));
  return std::find(std::begin(kRoleLocalParts), std::end(kRoleLocalParts), local) !=
         std::end(kRoleLocalParts);
}

void ListHygiene::Add(const Recipient& r, bool suppressed) {
  ++members_;
  bool skip = false;
  if (suppressed) {
    ++suppressed_;
    skip = true;
  }
  if (!r.HasConsent()) {
    ++no_consent_;
    skip = true;
  } else if (auto t = ParseRfc3339Micros(r.consent.opted_in_at); t && *t < now_us_ - max_age_us_) {
    ++old_consent_;
  }
  if (IsRoleAddress(r.key)) {
    ++roles_;
    if (role_examples_.size() < 3) role_examples_.push_back(r.address);
  }
  if (skip) return;
  ++eligible_;
  ++domains_[std::string(DomainOf(r.key))];
}

std::vector<std::pair<std::string, uint64_t>> ListHygiene::TopDomains(size_t n) const {
  std::vector<std::pair<std::string, uint64_t>> v(domains_.begin(), domains_.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

void ListHygiene::Report(PreflightReport* rep) const {
  const std::string of = absl::StrCat(" of ", WithThousands(members_), " in the segment");
  if (no_consent_ == 0)
    rep->Pass("list.consent", absl::StrCat("every member", of, " has consent on record"));
  else
    rep->Warn("list.consent",
              absl::StrCat(WithThousands(no_consent_), of, " (", Percent(no_consent_, members_),
                           ") have no consent on record: they will be skipped"),
              "import their opted_in_at / consent_source, or leave them out of the list");
  if (old_consent_ == 0)
    rep->Pass("list.consent_age", "no consent older than consent_max_age");
  else
    rep->Warn("list.consent_age",
              absl::StrCat(WithThousands(old_consent_), of, " (", Percent(old_consent_, members_),
                           ") consented longer ago than [preflight] consent_max_age"),
              "send them a re-permission campaign first, or narrow the segment (opted_in_at > DATE)");
  if (roles_ == 0)
    rep->Pass("list.roles", "no role addresses");
  else
    rep->Warn("list.roles",
              absl::StrCat(WithThousands(roles_), " role addresses", of, " (e.g. ",
                           absl::StrJoin(role_examples_, ", "), ")"),
              "leave role addresses (postmaster@, info@, ...) out: add `and not (email in [...])` "
              "to the segment or suppress them");
  rep->Pass("list.suppressed",
            absl::StrCat(WithThousands(suppressed_), of, " are suppressed and will be skipped; ",
                         WithThousands(eligible_), " eligible"));
}

void ListHygiene::ReportMx(size_t sampled,
                           const std::vector<std::pair<std::string, uint64_t>>& without_mx,
                           PreflightReport* rep) const {
  if (without_mx.empty()) {
    rep->Pass("list.mx", absl::StrCat("the ", sampled, " most frequent recipient domains accept mail"));
    return;
  }
  uint64_t members = 0;
  std::vector<std::string> names;
  for (const auto& [d, n] : without_mx) {
    members += n;
    if (names.size() < 5) names.push_back(absl::StrCat(d, " (", n, ")"));
  }
  rep->Warn("list.mx",
            absl::StrCat(without_mx.size(), " of ", sampled, " sampled domains have no MX and no address (",
                         WithThousands(members), " members): ", absl::StrJoin(names, ", ")),
            "suppress those domains (salvo suppress add @DOMAIN): every message to them bounces");
}

}  // namespace salvo
