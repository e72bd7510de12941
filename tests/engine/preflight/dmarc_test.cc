#include "engine/preflight/dmarc.h"

#include <gtest/gtest.h>

#include "engine/preflight/tag_list.h"
#include "tests/engine/preflight/fake_dns.h"

namespace salvo {
namespace {

PublicSuffixList Psl() {
  auto p = PublicSuffixList::Parse("// comment\ncom\nco.uk\n*.ck\n!www.ck\n");
  EXPECT_TRUE(p.ok());
  return *p;
}

TEST(Psl, OrganizationalDomain) {
  PublicSuffixList p = Psl();
  EXPECT_EQ(p.OrganizationalDomain("mail.news.example.com"), "example.com");
  EXPECT_EQ(p.OrganizationalDomain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(p.OrganizationalDomain("x.y.foo.ck"), "y.foo.ck");
  EXPECT_EQ(p.OrganizationalDomain("a.www.ck"), "www.ck");
  EXPECT_EQ(p.OrganizationalDomain("example.com"), "example.com");
  EXPECT_EQ(p.OrganizationalDomain("host.unlisted"), "host.unlisted");
  EXPECT_FALSE(PublicSuffixList::Parse("// nothing\n").ok());
}

TEST(TagList, Parse) {
  auto t = ParseTagList(" v=DMARC1 ; p = reject;adkim=s; ");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->Get("p"), "reject");
  EXPECT_FALSE(ParseTagList("p=none; p=reject").ok());
  EXPECT_FALSE(ParseTagList("p").ok());
}

TEST(Dmarc, ParseRecord) {
  auto r = ParseDmarcRecord("v=DMARC1; p=quarantine; adkim=s; aspf=r; pct=50; rua=mailto:d@example.com");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->p, "quarantine");
  EXPECT_TRUE(r->strict_dkim);
  EXPECT_FALSE(r->strict_spf);
  EXPECT_EQ(r->pct, 50);
  EXPECT_FALSE(ParseDmarcRecord("v=DMARC1; p=maybe").ok());
  EXPECT_FALSE(ParseDmarcRecord("v=DMARC1; adkim=x; p=none").ok());
  EXPECT_FALSE(ParseDmarcRecord("v=DMARC1").ok());
  EXPECT_FALSE(IsDmarcRecord("v=spf1 -all"));
}

TEST(Dmarc, DiscoveryFallsBackToOrganizationalDomain) {
  TableDns dns;
  PublicSuffixList p = Psl();
  dns.Add("TXT", "_dmarc.example.com", "v=DMARC1; p=reject");
  DmarcLookup d = FindDmarc(dns, p, "news.example.com");
  EXPECT_EQ(d.state, DmarcLookup::State::kFound);
  EXPECT_EQ(d.name, "_dmarc.example.com");
  EXPECT_EQ(FindDmarc(dns, p, "other.com").state, DmarcLookup::State::kMissing);
  dns.timeout.insert("_dmarc.slow.com");
  EXPECT_EQ(FindDmarc(dns, p, "slow.com").state, DmarcLookup::State::kDnsError);
}

TEST(Dmarc, Alignment) {
  PublicSuffixList p = Psl();
  EXPECT_TRUE(Aligned(p, "mail.example.com", "example.com", false));
  EXPECT_FALSE(Aligned(p, "mail.example.com", "example.com", true));
  EXPECT_TRUE(Aligned(p, "Example.com", "example.com", true));
  EXPECT_FALSE(Aligned(p, "example.net", "example.com", false));
}

}  // namespace
}  // namespace salvo
