#include "engine/preflight/psl.h"

#include <vector>

#include "absl/strings/str_split.h"
#include "engine/base/strings.h"

namespace salvo {

absl::StatusOr<PublicSuffixList> PublicSuffixList::Parse(std::string_view text) {
  PublicSuffixList psl;
  for (absl::string_view line : absl::StrSplit(Av(text), '\n')) {
    std::string_view l = Trim(Sv(line), kAsciiSpace);
    if (l.empty() || l.substr(0, 2) == "//") continue;
    l = l.substr(0, l.find_first_of(kAsciiSpace));
    if (l.substr(0, 2) == "*.") {
      psl.wildcards_.insert(AsciiLower(l.substr(2)));
    } else if (l[0] == '!') {
      psl.exceptions_.insert(AsciiLower(l.substr(1)));
    } else {
      psl.rules_.insert(AsciiLower(l));
    }
  }
  if (psl.size() == 0) return absl::InvalidArgumentError("public suffix list: no rule");
  return psl;
}

std::string PublicSuffixList::OrganizationalDomain(std::string_view domain) const {
  std::string d = AsciiLower(TrimRight(domain, "."));
  // Label starts, left to right: candidates "a.b.c", "b.c", "c".
  std::vector<size_t> starts = {0};
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] == '.') starts.push_back(i + 1);
  // The longest matching rule gives the public suffix; exceptions win and drop their first label.
  size_t suffix_at = starts.back();  // default rule "*": the last label
  for (size_t k = 0; k < starts.size(); ++k) {
    std::string_view cand = std::string_view(d).substr(starts[k]);
    if (exceptions_.contains(Av(cand))) {
      suffix_at = k + 1 < starts.size() ? starts[k + 1] : starts[k];
      break;
    }
    if (rules_.contains(Av(cand))) {
      suffix_at = starts[k];
      break;
    }
    if (k + 1 < starts.size() && wildcards_.contains(Av(std::string_view(d).substr(starts[k + 1])))) {
      suffix_at = starts[k];
      break;
    }
  }
  // The organizational domain: one label more than the suffix.
  for (size_t k = 0; k < starts.size(); ++k)
    if (starts[k] == suffix_at) return k == 0 ? d : d.substr(starts[k - 1]);
  return d;
}

}  // namespace salvo
