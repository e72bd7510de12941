// A recipient as the engine sees it (rendering, segments) and the store keeps it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace salvo {

struct Consent {
  std::string opted_in_at;  // RFC 3339; empty = no consent on record
  std::string source;       // consent_source, e.g. "signup-form"
  std::string ip;           // consent_ip, optional
};

struct Recipient {
  std::string address;  // stored form (local part's case kept, domain lowercased A-label)
  std::string key;      // case-folded address: identity and suppression key
  uint32_t shard = 0;   // ShardOf(key)
  Consent consent;
  std::vector<std::pair<std::string, std::string>> fields;  // sorted by name, unique names

  bool HasConsent() const { return !consent.opted_in_at.empty(); }
  // The value of a field, or nullptr. "email" is answered with `address`.
  const std::string* Field(std::string_view name) const;
};

}  // namespace salvo
