// Structure and safety of rendered messages (the independent checks are in
// independent_check_test.cc).
#include "engine/mime/compiled_campaign.h"

#include <set>
#include <thread>

#include "engine/base/shard.h"
#include "engine/links/key_ring_slot.h"
#include "engine/links/token.h"
#include "gtest/gtest.h"
#include "tests/engine/mime/mime_test_util.h"

namespace salvo::test {
namespace {

std::string HeaderBlock(const std::string& msg) { return msg.substr(0, msg.find("\r\n\r\n") + 2); }

void CheckWire(const std::string& msg) {
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\r') { ASSERT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << i; }
    if (msg[i] == '\n') { ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << i; }
    ASSERT_NE(msg[i], '\0');
  }
  size_t start = 0;
  while (start < msg.size()) {
    size_t e = msg.find("\r\n", start);
    ASSERT_NE(e, std::string::npos);
    ASSERT_LE(e - start, 998u);
    start = e + 2;
  }
}

// Field names of the header block (continuation lines excluded).
std::vector<std::string> FieldNames(const std::string& headers) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start < headers.size()) {
    size_t e = headers.find("\r\n", start);
    std::string line = headers.substr(start, e - start);
    if (!line.empty() && line[0] != ' ' && line[0] != '\t')
      names.push_back(line.substr(0, line.find(':')));
    start = e + 2;
  }
  return names;
}

TEST(CompiledCampaign, StructureAndLinks) {
  TestSetup s(0);
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok()) << c.status();
  // 10 distinct tracked URLs in the HTML plus one only in the text part.
  EXPECT_EQ((*c)->links().size(), 11u);
  EXPECT_EQ((*c)->links()[0], "https://shop.example.com/a?x=1&y=2");
  RenderedMessage m;
  ASSERT_TRUE((*c)->Render(MakeRecipient(1, "Anna"), &m).ok());
  std::string msg = m.Flatten();
  EXPECT_EQ(m.size, msg.size());
  CheckWire(msg);
  std::vector<std::string> names = FieldNames(HeaderBlock(msg));
  std::multiset<std::string> got(names.begin(), names.end());
  for (const char* h : {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                        "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post", "X-Salvo-ID",
                        "Content-Type", "X-Campaign"})
    EXPECT_EQ(got.count(h), 1u) << h;
  EXPECT_NE(msg.find("From: \"Acme News, Inc.\" <news@example.com>\r\n"), std::string::npos);
  EXPECT_NE(msg.find("To: <User1@Example.org>\r\n"), std::string::npos);
  EXPECT_NE(msg.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), std::string::npos);
  EXPECT_NE(msg.find("List-Unsubscribe: <https://click.example.com/u/"), std::string::npos);
  // Envelope sender carries a verifiable bounce tag, the same as X-Salvo-ID and in the mailto
  // unsubscribe URI's address and subject.
  ASSERT_EQ(m.envelope_from.rfind("bounces+", 0), 0u);
  std::string tag = m.envelope_from.substr(8, m.envelope_from.find('@') - 8);
  EXPECT_EQ(m.envelope_from.substr(m.envelope_from.find('@')), "@example.com");
  EXPECT_NE(msg.find("X-Salvo-ID: " + tag + "\r\n"), std::string::npos);
  EXPECT_NE(msg.find("<mailto:unsubscribe+" + tag + "@example.com?subject=unsubscribe%20" + tag +
                     ">"),
            std::string::npos);
  // RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
  EXPECT_LE(m.envelope_from.find('@'), 64u) << m.envelope_from;
  auto d = TokenKeyRing("0123456789abcdef-test-secret").VerifyBounceTag(tag);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->campaign_ref, CampaignRef("nov-promo"));
  EXPECT_EQ(d->recipient_id, RecipientId("user1@example.org"));
  EXPECT_EQ(m.recipient, "User1@Example.org");
  EXPECT_FALSE(m.body_8bit);
  // No original tracked URL appears in the body (QP soft breaks removed first).
  std::string flat;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg.compare(i, 3, "=\r\n") == 0) { i += 2; continue; }
    flat.push_back(msg[i]);
  }
  EXPECT_EQ(flat.find("shop.example.com"), std::string::npos);
  EXPECT_NE(flat.find("https://partner.example.org/terms"), std::string::npos);  // notrack
  EXPECT_NE(flat.find("mailto:help@example.com"), std::string::npos);
  EXPECT_NE(flat.find("https://click.example.com/c/"), std::string::npos);
  EXPECT_NE(flat.find("https://click.example.com/o/"), std::string::npos);
}

TEST(CompiledCampaign, HostileFieldsNeverCreateHeaders) {
  TestSetup s(0);
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok()) << c.status();
  size_t i = 0;
  for (const std::string& v : HostileValues()) {
    RenderedMessage m;
    ASSERT_TRUE((*c)->Render(MakeRecipient(i++, v), &m).ok());
    std::string msg = m.Flatten();
    CheckWire(msg);
    std::vector<std::string> names = FieldNames(HeaderBlock(msg));
    EXPECT_EQ(names.size(), 12u) << v;
    for (const auto& n : names) {
      EXPECT_NE(n, "Bcc");
      EXPECT_NE(n, "X-Injected");
    }
    EXPECT_EQ(msg.find("<script>", msg.find("text/html")), std::string::npos);  // escaped
  }
}

TEST(CompiledCampaign, BadRecipientAddressIsAnError) {
  TestSetup s(0);
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok());
  RenderedMessage m;
  Recipient r;
  for (const char* bad : {"", "no-at-sign", "a@b\r\nBcc: x@y", "a b@c", "<a@b>",
                          "\"john smith\"@c d", "\"open quote @c", "\"a\"b c@d"}) {
    r.address = bad;
    EXPECT_FALSE((*c)->Render(r, &m).ok()) << bad;
  }
  // A quoted local part may hold spaces (import accepts it; RFC 5321 4.1.2).
  r.address = "\"john smith\"@example.com";
  ASSERT_TRUE((*c)->Render(r, &m).ok());
  EXPECT_EQ(m.recipient, "\"john smith\"@example.com");
  EXPECT_NE(m.Flatten().find("To: <\"john smith\"@example.com>\r\n"), std::string::npos);
}

TEST(CompiledCampaign, UniqueMessageIdsAndThreadSafe) {
  TestSetup s(2);  // ed25519 signing in every thread
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::vector<std::string>> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      RenderedMessage m;
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE((*c)->Render(MakeRecipient(static_cast<size_t>(i), "Anna"), &m).ok());
        std::string msg = m.Flatten();
        size_t p = msg.find("Message-ID: ");
        ids[t].push_back(msg.substr(p, msg.find("\r\n", p) - p));
        ASSERT_EQ(msg.rfind("DKIM-Signature: v=1; a=ed25519-sha256;", 0), 0u);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 200u);
  EXPECT_NE(all.begin()->find("@example.com>"), std::string::npos);
}

TEST(CompiledCampaign, StartupErrorsNameTheCulprit) {
  TestSetup s(0);
  CampaignConfig bad = s.campaign;
  bad.html_file = s.dir.File("missing.html");
  auto c = CompileCampaign(bad, s.config);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("missing.html"), std::string::npos);

  Config cfg = s.config;
  cfg.dkim.push_back(DkimConfig{"example.com", "sel", s.dir.File("nokey.pem")});
  c = CompileCampaign(s.campaign, cfg);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("nokey.pem"), std::string::npos);

  cfg = s.config;
  cfg.tracking.reset();
  EXPECT_FALSE(CompileCampaign(s.campaign, cfg).ok());

  bad = s.campaign;
  bad.headers.emplace_back("Bcc", "x@example.com");
  EXPECT_FALSE(CompileCampaign(bad, s.config).ok());
}

using test::TokenAfter;

// The QP encoder escapes a "." or "F" starting a line, and a soft break can put one right inside
// a tracking URL or at the start of its token (a CI run failed on ".../o/=\r\n=46...").
TEST(CompiledCampaign, TokenAfterReadsThroughSoftBreaksAndEscapedLineStarts) {
  EXPECT_EQ(TokenAfter("<img src=3D\"https://click.example.com/o/=\r\n=46ab_-9\">",
                       "https://click.example.com/o/"),
            "Fab_-9");
  EXPECT_EQ(TokenAfter("href=3D\"https://click=\r\n=2Eexample.com/c/Xy=\r\nz\"",
                       "https://click.example.com/c/"),
            "Xyz");
}

// RenderEnv::keys: every Render signs with the slot's current ring, so a reload (Set) applies to
// a campaign compiled before it; without it the compile-time secret signs.
TEST(CompiledCampaign, RenderEnvKeysSignWithTheSlotsCurrentRing) {
  TestSetup s(0);
  KeyRingSlot slot(KeyRingSlot::MakeRing("first-ring-key-0123456789", {}));
  RenderEnv env;
  env.keys = &slot;
  auto c = CompileCampaign(s.campaign, s.config, env);
  ASSERT_TRUE(c.ok()) << c.status();
  auto key_ids = [&](const RenderedMessage& m, const std::string& msg, const TokenKeyRing& ring) {
    std::vector<uint32_t> ids;
    for (const auto& [prefix, purpose] :
         std::vector<std::pair<std::string, TokenPurpose>>{
             {"https://click.example.com/c/", TokenPurpose::kClick},
             {"https://click.example.com/o/", TokenPurpose::kOpen},
             {"https://click.example.com/u/", TokenPurpose::kUnsubscribe}}) {
      auto claims = ring.Verify(TokenAfter(msg, prefix), purpose);
      EXPECT_TRUE(claims.ok()) << prefix << " " << claims.status();
      ids.push_back(claims.ok() ? claims->key_id : 0);
    }
    std::string tag = m.envelope_from.substr(8, m.envelope_from.find('@') - 8);
    EXPECT_TRUE(ring.VerifyBounceTag(tag).ok()) << tag;
    return ids;
  };
  RenderedMessage m;
  ASSERT_TRUE((*c)->Render(MakeRecipient(1, "Anna"), &m).ok());
  const TokenKeyRing first("first-ring-key-0123456789");
  const uint32_t first_id = TokenKeyId("first-ring-key-0123456789");
  EXPECT_EQ(key_ids(m, m.Flatten(), first), std::vector<uint32_t>(3, first_id));

  slot.Set(KeyRingSlot::MakeRing("second-ring-key-0123456789", {"first-ring-key-0123456789"}));
  ASSERT_TRUE((*c)->Render(MakeRecipient(1, "Anna"), &m).ok());
  const TokenKeyRing second("second-ring-key-0123456789");
  const std::string msg = m.Flatten();
  EXPECT_EQ(key_ids(m, msg, second),
            std::vector<uint32_t>(3, TokenKeyId("second-ring-key-0123456789")));
  EXPECT_FALSE(first.Verify(TokenAfter(msg, "https://click.example.com/u/"),
                            TokenPurpose::kUnsubscribe).ok());

  // Without a slot the compile-time [tracking] secret signs.
  auto plain = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE((*plain)->Render(MakeRecipient(1, "Anna"), &m).ok());
  EXPECT_EQ(key_ids(m, m.Flatten(), TokenKeyRing("0123456789abcdef-test-secret")),
            std::vector<uint32_t>(3, TokenKeyId("0123456789abcdef-test-secret")));
}

}  // namespace
}  // namespace salvo::test
