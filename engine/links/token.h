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
  kBounce = 'b',  // full-address bounce token (still verifiable); new mail uses BounceTag
  kConfirm = 'k',  // double opt-in (/confirm/): campaign_id carries the list name
};

struct TokenData {
  TokenKind kind = TokenKind::kClick;
  std::string campaign_id;   // <= 255 bytes
  std::string address_key;   // case-folded recipient address, <= 254 bytes
  uint32_t link_index = 0;   // index into the campaign's link table (clicks only)
};

// The VERP bounce tag in MAIL FROM `bounces+TAG@domain` and X-Salvo-ID. The full token would make
// the local part ~67 octets, over RFC 5321's 64 (4.5.3.1.1), so the tag names the campaign and
// the recipient by hash and the feedback service resolves them through the store:
//   version(1)=2 | campaign_ref u32 BE | address_hash u64 BE | HMAC-SHA256[0..12) (96 bits)
// = 25 bytes = 40 base32 characters (RFC 4648 alphabet, lower case, no padding), so the local
// part is 48 octets. Base32 because some MTAs fold the case of local parts: decoding ignores it.
inline constexpr size_t kBounceTagChars = 40;

struct BounceTag {
  uint32_t campaign_ref = 0;   // CampaignRef(campaign_id)
  uint64_t address_hash = 0;   // AddressHash(address_key) (engine/base/shard.h)
};
uint32_t CampaignRef(std::string_view campaign_id);

// Appends the token for `data` to *out (no allocation beyond *out's growth).
void AppendToken(const TokenData& data, std::string_view secret, std::string* out);
std::string MakeToken(const TokenData& data, std::string_view secret);

// Decodes and verifies a token; InvalidArgument / PermissionDenied on any malformation or a tag
// mismatch (constant-time compare). Bounded: tokens longer than 1024 bytes are rejected.
[[nodiscard]]
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
  [[nodiscard]] absl::StatusOr<TokenData> Verify(std::string_view token) const;

  // The compact VERP tag (kBounceTagChars characters).
  void AppendBounceTag(std::string_view campaign_id, std::string_view address_key,
                       std::string* out) const;
  // InvalidArgument when malformed, PermissionDenied on a tag mismatch; any case accepted.
  [[nodiscard]] absl::StatusOr<BounceTag> VerifyBounceTag(std::string_view tag) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace salvo
