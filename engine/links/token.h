// Signed tracking tokens for click (/c/), open (/o/) and unsubscribe (/u/) URLs and the VERP
// bounce tag. A token is URL-safe base64 (no padding) of a compact binary payload followed by a
// truncated HMAC-SHA256 tag (>= 96 bits) over kind + payload with the [tracking] secret.
// Any changed byte fails verification. Shared by engine/mime (signing) and the feedback service
// (verifying): keep both directions here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace salvo {

enum class TokenKind : uint8_t {
  kClick = 'c',
  kOpen = 'o',
  kUnsubscribe = 'u',
  kBounce = 'b',  // VERP envelope sender tag: bounces+TOKEN@domain, X-Salvo-ID
};

struct TokenData {
  TokenKind kind = TokenKind::kClick;
  std::string campaign_id;   // <= 255 bytes
  std::string address_key;   // case-folded recipient address, <= 254 bytes
  uint32_t link_index = 0;   // index into the campaign's link table (clicks only)
};

// Appends the token for `data` to *out (no allocation beyond *out's growth).
void AppendToken(const TokenData& data, std::string_view secret, std::string* out);
std::string MakeToken(const TokenData& data, std::string_view secret);

// Decodes and verifies a token; InvalidArgument / PermissionDenied on any malformation or a tag
// mismatch (constant-time compare). Bounded: tokens longer than 1024 bytes are rejected.
absl::StatusOr<TokenData> VerifyToken(std::string_view token, std::string_view secret);

// The same signing with the HMAC key schedule computed once (the renderer signs ~13 tokens per
// message). Immutable after construction; Append() is const and thread-safe.
class TokenSigner {
 public:
  explicit TokenSigner(std::string_view secret);
  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  void Append(const TokenData& data, std::string* out) const;
  absl::StatusOr<TokenData> Verify(std::string_view token) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace salvo
