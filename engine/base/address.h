// Email address normalization (RFC 5321 / RFC 6531 limits), shared by store/ and engine/.
// Trust: every input is hostile (CSV, JSON, webhooks, DSNs); nothing here allocates unboundedly.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace salvo {

struct NormalizedAddress {
  std::string address;  // stored form: local part as given (case kept), domain lowercased A-label
  std::string key;      // suppression / identity key: whole address case-folded
  std::string_view local() const;   // views into `address`
  std::string_view domain() const;
};

// Trims surrounding white space, lowercases the domain, converts an IDN domain to its A-label
// (libidn2) and rejects what RFC 5321 forbids: local part > 64 octets, address > 254 octets,
// anything but exactly one unquoted '@', spaces or control characters, a local part that is
// neither a dot-atom nor a quoted string, a domain that is not a valid host name / address literal.
// The error message quotes the (sanitized) input, e.g. `invalid address "bob@@x": two '@'`.
[[nodiscard]] absl::StatusOr<NormalizedAddress> NormalizeAddress(std::string_view raw);

// The suppression key of a domain-wide entry: "@example.com" (lowercased, A-label).
[[nodiscard]] absl::StatusOr<std::string> NormalizeDomainKey(std::string_view raw_domain);

// What follows the last '@' of `address` ("" when there is none), as it is spelled.
std::string_view DomainOf(std::string_view address);

}  // namespace salvo
