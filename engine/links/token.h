// Signed tracking tokens for click (/c/), open (/o/) and unsubscribe (/u/) URLs and the VERP
// bounce tag. A token is URL-safe base64 (no padding) of a compact binary payload followed by a
// truncated HMAC-SHA256 tag (96 bits) over the payload. It names the recipient by an opaque id
// (the 64-bit address hash the store already indexes), never by the address, and carries the id
// of the key that signed it, so that keys rotate: a TokenKeyRing signs with its current key and
// verifies with every key it holds. Any changed byte fails verification. Shared by engine/mime
// (issuing) and the feedback service (verifying): keep both directions here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

// What a token may be used for; a token verifies only for the purpose it was issued for.
enum class TokenPurpose : uint8_t {
  kClick = 'c',
  kOpen = 'o',
  kUnsubscribe = 'u',
  kConfirm = 'k',  // double opt-in (/confirm/): campaign_id carries the list name
};

struct TokenClaims {
  TokenPurpose purpose = TokenPurpose::kClick;
  std::string campaign_id;    // <= 255 bytes (longer is cut)
  uint64_t recipient_id = 0;  // RecipientId(address key): opaque, never the address
  uint32_t link_index = 0;    // index into the campaign's link table (clicks only)
  int64_t issued_at = 0;      // unix seconds; 0 in tokens of mail sent before key ids existed
  uint32_t key_id = 0;        // set by Verify: the key that signed it (0 for old tokens)
};

// The opaque recipient id tokens and tags carry: AddressHash of the case-folded address
// (engine/base/shard.h), which the store's addr_hash index resolves back.
uint64_t RecipientId(std::string_view address_key);

// The key id carried in tokens: 32 bits of SHA-256 over a label and the secret.
uint32_t TokenKeyId(std::string_view secret);

// The VERP bounce tag in MAIL FROM `bounces+TAG@domain`, X-Salvo-ID and the mailto unsubscribe
// address. It must fit a local part (RFC 5321 4.5.3.1.1: 64 octets), so it names the campaign
// and the recipient by hash and the feedback service resolves them through the store:
//   version(1)=3 | key_id u32 BE | campaign_ref u32 BE | recipient_id u64 BE | HMAC[0..13)
// = 30 bytes = 48 base32 characters (RFC 4648 alphabet, lower case, no padding). Base32 because
// some MTAs fold the case of local parts: decoding ignores it. Tags of the previous format
// (version 2, no key id, 40 characters) still verify against every key of the ring.
inline constexpr size_t kBounceTagChars = 48;

struct BounceTag {
  uint32_t campaign_ref = 0;  // CampaignRef(campaign_id)
  uint64_t recipient_id = 0;  // RecipientId(address key)
};
uint32_t CampaignRef(std::string_view campaign_id);

// The tracking keys: the current one signs, it and the previous ones verify. Immutable after
// construction; every method is const and thread-safe. The HMAC key schedule of every key is
// computed once (the renderer signs ~13 tokens per message).
class TokenKeyRing {
 public:
  // `current` signs; `previous` (rotated-out keys) still verify. Secrets must be non-empty.
  explicit TokenKeyRing(std::string_view current, const std::vector<std::string>& previous = {});
  ~TokenKeyRing();
  TokenKeyRing(const TokenKeyRing&) = delete;
  TokenKeyRing& operator=(const TokenKeyRing&) = delete;

  // Appends the token for `claims` (key_id ignored: the current key signs) to *out.
  void Issue(const TokenClaims& claims, std::string* out) const;
  std::string Issue(const TokenClaims& claims) const;

  // Decodes and verifies a token for `purpose`. InvalidArgument when malformed (or longer than
  // 1024 characters), PermissionDenied on a signature mismatch, a key that is not in the ring or
  // another purpose. The tag is compared in constant time before any field is returned.
  [[nodiscard]] absl::StatusOr<TokenClaims> Verify(std::string_view token,
                                                   TokenPurpose purpose) const;

  // The VERP tag (kBounceTagChars characters) for a campaign and recipient.
  void AppendBounceTag(std::string_view campaign_id, uint64_t recipient_id,
                       std::string* out) const;
  // InvalidArgument when malformed, PermissionDenied on a tag mismatch or unknown key; any case.
  [[nodiscard]] absl::StatusOr<BounceTag> VerifyBounceTag(std::string_view tag) const;

  uint32_t current_key_id() const;
  size_t size() const { return keys_.size(); }

 private:
  class Key;
  const Key* Find(uint32_t key_id) const;
  std::vector<std::unique_ptr<Key>> keys_;  // [0] signs
};

}  // namespace salvo
