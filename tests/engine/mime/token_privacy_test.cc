// No rendered message names its recipient in a token or tag: 1,000 messages are rendered, every
// tracking URL's token and the VERP tag are decoded and checked against the recipient's id, and
// neither the address, its lower-case form nor their base64 / base64url encodings occur in any
// URL, in the tag or in the Return-Path (envelope sender).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/base/base64.h"
#include "engine/links/token.h"
#include "engine/mime/compiled_campaign.h"
#include "gtest/gtest.h"
#include "tests/engine/mime/mime_test_util.h"

namespace salvo::test {
namespace {

// The message with quoted-printable soft breaks removed and =XX escapes decoded.
std::string Unfold(const std::string& msg) {
  std::string flat;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg.compare(i, 3, "=\r\n") == 0) {
      i += 2;
      continue;
    }
    if (msg[i] == '=' && i + 2 < msg.size() && std::isxdigit(static_cast<unsigned char>(msg[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(msg[i + 2]))) {
      flat.push_back(static_cast<char>(std::stoi(msg.substr(i + 1, 2), nullptr, 16)));
      i += 2;
      continue;
    }
    flat.push_back(msg[i]);
  }
  return flat;
}

// Every "{base}/{c,o,u}/TOKEN" of the text: (kind letter, token).
std::vector<std::pair<char, std::string>> TrackingUrls(const std::string& flat) {
  std::vector<std::pair<char, std::string>> out;
  const std::string base = std::string(kBaseUrl) + "/";
  for (size_t at = flat.find(base); at != std::string::npos; at = flat.find(base, at + 1)) {
    size_t p = at + base.size();
    if (p + 2 > flat.size() || flat[p + 1] != '/') continue;
    size_t e = p + 2;
    while (e < flat.size() && (std::isalnum(static_cast<unsigned char>(flat[e])) ||
                               flat[e] == '-' || flat[e] == '_'))
      ++e;
    out.emplace_back(flat[p], flat.substr(p + 2, e - p - 2));
  }
  return out;
}

std::vector<std::string> Forbidden(const std::string& address) {
  std::string lower = address;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::string> out{address, lower};
  for (const std::string& a : {address, lower}) {
    const auto* p = reinterpret_cast<const unsigned char*>(a.data());
    std::string b64, b64url;
    AppendBase64(p, a.size(), &b64);
    AppendBase64Url(p, a.size(), &b64url);
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    out.push_back(b64);
    out.push_back(b64url);
  }
  return out;
}

TEST(TokenPrivacy, ThousandMessagesNameNoAddress) {
  TestSetup s(0);
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok()) << c.status();
  TokenKeyRing ring(s.config.tracking->secret);
  RenderedMessage m;
  size_t tokens = 0;
  for (size_t i = 0; i < 1000; ++i) {
    Recipient r = MakeRecipient(i, "Anna");
    ASSERT_TRUE((*c)->Render(r, &m).ok());
    const std::string flat = Unfold(m.Flatten());
    const uint64_t id = RecipientId(r.key);
    auto urls = TrackingUrls(flat);
    ASSERT_GE(urls.size(), 13u) << "links, open pixel, unsubscribe in both parts and header";
    const std::vector<std::string> forbidden = Forbidden(r.address);
    for (const auto& [kind, token] : urls) {
      const TokenPurpose purpose = kind == 'c'   ? TokenPurpose::kClick
                                   : kind == 'o' ? TokenPurpose::kOpen
                                                 : TokenPurpose::kUnsubscribe;
      auto d = ring.Verify(token, purpose);
      ASSERT_TRUE(d.ok()) << kind << "/" << token << ": " << d.status();
      EXPECT_EQ(d->recipient_id, id);
      EXPECT_EQ(d->campaign_id, "nov-promo");
      for (const std::string& f : forbidden) EXPECT_FALSE(absl::StrContains(token, f)) << token;
      ++tokens;
    }
    // The tag of the envelope sender (Return-Path), X-Salvo-ID and the mailto unsubscribe.
    const std::string& env = m.envelope_from;
    const std::string tag = env.substr(8, env.find('@') - 8);
    auto b = ring.VerifyBounceTag(tag);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->recipient_id, id);
    for (const std::string& f : forbidden) {
      EXPECT_FALSE(absl::StrContains(env, f)) << env;
      const size_t mailto = flat.find("<mailto:");
      ASSERT_NE(mailto, std::string::npos);
      const std::string uri = flat.substr(mailto, flat.find('>', mailto) - mailto);
      EXPECT_FALSE(absl::StrContains(uri, f)) << uri;
    }
  }
  EXPECT_GE(tokens, 13000u);
}

}  // namespace
}  // namespace salvo::test
