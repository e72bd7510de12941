#include "engine/links/token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "engine/base/base64.h"
#include "engine/base/cpu_features.h"
#include "engine/base/shard.h"
#include "gtest/gtest.h"

namespace salvo {
namespace {

#ifdef SALVO_TEST_DISABLE_SHA_NI
// engine_links_token_portable (meson.build): the same tests on the portable SHA-256 path.
[[maybe_unused]] const bool kPortableSha = (DisableCpuFeature(CpuFeature::kShaNi), true);
#endif

constexpr char kSecret[] = "a-tracking-secret";
constexpr char kAddress[] = "someone@example.com";

TokenClaims Sample(TokenPurpose purpose) {
  TokenClaims d;
  d.purpose = purpose;
  d.campaign_id = "nov-promo";
  d.recipient_id = RecipientId(kAddress);
  d.link_index = purpose == TokenPurpose::kClick ? 7 : 0;
  d.issued_at = 1796000000;
  return d;
}

std::string Hmac(const std::string& secret, const std::string& payload) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &mac_len);
  return std::string(reinterpret_cast<char*>(mac), mac_len);
}

TEST(Token, RoundTripsEveryPurpose) {
  TokenKeyRing ring(kSecret);
  for (TokenPurpose p : {TokenPurpose::kClick, TokenPurpose::kOpen, TokenPurpose::kUnsubscribe}) {
    std::string t = ring.Issue(Sample(p));
    for (char c : t) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    auto d = ring.Verify(t, p);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->purpose, p);
    EXPECT_EQ(d->campaign_id, "nov-promo");
    EXPECT_EQ(d->recipient_id, RecipientId(kAddress));
    EXPECT_EQ(d->link_index, p == TokenPurpose::kClick ? 7u : 0u);
    EXPECT_EQ(d->issued_at, 1796000000);
    EXPECT_EQ(d->key_id, TokenKeyId(kSecret));
  }
}

TEST(Token, OnlyVerifiesForItsPurpose) {
  TokenKeyRing ring(kSecret);
  std::string open = ring.Issue(Sample(TokenPurpose::kOpen));
  EXPECT_TRUE(absl::IsPermissionDenied(ring.Verify(open, TokenPurpose::kClick).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(ring.Verify(open, TokenPurpose::kUnsubscribe).status()));
  EXPECT_NE(ring.Issue(Sample(TokenPurpose::kOpen)), ring.Issue(Sample(TokenPurpose::kUnsubscribe)));
}

// The token names the recipient by id: the address is nowhere in its bytes, in any case or
// encoding.
TEST(Token, CarriesNoAddress) {
  TokenKeyRing ring(kSecret);
  std::string t = ring.Issue(Sample(TokenPurpose::kClick));
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(t, &raw));
  EXPECT_FALSE(absl::StrContains(raw, "someone"));
  EXPECT_FALSE(absl::StrContains(raw, "example"));
  std::string b64url;
  AppendBase64Url(reinterpret_cast<const unsigned char*>(kAddress), sizeof kAddress - 1, &b64url);
  EXPECT_FALSE(absl::StrContains(t, b64url.substr(0, 12)));
}

TEST(Token, AnyChangedCharacterFails) {
  TokenKeyRing ring(kSecret);
  for (TokenPurpose p : {TokenPurpose::kClick, TokenPurpose::kUnsubscribe}) {
    std::string t = ring.Issue(Sample(p));
    const std::string alphabet = "AZaz09-_";
    for (size_t i = 0; i < t.size(); ++i) {
      for (char c : alphabet) {
        if (c == t[i]) continue;
        std::string bad = t;
        bad[i] = c;
        EXPECT_FALSE(ring.Verify(bad, p).ok()) << "position " << i << " char " << c;
      }
      std::string bad = t;
      bad.erase(i, 1);
      EXPECT_FALSE(ring.Verify(bad, p).ok());
    }
  }
}

TEST(Token, TruncatedOrExtendedFails) {
  TokenKeyRing ring(kSecret);
  std::string t = ring.Issue(Sample(TokenPurpose::kClick));
  for (size_t n = 0; n < t.size(); ++n) EXPECT_FALSE(ring.Verify(t.substr(0, n), TokenPurpose::kClick).ok());
  EXPECT_FALSE(ring.Verify(t + "A", TokenPurpose::kClick).ok());
  EXPECT_FALSE(ring.Verify(t + "AA", TokenPurpose::kClick).ok());
  EXPECT_FALSE(ring.Verify("A" + t, TokenPurpose::kClick).ok());
  EXPECT_FALSE(ring.Verify(std::string(5000, 'A'), TokenPurpose::kClick).ok());
  EXPECT_FALSE(ring.Verify("", TokenPurpose::kClick).ok());
  EXPECT_FALSE(ring.Verify("!!!!", TokenPurpose::kClick).ok());
  EXPECT_FALSE(ring.Verify("AAAA\r\nBBBB", TokenPurpose::kClick).ok());
}

// Rotation: a token signed with a key that is now a previous key verifies; one signed with a
// key the ring never held is refused as an unknown key.
TEST(Token, PreviousKeysVerifyUnknownKeysDoNot) {
  TokenKeyRing old_ring("old-secret");
  std::string t = old_ring.Issue(Sample(TokenPurpose::kClick));
  TokenKeyRing rotated("new-secret", {"old-secret"});
  auto d = rotated.Verify(t, TokenPurpose::kClick);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->key_id, TokenKeyId("old-secret"));
  EXPECT_EQ(rotated.current_key_id(), TokenKeyId("new-secret"));
  EXPECT_EQ(rotated.size(), 2u);
  // New tokens are signed with the new key.
  auto n = rotated.Verify(rotated.Issue(Sample(TokenPurpose::kClick)), TokenPurpose::kClick);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->key_id, TokenKeyId("new-secret"));
  auto unknown = TokenKeyRing("new-secret").Verify(t, TokenPurpose::kClick);
  EXPECT_TRUE(absl::IsPermissionDenied(unknown.status()));
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "unknown key"));
  EXPECT_NE(TokenKeyId("old-secret"), TokenKeyId("new-secret"));
}

// Mail sent before key ids carries version 1 tokens with the address inside: they still verify
// (with every key of the ring) and name the recipient by the address's id.
TEST(Token, Version1TokensOfOldMailStillVerify) {
  std::string payload;
  payload += '\x01';
  payload += 'c';
  payload += static_cast<char>(9);
  payload += "nov-promo";
  payload += static_cast<char>(sizeof kAddress - 1);
  payload += kAddress;
  payload += std::string("\0\0\0\x05", 4);
  std::string raw = payload + Hmac("old-secret", payload).substr(0, 12);
  std::string token;
  AppendBase64Url(reinterpret_cast<const unsigned char*>(raw.data()), raw.size(), &token);
  TokenKeyRing ring("new-secret", {"old-secret"});
  auto d = ring.Verify(token, TokenPurpose::kClick);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->campaign_id, "nov-promo");
  EXPECT_EQ(d->recipient_id, RecipientId(kAddress));
  EXPECT_EQ(d->link_index, 5u);
  EXPECT_EQ(d->issued_at, 0);
  EXPECT_FALSE(TokenKeyRing("new-secret").Verify(token, TokenPurpose::kClick).ok());
}

TEST(BounceTag, FitsTheLocalPartAndRoundTrips) {
  TokenKeyRing ring(kSecret);
  // A 255-byte campaign id and a 254-byte address give the same 48 characters.
  for (const auto& [campaign, address] :
       std::vector<std::pair<std::string, std::string>>{
           {"nov-promo", kAddress},
           {std::string(255, 'c'), std::string(64, 'l') + "@" + std::string(189, 'd')}}) {
    std::string tag;
    ring.AppendBounceTag(campaign, RecipientId(address), &tag);
    ASSERT_EQ(tag.size(), kBounceTagChars);
    EXPECT_LE(std::string("bounces+").size() + tag.size(), 64u);  // RFC 5321 4.5.3.1.1
    EXPECT_LE(std::string("unsubscribe+").size() + tag.size(), 64u);
    for (char c : tag) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << tag;
    auto b = ring.VerifyBounceTag(tag);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->campaign_ref, CampaignRef(campaign));
    EXPECT_EQ(b->recipient_id, AddressHash(address));
    EXPECT_EQ(b->recipient_id % kVirtualShards, ShardOf(address));
  }
}

TEST(BounceTag, CaseFoldedByAnMtaStillVerifies) {
  TokenKeyRing ring(kSecret);
  std::string tag;
  ring.AppendBounceTag("nov-promo", RecipientId(kAddress), &tag);
  std::string upper = tag;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto b = ring.VerifyBounceTag(upper);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->recipient_id, RecipientId(kAddress));
}

TEST(BounceTag, AnyOtherChangedCharacterFails) {
  TokenKeyRing ring(kSecret);
  std::string tag;
  ring.AppendBounceTag("nov-promo", RecipientId(kAddress), &tag);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567018=-_+@ ";
  for (size_t i = 0; i < tag.size(); ++i) {
    for (char c : alphabet) {
      if (c == tag[i]) continue;
      std::string bad = tag;
      bad[i] = c;
      EXPECT_FALSE(ring.VerifyBounceTag(bad).ok()) << "position " << i << " char " << c;
    }
  }
  for (size_t n = 0; n < tag.size(); ++n) EXPECT_FALSE(ring.VerifyBounceTag(tag.substr(0, n)).ok());
  EXPECT_FALSE(ring.VerifyBounceTag(tag + "a").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(TokenKeyRing("another-secret").VerifyBounceTag(tag).status()));
  // A token is never taken for a bounce tag.
  EXPECT_FALSE(ring.VerifyBounceTag(ring.Issue(Sample(TokenPurpose::kClick))).ok());
}

TEST(BounceTag, RotatedKeysAndVersion2TagsStillVerify) {
  std::string tag;
  TokenKeyRing("old-secret").AppendBounceTag("nov-promo", RecipientId(kAddress), &tag);
  TokenKeyRing rotated("new-secret", {"old-secret"});
  auto b = rotated.VerifyBounceTag(tag);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->recipient_id, RecipientId(kAddress));
  // Version 2 (40 characters, no key id): version | campaign_ref | hash | HMAC[0..12).
  std::string p(13, '\0');
  p[0] = 2;
  const uint32_t ref = CampaignRef("nov-promo");
  const uint64_t id = RecipientId(kAddress);
  for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<char>(ref >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) p[5 + i] = static_cast<char>(id >> (56 - 8 * i));
  const std::string raw = p + Hmac("old-secret", p).substr(0, 12);
  std::string v2;
  const char* b32 = "abcdefghijklmnopqrstuvwxyz234567";
  for (size_t i = 0; i < raw.size(); i += 5) {
    uint64_t g = 0;
    for (size_t k = 0; k < 5; ++k) g = (g << 8) | static_cast<unsigned char>(raw[i + k]);
    for (int k = 7; k >= 0; --k) v2.push_back(b32[(g >> (5 * k)) & 31]);
  }
  ASSERT_EQ(v2.size(), 40u);
  auto old = rotated.VerifyBounceTag(v2);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->campaign_ref, ref);
  EXPECT_EQ(old->recipient_id, id);
  EXPECT_FALSE(TokenKeyRing("new-secret").VerifyBounceTag(v2).ok());
}

// The tag is HMAC-SHA256 truncated to 96 bits: compare with OpenSSL's HMAC for payloads of every
// length class (one block, two blocks, longer than the direct path, a long secret). Built twice,
// the second time with the SHA extensions disabled, so both the SHA-extension and the portable
// path are checked (meson.build).
TEST(Token, TagIsOpenSslHmacSha256) {
  for (const std::string& secret : {std::string("a-tracking-secret"), std::string(100, 'k')}) {
    TokenKeyRing ring(secret);
    for (size_t clen : {0u, 1u, 20u, 27u, 40u, 60u, 94u, 95u, 100u, 200u, 255u}) {
      TokenClaims d = Sample(TokenPurpose::kClick);
      d.campaign_id = std::string(clen, 'c');
      std::string t = ring.Issue(d);
      std::string raw;
      ASSERT_TRUE(absl::WebSafeBase64Unescape(t, &raw)) << t;
      ASSERT_GT(raw.size(), 12u);
      const std::string payload = raw.substr(0, raw.size() - 12);
      EXPECT_EQ(raw.substr(raw.size() - 12), Hmac(secret, payload).substr(0, 12))
          << "payload " << payload.size() << " bytes";
      EXPECT_TRUE(ring.Verify(t, TokenPurpose::kClick).ok());
    }
  }
}

}  // namespace
}  // namespace salvo
