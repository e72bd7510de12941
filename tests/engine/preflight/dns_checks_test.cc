#include "engine/preflight/dns_checks.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <set>

#include "tests/engine/preflight/fake_dns.h"

namespace salvo {
namespace {

constexpr char kKey[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

class DnsChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = PublicSuffixList::Parse("com\nnet\norg\n");
    ASSERT_TRUE(p.ok());
    psl_ = std::make_unique<PublicSuffixList>(*p);
    setup_.from_domain = "example.com";
    setup_.envelope_domain = "example.com";
    setup_.senders = {{"own", "10.0.0.5", {"192.0.2.10"}, "mta.example.com"},
                      {"sg", "smtp.sendgrid.net", {}, ""}};
    setup_.dkim = {{"example.com", "s1", kKey, 0}};
    setup_.tracking_host = "click.example.com";
    Zone({});
  }
  // The good zone without the records named in `skip` ("TXT example.com").
  void Zone(const std::set<std::string>& skip) {
    dns_ = TableDns();
    const std::vector<std::array<std::string, 3>> records = {
        {"TXT", "example.com", "v=spf1 ip4:192.0.2.10 include:sendgrid.net -all"},
        {"TXT", "sendgrid.net", "v=spf1 ip4:167.89.0.0/17 ~all"},
        {"TXT", "s1._domainkey.example.com", kKey},
        {"TXT", "_dmarc.example.com", "v=DMARC1; p=quarantine"},
        {"A", "click.example.com", "192.0.2.80"},
        {"MX", "example.com", "mx.example.com"},
        {"PTR", "192.0.2.10", "mta.example.com"},
        {"A", "mta.example.com", "192.0.2.10"}};
    for (const auto& r : records)
      if (!skip.count(r[0] + " " + r[1])) dns_.Add(r[0], r[1], r[2]);
  }
  PreflightReport Run() {
    PreflightReport r;
    RunDnsChecks(setup_, dns_, *psl_, &r);
    return r;
  }
  // The ids of the failed checks, comma separated.
  std::string Fails() {
    std::string out;
    PreflightReport r = Run();
    for (const auto& c : r.checks())
      if (c.status == CheckStatus::kFail) out += (out.empty() ? "" : ",") + c.id;
    return out;
  }
  TableDns dns_;
  DnsSetup setup_;
  std::unique_ptr<PublicSuffixList> psl_;
};

TEST_F(DnsChecks, GoodSetupPassesEverything) {
  PreflightReport r = Run();
  EXPECT_EQ(r.fails(), 0) << r.ToText();
  EXPECT_EQ(r.warns(), 0) << r.ToText();
  for (const char* id : {"spf.record", "spf.limits", "spf.ip", "spf.partner", "dkim.record",
                         "dmarc.record", "dmarc.alignment", "tracking.dns", "tracking.domain",
                         "mx.bounce", "mx.from", "ptr.ip", "ehlo.name"})
    EXPECT_NE(r.Find(id), nullptr) << id << "\n" << r.ToText();
}

TEST_F(DnsChecks, NoSpf) {
  Zone({"TXT example.com"});
  EXPECT_EQ(Fails(), "spf.record");
  EXPECT_NE(Run().Find("spf.record")->fix.find("publish TXT at example.com: \"v=spf1 ip4:192.0.2.10 include:sendgrid.net -all\""),
            std::string::npos) << Run().ToText();
}

TEST_F(DnsChecks, SpfWithoutPartnerInclude) {
  setup_.senders[1].host = "smtp.mailgun.org";
  dns_.Add("TXT", "mailgun.org", "v=spf1 -all");
  EXPECT_EQ(Fails(), "spf.partner");
  EXPECT_NE(Run().Find("spf.partner")->fix.find("include:mailgun.org"), std::string::npos);
}

TEST_F(DnsChecks, DkimOtherKeyAndMissing) {
  setup_.dkim[0].expected_record = "v=DKIM1; k=ed25519; p=AAAAC3NzaC1lZDI1NTE5AAAAIGJ0aGVyIGtleQ==";
  EXPECT_EQ(Fails(), "dkim.record");
  EXPECT_NE(Run().Find("dkim.record")->found.find("another key"), std::string::npos);
  setup_.dkim[0].selector = "s2";
  EXPECT_EQ(Fails(), "dkim.record");
  EXPECT_NE(Run().Find("dkim.record")->fix.find("publish TXT at s2._domainkey.example.com"),
            std::string::npos);
}

TEST_F(DnsChecks, DmarcStrictWithDkimSubdomain) {
  Zone({"TXT _dmarc.example.com", "TXT s1._domainkey.example.com"});
  dns_.Add("TXT", "s1._domainkey.mail.example.com", kKey);
  dns_.Add("TXT", "_dmarc.example.com", "v=DMARC1; p=reject; adkim=s");
  setup_.dkim[0].domain = "mail.example.com";
  EXPECT_EQ(Fails(), "dmarc.alignment") << Run().ToText();
  EXPECT_NE(Run().Find("dmarc.alignment")->fix.find("adkim=r"), std::string::npos);
}

TEST_F(DnsChecks, TimeoutIsNamedNotMissing) {
  dns_.timeout.insert("_dmarc.example.com");
  PreflightReport r = Run();
  ASSERT_NE(r.Find("dmarc.record"), nullptr);
  EXPECT_EQ(r.Find("dmarc.record")->status, CheckStatus::kFail);
  EXPECT_NE(r.Find("dmarc.record")->found.find("timeout"), std::string::npos);
  EXPECT_EQ(r.Find("dmarc.record")->found.find("no DMARC"), std::string::npos);
}

TEST_F(DnsChecks, TrackingAndPtr) {
  setup_.tracking_host = "click.nowhere.com";
  Zone({"A click.example.com", "PTR 192.0.2.10"});
  EXPECT_EQ(Fails(), "tracking.dns,ptr.ip") << Run().ToText();
  EXPECT_EQ(Run().Find("tracking.domain")->status, CheckStatus::kWarn);
}

TEST(PreflightReport, Json) {
  PreflightReport r;
  r.Pass("a.b", "ok");
  r.Fail("dmarc.alignment", "x \"y\"", "fix\r\nit");
  r.Warn("c", "w", "f");
  EXPECT_EQ(r.ToJson(),
            "{\"checks\":[{\"id\":\"a.b\",\"status\":\"pass\",\"found\":\"ok\",\"fix\":\"\"},"
            "{\"id\":\"dmarc.alignment\",\"status\":\"fail\",\"found\":\"x \\\"y\\\"\",\"fix\":\"fix??it\"},"
            "{\"id\":\"c\",\"status\":\"warn\",\"found\":\"w\",\"fix\":\"f\"}],\"fails\":1,\"warns\":1}");
  EXPECT_EQ(r.fails(), 1);
}

}  // namespace
}  // namespace salvo
