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

TEST(ConfigTest, SubmissionSection) {
  auto c = ParseConfig("[submission]\nlisten = \"127.0.0.1:2587\"\ntls_listen = \"127.0.0.1:2465\"\n"
                       "tls_cert_file = \"certs/s.pem\"\ntls_key_file = \"/k.pem\"\n"
                       "max_message_bytes = 2048\nmax_recipients = 5\ntimeout = \"30s\"\n",
                       "/etc/salvo/salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->submission.has_value());
  EXPECT_EQ(c->submission->listen, "127.0.0.1:2587");
  EXPECT_EQ(c->submission->tls_listen, "127.0.0.1:2465");
  EXPECT_EQ(c->submission->tls_cert_file, "/etc/salvo/certs/s.pem");
  EXPECT_EQ(c->submission->tls_key_file, "/k.pem");
  EXPECT_EQ(c->submission->max_message_bytes, 2048u);
  EXPECT_EQ(c->submission->max_recipients, 5u);
  EXPECT_EQ(c->submission->timeout, absl::Seconds(30));
  EXPECT_EQ(c->submission->data_timeout, absl::Minutes(10));

  c = ParseConfig("data_dir = \"d\"\n", "s.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->submission.has_value());
  c = ParseConfig("[submission]\n", "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->submission->listen, "127.0.0.1:2587");
  EXPECT_EQ(c->submission->max_message_bytes, 10u << 20);
}

TEST(ConfigTest, SubmissionErrorsNameFileLineAndKey) {
  auto err = [](const std::string& text) {
    auto c = ParseConfig(text, "s.toml");
    return c.ok() ? std::string("ok") : std::string(c.status().message());
  };
  EXPECT_EQ(err("[submission]\nlisten = \"x\"\nlisen = 1\n"),
            "s.toml:3: unknown key \"submission.lisen\"");
  EXPECT_EQ(err("[submission]\n\ntls_listen = \"127.0.0.1:1\"\n"),
            "s.toml:3: \"submission.tls_listen\": needs tls_cert_file and tls_key_file");
  EXPECT_EQ(err("[submission]\ntls_cert_file = \"c.pem\"\n"),
            "s.toml:2: \"submission.tls_cert_file\": needs both tls_cert_file and tls_key_file");
  EXPECT_EQ(err("[submission]\nmax_message_bytes = 99999999999\n"),
            "s.toml:2: \"submission.max_message_bytes\": must be 1..26214400 (the queue's limit)");
  EXPECT_EQ(err("[submission]\nmax_recipients = 0\n"),
            "s.toml:2: \"submission.max_recipients\": must be 1..10000");
  EXPECT_EQ(err("[submission]\nmax_recipients = \"5\"\n"),
            "s.toml:2: \"submission.max_recipients\" must be a non-negative integer in range");
  EXPECT_EQ(err("[submission]\nlisten = \"\"\n"),
            "s.toml:2: \"submission.listen\": is empty and there is no tls_listen: nothing would listen");
}

}  // namespace
}  // namespace salvo
