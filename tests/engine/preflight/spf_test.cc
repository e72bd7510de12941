#include "engine/preflight/spf.h"

#include <gtest/gtest.h>

#include "tests/engine/preflight/fake_dns.h"

namespace salvo {
namespace {

TEST(SpfParse, TermsAndErrors) {
  auto r = ParseSpfRecord("v=spf1 ip4:192.0.2.0/24 -a:mail.example.com/28 ~mx include:x.org redirect=y.org ?all");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->terms.size(), 6u);
  EXPECT_EQ(r->terms[0].kind, SpfTerm::Kind::kIp4);
  EXPECT_EQ(r->terms[0].cidr4, 24);
  EXPECT_EQ(r->terms[1].qualifier, '-');
  EXPECT_EQ(r->terms[1].domain_spec, "mail.example.com");
  EXPECT_EQ(r->terms[1].cidr4, 28);
  EXPECT_EQ(r->terms[4].kind, SpfTerm::Kind::kRedirect);
  EXPECT_FALSE(ParseSpfRecord("v=spf1 foo:bar").ok());
  EXPECT_FALSE(ParseSpfRecord("v=spf1 ip4:300.1.1.1").ok());
  EXPECT_FALSE(ParseSpfRecord("v=spf1 ip4:1.2.3.4/33").ok());
  EXPECT_FALSE(ParseSpfRecord("v=spf1 redirect=a.org redirect=b.org").ok());
  EXPECT_FALSE(ParseSpfRecord("v=spf10 -all").ok());
  EXPECT_TRUE(IsSpfRecord("v=spf1"));
  EXPECT_FALSE(IsSpfRecord("v=spf1x"));
}

class SpfEval : public ::testing::Test {
 protected:
  TableDns dns;
};

TEST_F(SpfEval, PassFailAndIncludes) {
  dns.Add("TXT", "example.com", "v=spf1 ip4:192.0.2.0/24 include:_spf.partner.net -all");
  dns.Add("TXT", "example.com", "google-site-verification=abc");
  dns.Add("TXT", "_spf.partner.net", "v=spf1 ip4:198.51.100.7 ip6:2001:db8::/32 ~all");
  EXPECT_EQ(CheckHost(dns, "192.0.2.9", "example.com", "b@example.com").result, SpfResult::kPass);
  EXPECT_EQ(CheckHost(dns, "198.51.100.7", "example.com", "b@example.com").result, SpfResult::kPass);
  EXPECT_EQ(CheckHost(dns, "2001:db8::1", "example.com", "b@example.com").result, SpfResult::kPass);
  SpfEvaluation e = CheckHost(dns, "203.0.113.1", "example.com", "b@example.com");
  EXPECT_EQ(e.result, SpfResult::kFail);
  EXPECT_EQ(e.lookups, 1);
  EXPECT_EQ(CheckHost(dns, "1.1.1.1", "nospf.example", "x").result, SpfResult::kNone);
}

TEST_F(SpfEval, AMxExistsAndMacros) {
  dns.Add("TXT", "example.com", "v=spf1 a mx:example.com exists:%{i}.rbl.example.com -all");
  dns.Add("A", "example.com", "192.0.2.1");
  dns.Add("MX", "example.com", "mx1.example.com");
  dns.Add("A", "mx1.example.com", "192.0.2.25");
  dns.Add("A", "203.0.113.5.rbl.example.com", "127.0.0.2");
  EXPECT_EQ(CheckHost(dns, "192.0.2.1", "example.com", "a@example.com").result, SpfResult::kPass);
  EXPECT_EQ(CheckHost(dns, "192.0.2.25", "example.com", "a@example.com").result, SpfResult::kPass);
  EXPECT_EQ(CheckHost(dns, "203.0.113.5", "example.com", "a@example.com").result, SpfResult::kPass);
  EXPECT_EQ(CheckHost(dns, "203.0.113.6", "example.com", "a@example.com").result, SpfResult::kFail);
}

TEST_F(SpfEval, RedirectAndNeutral) {
  dns.Add("TXT", "example.com", "v=spf1 redirect=_spf.example.net");
  dns.Add("TXT", "_spf.example.net", "v=spf1 ip4:192.0.2.1 ~all");
  EXPECT_EQ(CheckHost(dns, "192.0.2.1", "example.com", "").result, SpfResult::kPass);
  EXPECT_EQ(CheckHost(dns, "192.0.2.2", "example.com", "").result, SpfResult::kSoftFail);
  dns.Add("TXT", "neutral.example", "v=spf1 ip4:192.0.2.1");
  EXPECT_EQ(CheckHost(dns, "10.0.0.1", "neutral.example", "").result, SpfResult::kNeutral);
  dns.Add("TXT", "badredir.example", "v=spf1 redirect=nothing.example");
  EXPECT_EQ(CheckHost(dns, "10.0.0.1", "badredir.example", "").result, SpfResult::kPermError);
}

TEST_F(SpfEval, Limits) {
  std::string rec = "v=spf1";
  for (int i = 0; i < 11; ++i) {
    rec += " include:i" + std::to_string(i) + ".example.net";
    dns.Add("TXT", "i" + std::to_string(i) + ".example.net", "v=spf1 ip4:10.9.9." + std::to_string(i) + " -all");
  }
  dns.Add("TXT", "example.com", rec + " -all");
  SpfEvaluation e = WalkSpf(dns, "example.com");
  EXPECT_EQ(e.result, SpfResult::kPermError);
  EXPECT_NE(e.detail.find("more than 10 DNS lookups"), std::string::npos) << e.detail;
  // A sender matched by the first include passes, as at a receiver.
  EXPECT_EQ(CheckHost(dns, "10.9.9.0", "example.com", "").result, SpfResult::kPass);

  dns.Add("TXT", "loop.example", "v=spf1 include:loop2.example -all");
  dns.Add("TXT", "loop2.example", "v=spf1 include:loop.example -all");
  e = WalkSpf(dns, "loop.example");
  EXPECT_EQ(e.result, SpfResult::kPermError);
  EXPECT_NE(e.detail.find("include loop: loop.example -> loop2.example -> loop.example"),
            std::string::npos) << e.detail;

  dns.Add("TXT", "void.example", "v=spf1 a:n1.example a:n2.example a:n3.example -all");
  e = WalkSpf(dns, "void.example");
  EXPECT_EQ(e.result, SpfResult::kPermError);
  EXPECT_NE(e.detail.find("void lookups"), std::string::npos) << e.detail;

  dns.Add("TXT", "two.example", "v=spf1 -all");
  dns.Add("TXT", "two.example", "v=spf1 +all");
  e = CheckHost(dns, "10.0.0.1", "two.example", "");
  EXPECT_EQ(e.result, SpfResult::kPermError);
  EXPECT_NE(e.detail.find("2 SPF records"), std::string::npos);
}

TEST_F(SpfEval, TempErrorIsNotMissing) {
  dns.Add("TXT", "example.com", "v=spf1 include:slow.example -all");
  dns.timeout.insert("slow.example");
  SpfEvaluation e = CheckHost(dns, "10.0.0.1", "example.com", "");
  EXPECT_EQ(e.result, SpfResult::kTempError);
  EXPECT_NE(e.detail.find("timeout"), std::string::npos);
  dns.servfail.insert("sf.example");
  EXPECT_EQ(CheckHost(dns, "10.0.0.1", "sf.example", "").result, SpfResult::kTempError);
}

TEST_F(SpfEval, WalkListsIncludedDomains) {
  dns.Add("TXT", "example.com", "v=spf1 include:sendgrid.net include:_spf.google.com -all");
  dns.Add("TXT", "sendgrid.net", "v=spf1 ip4:167.89.0.0/17 ~all");
  dns.Add("TXT", "_spf.google.com", "v=spf1 ip4:35.190.247.0/24 ~all");
  SpfEvaluation e = WalkSpf(dns, "example.com");
  EXPECT_EQ(e.result, SpfResult::kFail);
  EXPECT_EQ(e.lookups, 2);
  EXPECT_EQ(e.domains, (std::vector<std::string>{"example.com", "sendgrid.net", "_spf.google.com"}));
}

}  // namespace
}  // namespace salvo
