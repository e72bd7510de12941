// The Public Suffix List (publicsuffix.org; Debian's `publicsuffix` package): the organizational
// domain of a name (RFC 7489 §3.2) is its public suffix plus one label. The list text is read by
// tools/ and parsed here. Rules: plain, wildcard "*.x", exception "!y.x"; default rule "*".
#pragma once

#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace salvo {

class PublicSuffixList {
 public:
  // Parses the list (comments "//", one rule per line, first word). Errors: no rule at all.
  [[nodiscard]] static absl::StatusOr<PublicSuffixList> Parse(std::string_view text);

  // "mail.news.example.co.uk" -> "example.co.uk"; a public suffix itself is returned unchanged.
  // Input: a lowercase A-label domain without trailing dot (a trailing dot is ignored).
  std::string OrganizationalDomain(std::string_view domain) const;
  size_t size() const { return rules_.size() + wildcards_.size() + exceptions_.size(); }

 private:
  absl::flat_hash_set<std::string> rules_;       // "co.uk"
  absl::flat_hash_set<std::string> wildcards_;   // "ck" for "*.ck"
  absl::flat_hash_set<std::string> exceptions_;  // "www.ck" for "!www.ck"
};

}  // namespace salvo
