// Tests for engine/base/address.cc: RFC 5321 limits, quoted local parts, IDN, case folding.
#include "engine/base/address.h"

#include <gtest/gtest.h>

#include <string>

namespace salvo {
namespace {

std::string Addr(std::string_view raw) {
  auto r = NormalizeAddress(raw);
  EXPECT_TRUE(r.ok()) << raw << ": " << r.status();
  return r.ok() ? r->address : "";
}
std::string Key(std::string_view raw) {
  auto r = NormalizeAddress(raw);
  EXPECT_TRUE(r.ok()) << raw << ": " << r.status();
  return r.ok() ? r->key : "";
}
// "local | domain" of the normalized `raw`, or "error: ..." when it is refused.
std::string Parts(std::string_view raw) {
  auto r = NormalizeAddress(raw);
  if (!r.ok()) return "error: " + std::string(r.status().message());
  return std::string(r->local()) + " | " + std::string(r->domain());
}
std::string Error(std::string_view raw) {
  auto r = NormalizeAddress(raw);
  EXPECT_FALSE(r.ok()) << raw << " was accepted as " << (r.ok() ? r->address : "");
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(NormalizeAddress, TrimsAndLowercasesDomainKeepsLocalCase) {
  EXPECT_EQ(Addr("  Bob.Smith@Example.COM \r\n"), "Bob.Smith@example.com");
  EXPECT_EQ(Key("  Bob.Smith@Example.COM "), "bob.smith@example.com");
  EXPECT_EQ(Parts("Ann+tag@Mail.Example.org"), "Ann+tag | mail.example.org");
}

TEST(NormalizeAddress, AcceptsAtextAndTrailingDot) {
  EXPECT_EQ(Addr("a!#$%&'*+-/=?^_`{|}~z@x.example"), "a!#$%&'*+-/=?^_`{|}~z@x.example");
  EXPECT_EQ(Addr("user@example.com."), "user@example.com");
  EXPECT_EQ(Addr("u@a-b.c1.example"), "u@a-b.c1.example");
}

TEST(NormalizeAddress, QuotedLocalParts) {
  EXPECT_EQ(Addr("\"John Doe\"@Example.com"), "\"John Doe\"@example.com");
  EXPECT_EQ(Key("\"John Doe\"@Example.com"), "\"john doe\"@example.com");
  EXPECT_EQ(Addr("\"a@b\"@example.com"), "\"a@b\"@example.com");
  EXPECT_EQ(Addr("\"a\\\"b\"@example.com"), "\"a\\\"b\"@example.com");
  EXPECT_EQ(Parts("\"a@b\"@example.com"), "\"a@b\" | example.com");
  EXPECT_NE(Error("\"unterminated@example.com").find("unterminated"), std::string::npos);
  EXPECT_NE(Error("\"a\"b@example.com").find("after quoted"), std::string::npos);
  EXPECT_NE(Error("\"\"@example.com").find("empty local part"), std::string::npos);
  EXPECT_NE(Error("\"a\x01\"@example.com").find("control"), std::string::npos);
}

TEST(NormalizeAddress, Idn) {
  // Input and stored address: the domain becomes its A-label; non-transitional, so ß is kept
  // (xn--fa-hia), not mapped to "ss"; a UTF-8 local part is kept as is (RFC 6531).
  const std::pair<const char*, const char*> kCases[] = {
      {"user@bücher.de", "user@xn--bcher-kva.de"},  {"User@BÜCHER.de", "User@xn--bcher-kva.de"},
      {"a@xn--bcher-kva.de", "a@xn--bcher-kva.de"}, {"x@例え.テスト", "x@xn--r8jz45g.xn--zckzah"},
      {"x@faß.de", "x@xn--fa-hia.de"},              {"jöhn@example.com", "jöhn@example.com"}};
  for (const auto& [in, want] : kCases) EXPECT_EQ(Addr(in), want) << in;
  EXPECT_EQ(Key("User@BÜCHER.de"), "user@xn--bcher-kva.de");
  EXPECT_NE(Error("x@b\xC3\x28.de").find("UTF-8"), std::string::npos);
  EXPECT_NE(Error("j\xFFhn@example.com").find("UTF-8"), std::string::npos);
}

TEST(NormalizeAddress, AddressLiterals) {
  EXPECT_EQ(Addr("postmaster@[127.0.0.1]"), "postmaster@[127.0.0.1]");
  EXPECT_EQ(Addr("p@[IPv6:2001:DB8::1]"), "p@[IPv6:2001:db8::1]");
  EXPECT_NE(Error("p@[300.1.1.1]").find("literal"), std::string::npos);
  EXPECT_NE(Error("p@[127.0.0.1").find("literal"), std::string::npos);
}

TEST(NormalizeAddress, RejectsWhatRfc5321Forbids) {
  EXPECT_EQ(Error("bob@@x"), "invalid address \"bob@@x\": two '@'");
  EXPECT_NE(Error("bob@x@example.com").find("two '@'"), std::string::npos);
  EXPECT_NE(Error("bob.example.com").find("missing '@'"), std::string::npos);
  EXPECT_NE(Error("").find("empty"), std::string::npos);
  EXPECT_NE(Error("   ").find("empty"), std::string::npos);
  EXPECT_NE(Error("@example.com").find("empty local part"), std::string::npos);
  EXPECT_NE(Error("bob@").find("empty domain"), std::string::npos);
  EXPECT_NE(Error("bo b@example.com").find("space"), std::string::npos);
  EXPECT_NE(Error("bob@exa mple.com").find("space"), std::string::npos);
  EXPECT_NE(Error("bo\x01@example.com").find("control"), std::string::npos);
  EXPECT_NE(Error("bob@exam\nple.com").find("control"), std::string::npos);
  EXPECT_NE(Error(".bob@example.com").find("'.'"), std::string::npos);
  EXPECT_NE(Error("bob.@example.com").find("'.'"), std::string::npos);
  EXPECT_NE(Error("b..ob@example.com").find("'..'"), std::string::npos);
  EXPECT_NE(Error("b(o)b@example.com").find("not allowed"), std::string::npos);
  EXPECT_NE(Error("bob@-example.com").find("'-'"), std::string::npos);
  EXPECT_NE(Error("bob@example..com").find("empty label"), std::string::npos);
  EXPECT_NE(Error("bob@exa_mple.com").find("not allowed"), std::string::npos);
  EXPECT_NE(Error("bob@localhost").find("no dot"), std::string::npos);
}

TEST(NormalizeAddress, Lengths) {
  std::string local64(64, 'a');
  std::string local65(65, 'a');
  EXPECT_EQ(Addr(local64 + "@example.com"), local64 + "@example.com");
  EXPECT_NE(Error(local65 + "@example.com").find("local part longer than 64"), std::string::npos);

  std::string label63(63, 'b');
  EXPECT_NE(Error("a@" + std::string(64, 'b') + ".com").find("label longer than 63"),
            std::string::npos);
  // 64 + 1 + 63+1+63+1+61 = 254 octets: accepted; one more is rejected.
  std::string domain189 = label63 + "." + label63 + "." + std::string(61, 'c');
  ASSERT_EQ(domain189.size(), 189u);
  EXPECT_EQ(Addr(local64 + "@" + domain189).size(), 254u);
  EXPECT_NE(Error(local64 + "@" + domain189 + "c").find("longer than 254"), std::string::npos);
  // Huge input is refused before any parsing and the message stays bounded.
  std::string huge(100000, 'x');
  std::string msg = Error(huge + "@example.com");
  EXPECT_LT(msg.size(), 300u);
}

TEST(NormalizeAddress, ErrorQuotesSanitizedInput) {
  std::string msg = Error("bad\x7f\x1b[31m@example.com");
  EXPECT_EQ(msg.find('\x1b'), std::string::npos);
  EXPECT_EQ(msg.find('\x7f'), std::string::npos);
}

TEST(NormalizeDomainKey, DomainEntries) {
  auto a = NormalizeDomainKey("@Example.COM");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, "@example.com");
  auto b = NormalizeDomainKey(" bücher.de ");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, "@xn--bcher-kva.de");
  EXPECT_FALSE(NormalizeDomainKey("@").ok());
  EXPECT_FALSE(NormalizeDomainKey("exa mple.com").ok());
  EXPECT_FALSE(NormalizeDomainKey("user@example.com").ok());
  EXPECT_FALSE(NormalizeDomainKey("[127.0.0.1]").ok());
}

}  // namespace
}  // namespace salvo
