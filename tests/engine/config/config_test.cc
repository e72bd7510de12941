#include "engine/config/config.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace salvo {
namespace {

TEST(ConfigTest, ParsesAccountsRoutesAndDefaults) {
  auto c = ParseConfig(R"(
data_dir = "/var/lib/salvo"
[[account]]
name = "sg-bulk"
host = "smtp.sendgrid.net"
username = "apikey"
password_env = "SG_BULK_KEY"
source_ips = ["192.0.2.10", "192.0.2.11"]
rate_per_second = 40
[[route]]
name = "default"
default = true
accounts = [ { name = "sg-bulk", weight = 3 } ]
[smtp.timeouts]
data_done = "15m"
)", "/etc/salvo/salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/var/lib/salvo");
  ASSERT_EQ(c->accounts.size(), 1u);
  EXPECT_EQ(c->accounts[0].port, 587);
  EXPECT_EQ(c->accounts[0].tls, TlsMode::kStartTls);
  EXPECT_TRUE(c->accounts[0].tls_verify);
  EXPECT_EQ(c->accounts[0].source_ips.size(), 2u);
  EXPECT_DOUBLE_EQ(c->accounts[0].rate_per_second, 40);
  ASSERT_EQ(c->routes.size(), 1u);
  EXPECT_TRUE(c->routes[0].is_default);
  EXPECT_EQ(c->routes[0].accounts[0].weight, 3u);
  EXPECT_EQ(c->smtp_timeouts.data_done, absl::Minutes(15));
  EXPECT_EQ(c->smtp_timeouts.greeting, absl::Minutes(5));  // RFC 5321 default
}

TEST(ConfigTest, UnknownKeyNamesKeyAndLine) {
  auto c = ParseConfig("data_dir = \"x\"\n[[account]]\nname = \"a\"\nhost = \"h\"\nhots = 1\n",
                       "salvo.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "salvo.toml:5")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "account.hots")) << c.status();
}

TEST(ConfigTest, WrongTypeNamesKeyAndLine) {
  auto c = ParseConfig("\n[[account]]\nname = \"a\"\nhost = \"h\"\nport = \"587\"\n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "s.toml:5")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "account.port")) << c.status();
}

TEST(ConfigTest, RouteMustNameKnownAccount) {
  auto c = ParseConfig("[[route]]\nname = \"r\"\naccounts = [ { name = \"nope\" } ]\n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "nope")) << c.status();
}

TEST(ConfigTest, BadTlsModeAndSyntaxError) {
  EXPECT_FALSE(ParseConfig("[[account]]\nname=\"a\"\nhost=\"h\"\ntls=\"ssl\"\n", "s").ok());
  auto c = ParseConfig("data_dir = \n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "s.toml:1")) << c.status();
}

TEST(ConfigTest, DnsAndPreflight) {
  auto c = ParseConfig(
      "[dns]\nservers = [\"127.0.0.1:5353\"]\ntimeout = \"1s\"\ntries = 3\n"
      "[preflight]\nwarn_score = 4\nfail_score = 8.5\nconsent_max_age = \"365d\"\n"
      "physical_address = \"1 Main St\"\nrspamd_url = \"http://127.0.0.1:11333\"\n"
      "[tracking]\nbase_url = \"https://click.example.com\"\ncname_target = \"t.partner.example\"\n",
      "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->dns.servers, std::vector<std::string>{"127.0.0.1:5353"});
  EXPECT_EQ(c->dns.timeout, absl::Seconds(1));
  EXPECT_EQ(c->dns.tries, 3u);
  EXPECT_EQ(c->preflight.fail_score, 8.5);
  EXPECT_EQ(c->preflight.consent_max_age, absl::Hours(365 * 24));
  EXPECT_EQ(c->tracking->cname_target, "t.partner.example");
  c = ParseConfig("[preflight]\nwarn_score = 11\n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "preflight.warn_score")) << c.status();
  c = ParseConfig("[dns]\ntries = 0\n", "s.toml");
  EXPECT_FALSE(c.ok());
  c = ParseConfig("[preflight]\nrspamd = \"x\"\n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "preflight.rspamd")) << c.status();
}

TEST(ConfigTest, QueueKeepTakesDaysAndRejectsUnknownKeys) {
  auto c = ParseConfig("data_dir = \"x\"\n", "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->queue.keep, absl::Hours(7 * 24));  // default
  c = ParseConfig("[queue]\nkeep = \"2d12h\"\n", "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->queue.keep, absl::Hours(60));
  c = ParseConfig("[queue]\nkeep = \"36h\"\n", "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->queue.keep, absl::Hours(36));
  c = ParseConfig("[queue]\nkeep = \"7d\"\nkepp = 1\n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "s.toml:3")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "queue.kepp")) << c.status();
  c = ParseConfig("[queue]\nkeep = \"7 days\"\n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "s.toml:2")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "invalid duration")) << c.status();
  for (const char* bad : {"d", "-1d", "1d-1h", "1dd", "1.5d"})
    EXPECT_FALSE(ParseConfig(std::string("[queue]\nkeep = \"") + bad + "\"\n", "s").ok()) << bad;
}

TEST(ConfigTest, RelativePathsResolveAgainstConfigDir) {
  auto c = ParseConfig("data_dir = \"data\"\n[[dkim]]\ndomain=\"e.com\"\nselector=\"s\"\n"
                       "key_file=\"secrets/k.pem\"\n", "/etc/salvo/salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/etc/salvo/data");
  EXPECT_EQ(c->dkim[0].key_file, "/etc/salvo/secrets/k.pem");
}

}  // namespace
}  // namespace salvo
