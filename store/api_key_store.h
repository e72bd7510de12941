// API keys for the daemon's HTTP API and SMTP submission listener. A key is shown to the operator
// once, at creation; the store keeps only its SHA-256, its scopes and optional route. Key in the
// meta family: "apikey" '\0' NAME. Verify() hashes the presented key and compares it with every
// stored hash in constant time (CRYPTO_memcmp, no early exit), so neither the answer's timing nor
// the error tells how close a guess was. Keys are never logged; error messages name keys by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace salvo {

// What a key may do (bit set): POST leads, inject messages, authenticate to SMTP submission.
enum ApiScope : uint32_t { kScopeLeads = 1, kScopeMessages = 2, kScopeSubmission = 4 };
inline constexpr uint32_t kAllApiScopes = kScopeLeads | kScopeMessages | kScopeSubmission;

// "leads,messages" -> bits. InvalidArgument naming an unknown scope and the known ones; empty
// and repeated names are errors too.
[[nodiscard]] absl::StatusOr<uint32_t> ParseApiScopes(std::string_view comma_separated);
std::string ApiScopesText(uint32_t scopes);  // "leads,messages,submission" (known order)

inline constexpr size_t kApiKeyHashBytes = 32;
inline constexpr size_t kMaxApiKeys = 1000;

struct ApiKey {
  std::string name;      // 1..64 of [A-Za-z0-9._-]
  uint32_t scopes = 0;
  std::string route;     // the route the key's mail goes through; empty: the caller chooses
  int64_t created_at = 0;  // unix seconds
  std::string sha256;    // kApiKeyHashBytes raw bytes of SHA-256(key)
};

class ApiKeyStore {
 public:
  explicit ApiKeyStore(Store* store) : store_(store) {}

  // Creates a key: "salvo_" + 64 hex digits of 32 bytes from OpenSSL's CSPRNG. Returns the key
  // text (shown once; only its hash is stored). AlreadyExists when the name is taken,
  // InvalidArgument for a bad name or no scope, ResourceExhausted beyond kMaxApiKeys.
  [[nodiscard]] absl::StatusOr<std::string> Create(std::string_view name, uint32_t scopes,
                                                   std::string_view route, int64_t now);
  // Every key, by name (hashes included: callers print only names, scopes, route, time).
  [[nodiscard]] absl::StatusOr<std::vector<ApiKey>> List();
  // NotFound naming the key when there is none.
  [[nodiscard]] absl::Status Revoke(std::string_view name);
  // The key whose hash matches `key`. Unauthenticated (never says why, never echoes the key)
  // when none does. Checks no scope: the caller compares ApiKey::scopes with what it serves.
  [[nodiscard]] absl::StatusOr<ApiKey> Verify(std::string_view key);

 private:
  Store* store_;
};

void EncodeApiKey(const ApiKey& k, std::string* out);
[[nodiscard]] absl::Status DecodeApiKey(std::string_view name, std::string_view value, ApiKey* k);

}  // namespace salvo
