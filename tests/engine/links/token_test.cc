#include "engine/links/token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
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

TokenData Sample(TokenKind kind) {
  TokenData d;
  d.kind = kind;
  d.campaign_id = "nov-promo";
  d.address_key = "someone@example.com";
  d.link_index = kind == TokenKind::kClick ? 7 : 0;
  return d;
}

TEST(Token, RoundTripsEveryKind) {
  for (TokenKind k : {TokenKind::kClick, TokenKind::kOpen, TokenKind::kUnsubscribe,
                      TokenKind::kBounce}) {
    std::string t = MakeToken(Sample(k), kSecret);
    auto d = VerifyToken(t, kSecret);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->kind, k);
    EXPECT_EQ(d->campaign_id, "nov-promo");
    EXPECT_EQ(d->address_key, "someone@example.com");
    EXPECT_EQ(d->link_index, k == TokenKind::kClick ? 7u : 0u);
  }
}

TEST(Token, UrlSafeAlphabetWithoutPadding) {
  TokenData d = Sample(TokenKind::kClick);
  for (int i = 0; i < 50; ++i) {
    d.address_key = std::string(static_cast<size_t>(i), '\xff') + "@x";
    std::string t = MakeToken(d, kSecret);
    for (char c : t) EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << t;
  }
}

TEST(Token, AnyChangedCharacterFails) {
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (TokenKind k : {TokenKind::kClick, TokenKind::kBounce}) {
    std::string t = MakeToken(Sample(k), kSecret);
    for (size_t i = 0; i < t.size(); ++i) {
      for (char c : alphabet) {
        if (c == t[i]) continue;
        std::string bad = t;
        bad[i] = c;
        EXPECT_FALSE(VerifyToken(bad, kSecret).ok()) << "position " << i << " char " << c;
      }
      std::string bad = t;
      bad[i] = '=';
      EXPECT_FALSE(VerifyToken(bad, kSecret).ok());
    }
  }
}

TEST(Token, AnyChangedPayloadByteFails) {
  // Flip every bit of the raw token bytes by re-encoding: same as changing characters, but also
  // covers truncation and extension.
  std::string t = MakeToken(Sample(TokenKind::kClick), kSecret);
  for (size_t n = 0; n < t.size(); ++n) EXPECT_FALSE(VerifyToken(t.substr(0, n), kSecret).ok());
  EXPECT_FALSE(VerifyToken(t + "A", kSecret).ok());
  EXPECT_FALSE(VerifyToken(t + "AA", kSecret).ok());
  EXPECT_FALSE(VerifyToken("A" + t, kSecret).ok());
}

TEST(Token, WrongSecretOrKindFails) {
  std::string t = MakeToken(Sample(TokenKind::kClick), kSecret);
  auto bad = VerifyToken(t, "another-secret");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(bad.status()));
  // Different kinds give different tokens: an open token is never a click or unsubscribe token.
  EXPECT_NE(MakeToken(Sample(TokenKind::kOpen), kSecret),
            MakeToken(Sample(TokenKind::kUnsubscribe), kSecret));
}

TEST(Token, BoundedAndGarbageRejected) {
  EXPECT_FALSE(VerifyToken(std::string(5000, 'A'), kSecret).ok());
  EXPECT_FALSE(VerifyToken("", kSecret).ok());
  EXPECT_FALSE(VerifyToken("!!!!", kSecret).ok());
  EXPECT_FALSE(VerifyToken("AAAA\r\nBBBB", kSecret).ok());
}

TEST(Token, SignerMatchesFreeFunctions) {
  TokenSigner s(kSecret);
  std::string a;
  s.Append(Sample(TokenKind::kClick), &a);
  EXPECT_EQ(a, MakeToken(Sample(TokenKind::kClick), kSecret));
  EXPECT_TRUE(s.Verify(a).ok());
  // Long secrets (> block size) are hashed first, as HMAC specifies.
  std::string long_secret(200, 'k');
  TokenSigner ls(long_secret);
  std::string b;
  ls.Append(Sample(TokenKind::kOpen), &b);
  EXPECT_TRUE(VerifyToken(b, long_secret).ok());
}

TEST(BounceTag, FitsTheLocalPartAndRoundTrips) {
  TokenSigner signer(kSecret);
  // A 255-byte campaign id and a 254-byte address give the same 40 characters.
  for (const auto& [campaign, address] :
       std::vector<std::pair<std::string, std::string>>{
           {"nov-promo", "someone@example.com"},
           {std::string(255, 'c'), std::string(64, 'l') + "@" + std::string(189, 'd')}}) {
    std::string tag;
    signer.AppendBounceTag(campaign, address, &tag);
    ASSERT_EQ(tag.size(), kBounceTagChars);
    EXPECT_LE(std::string("bounces+").size() + tag.size(), 64u);  // RFC 5321 4.5.3.1.1
    for (char c : tag) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << tag;
    auto b = signer.VerifyBounceTag(tag);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->campaign_ref, CampaignRef(campaign));
    EXPECT_EQ(b->address_hash, AddressHash(address));
    EXPECT_EQ(b->address_hash % kVirtualShards, ShardOf(address));
  }
}

TEST(BounceTag, CaseFoldedByAnMtaStillVerifies) {
  TokenSigner signer(kSecret);
  std::string tag;
  signer.AppendBounceTag("nov-promo", "someone@example.com", &tag);
  std::string upper = tag;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto b = signer.VerifyBounceTag(upper);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->address_hash, AddressHash("someone@example.com"));
}

TEST(BounceTag, AnyOtherChangedCharacterFails) {
  TokenSigner signer(kSecret);
  std::string tag;
  signer.AppendBounceTag("nov-promo", "someone@example.com", &tag);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567018=-_+@ ";
  for (size_t i = 0; i < tag.size(); ++i) {
    for (char c : alphabet) {
      if (c == tag[i]) continue;
      std::string bad = tag;
      bad[i] = c;
      EXPECT_FALSE(signer.VerifyBounceTag(bad).ok()) << "position " << i << " char " << c;
    }
  }
  for (size_t n = 0; n < tag.size(); ++n) EXPECT_FALSE(signer.VerifyBounceTag(tag.substr(0, n)).ok());
  EXPECT_FALSE(signer.VerifyBounceTag(tag + "a").ok());
  auto other = TokenSigner("another-secret").VerifyBounceTag(tag);
  EXPECT_TRUE(absl::IsPermissionDenied(other.status()));
  // A full token is never taken for a bounce tag.
  EXPECT_FALSE(signer.VerifyBounceTag(MakeToken(Sample(TokenKind::kBounce), kSecret)).ok());
}

// The tag is HMAC-SHA256 truncated to 96 bits: compare with OpenSSL's HMAC for payloads of every
// length class (one block, two blocks, a long secret). Built twice, the second time with the SHA
// extensions disabled, so both the SHA-extension and the portable path are checked (meson.build).
TEST(Token, TagIsOpenSslHmacSha256) {
  for (const std::string& secret : {std::string("a-tracking-secret"), std::string(100, 'k')}) {
    TokenSigner signer(secret);
    for (size_t klen : {1u, 20u, 40u, 50u, 60u, 100u, 119u, 120u, 200u, 254u}) {
      TokenData d = Sample(TokenKind::kClick);
      d.address_key = std::string(klen, 'a');
      d.campaign_id = std::string(klen % 37, 'c');
      std::string t;
      signer.Append(d, &t);
      std::string raw;
      ASSERT_TRUE(absl::WebSafeBase64Unescape(t, &raw)) << t;
      ASSERT_GT(raw.size(), 12u);
      const std::string payload = raw.substr(0, raw.size() - 12);
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int mac_len = 0;
      ASSERT_NE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                     reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac,
                     &mac_len),
                nullptr);
      EXPECT_EQ(raw.substr(raw.size() - 12), std::string(reinterpret_cast<char*>(mac), 12))
          << "payload " << payload.size() << " bytes";
    }
  }
}

}  // namespace
}  // namespace salvo
