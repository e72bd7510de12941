#include "engine/links/token.h"

#include "gtest/gtest.h"

namespace salvo {
namespace {

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

}  // namespace
}  // namespace salvo
