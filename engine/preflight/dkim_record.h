// DKIM key records (RFC 6376 §3.6.1) at <selector>._domainkey.<domain>: parsing, and comparison
// with the key salvo signs with (its own DnsTxtRecord()).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace salvo {

struct DkimKeyRecord {
  std::string k = "rsa";  // key type
  std::string p;          // base64 public key, white space removed; empty: revoked
  bool testing = false;   // t=y
  std::string h;          // acceptable hash algorithms (empty: any)
};

[[nodiscard]] absl::StatusOr<DkimKeyRecord> ParseDkimKeyRecord(std::string_view txt);

// Bits of an RSA public key given as the base64 SubjectPublicKeyInfo of a p= tag; 0 when it
// does not decode as one.
int RsaPublicKeyBits(std::string_view p_base64);

}  // namespace salvo
