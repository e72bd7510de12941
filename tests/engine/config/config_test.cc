#include "engine/config/config.h"
#include "engine/config/byte_size.h"

#include <gtest/gtest.h>

#include <vector>

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

TEST(ConfigTest, StoreMemorySizesAndBounds) {
  auto c = ParseConfig("data_dir = \"x\"\n", "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->store.block_cache, 96u << 20);  // defaults: a 10 M send stays under 256 MB
  EXPECT_EQ(c->store.memtables, 64u << 20);
  EXPECT_EQ(c->store.write_buffer_size, 32u << 20);
  EXPECT_EQ(c->store.max_write_buffers, 3u);
  c = ParseConfig("[store]\nblock_cache = \"1GB\"\nmemtables = \"512MiB\"\n"
                  "write_buffer_size = 16777216\nmax_write_buffers = 4\n", "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->store.block_cache, 1u << 30);
  EXPECT_EQ(c->store.memtables, 512u << 20);
  EXPECT_EQ(c->store.write_buffer_size, 16u << 20);
  EXPECT_EQ(c->store.max_write_buffers, 4u);
  // Each error names the key (and the line).
  struct Bad {
    const char* toml;
    const char* says;
  };
  for (const Bad& b : std::vector<Bad>{
           {"[store]\nblock_cache = \"64 parsecs\"\n", "s.toml:2: \"store.block_cache\": invalid size"},
           {"[store]\nblock_cache = \"-1MB\"\n", "store.block_cache"},
           {"[store]\nblock_cache = \"2TB\"\n", "store.block_cache"},
           {"[store]\nblock_cache = true\n", "\"store.block_cache\" must be a size"},
           {"[store]\nblock_cache = \"4MB\"\n", "store.block_cache\": must be between 8MB"},
           {"[store]\nwrite_buffer_size = \"100KB\"\n", "store.write_buffer_size"},
           {"[store]\nmax_write_buffers = 1\n", "store.max_write_buffers"},
           {"[store]\nmax_write_buffers = -2\n", "store.max_write_buffers"},
           {"[store]\nmemtables = \"8MB\"\n", "store.memtables\": must be at least"},
           {"[store]\nmemtables = \"128MB\"\n", "store.memtables\": must not be above block_cache"},
           {"[store]\nblock_cahce = \"64MB\"\n", "unknown key \"store.block_cahce\""},
       }) {
    auto r = ParseConfig(b.toml, "s.toml");
    ASSERT_FALSE(r.ok()) << b.toml;
    EXPECT_TRUE(absl::StrContains(r.status().message(), b.says)) << r.status();
  }
}

TEST(ConfigTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("4096B"), 4096u);
  EXPECT_EQ(*ParseByteSize(" 512kb "), 512u << 10);
  EXPECT_EQ(*ParseByteSize("64MB"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("64 MiB"), 64u << 20);
  EXPECT_EQ(*ParseByteSize("1G"), 1u << 30);
  EXPECT_EQ(*ParseByteSize("1024GB"), uint64_t{1} << 40);
  for (const char* bad : {"", "MB", "1.5GB", "1025GB", "12XB", "-3", "99999999999999999999"})
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
}

TEST(ConfigTest, RelativePathsResolveAgainstConfigDir) {
  auto c = ParseConfig("data_dir = \"data\"\n[[dkim]]\ndomain=\"e.com\"\nselector=\"s\"\n"
                       "key_file=\"secrets/k.pem\"\n", "/etc/salvo/salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/etc/salvo/data");
  EXPECT_EQ(c->dkim[0].key_file, "/etc/salvo/secrets/k.pem");
}

// Every section's errors: file, line and dotted key, and the whole-table checks at the table's
// line.
TEST(ConfigTest, EachSectionNamesFileLineAndKey) {
  const struct {
    const char* toml;
    const char* error;
  } kCases[] = {
      {"[smtp]\nport = 1\n", "s.toml:2: unknown key \"smtp.port\""},
      {"[smtp.timeouts]\nconnect = \"5s\"\nconect = 1\n",
       "s.toml:3: unknown key \"smtp.timeouts.conect\""},
      {"[smtp.timeouts]\nidle = true\n",
       "s.toml:2: \"smtp.timeouts.idle\" must be a duration such as \"30s\" or \"24h\""},
      {"[[account]]\nname = \"a\"\n", "s.toml:1: [[account]] needs name and host"},
      {"[[account]]\nname = \"a\"\nhost = \"h\"\ntls = \"ssl\"\n",
       "s.toml:4: \"account.tls\": must be starttls, implicit or none"},
      {"[[account]]\nname = \"a\"\nhost = \"h\"\nhots = 1\nport = \"x\"\n",
       "s.toml:5: \"account.port\" must be a non-negative integer in range"},
      {"[[account]]\nhost = \"h\"\nhots = 1\n", "s.toml:3: unknown key \"account.hots\""},
      {"[[route]]\nlists = [\"l\"]\n", "s.toml:1: [[route]] needs a name"},
      {"[[route]]\nname = \"r\"\npurpose = \"spam\"\n",
       "s.toml:3: \"route.purpose\": must be bulk or responder"},
      {"[[route]]\nname = \"r\"\naccounts = [ { name = \"a\", wieght = 1 } ]\n",
       "s.toml:3: unknown key \"route.accounts.wieght\""},
      {"[[route]]\nname = \"r\"\naccounts = [ \"a\" ]\n",
       "s.toml:3: \"route.accounts\": entries must be tables like { name = \"sg\", weight = 1 }"},
      {"[[throttle]]\ndomains = [\"gmail.com\"]\nrate = 1\n",
       "s.toml:3: unknown key \"throttle.rate\""},
      {"[tracking]\nbase_url = \"ftp://x\"\n",
       "s.toml:1: \"tracking.base_url\": must start with https:// or http://"},
      {"[tracking]\nbase_url = \"ftp://x\"\nsecret = 1\n",
       "s.toml:3: unknown key \"tracking.secret\""},
      {"[[dkim]]\ndomain = \"e.com\"\nselector = \"s\"\n",
       "s.toml:1: [[dkim]] needs domain, selector and key_file"},
      {"[[dkim]]\ndomain = \"e.com\"\nkey = 1\n", "s.toml:3: unknown key \"dkim.key\""},
      {"[http]\nlisten = \"127.0.0.1:1\"\nthreads = -1\n",
       "s.toml:3: \"http.threads\" must be a non-negative integer in range"},
      {"[metrics]\ntop_domains = \"gmail.com\"\n",
       "s.toml:2: \"metrics.top_domains\" must be an array of strings"},
      {"[webhooks]\nsendgrid = 1\n", "s.toml:2: \"webhooks.sendgrid\" must be a table"},
      {"[webhooks.sendgrid]\nsigning_key = \"k\"\n",
       "s.toml:2: unknown key \"webhooks.sendgrid.signing_key\""},
      {"[sending]\nretry_for = \"1d\"\nbatch = 1\n", "s.toml:3: unknown key \"sending.batch\""},
      {"[queue]\nkeep = false\n",
       "s.toml:2: \"queue.keep\" must be a duration such as \"30s\" or \"24h\""},
  };
  for (const auto& c : kCases) {
    auto cfg = ParseConfig(c.toml, "s.toml");
    ASSERT_FALSE(cfg.ok()) << c.toml;
    EXPECT_EQ(std::string(cfg.status().message()), c.error) << c.toml;
  }
}

constexpr char kWarmupBase[] = R"(
[[account]]
name = "new"
host = "smtp.example.com"
source_ips = ["192.0.2.10"]
[[route]]
name = "r"
default = true
accounts = [ { name = "new" } ]
[sending]
engaged_days = 14
)";

TEST(ConfigTest, WarmupForAnAccountOrASourceIp) {
  auto c = ParseConfig(std::string(kWarmupBase) + R"(
[[warmup]]
account = "new"
start = "2026-12-01"
daily = [50, 100, 500]
max_bounce_rate = 0.02
[[warmup]]
source_ip = "192.0.2.10"
start = "2026-12-03"
)", "/etc/salvo/salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sending.engaged_days, 14u);
  ASSERT_EQ(c->warmups.size(), 2u);
  EXPECT_EQ(c->warmups[0].daily, (std::vector<uint64_t>{50, 100, 500}));
  EXPECT_EQ(c->warmups[0].start_day, 20788);
  EXPECT_DOUBLE_EQ(c->warmups[0].max_bounce_rate, 0.02);
  EXPECT_EQ(c->warmups[1].schedule, "standard");
  EXPECT_EQ(c->warmups[1].min_sample, 100u);
  EXPECT_EQ(c->FindWarmup("new", ""), &c->warmups[0]);
  EXPECT_EQ(c->FindWarmup("", "192.0.2.10"), &c->warmups[1]);
  EXPECT_EQ(c->FindWarmup("other", ""), nullptr);
}

// [sending] completion_batch / completion_wait: off by default, read, and bounded (1 ms).
TEST(ConfigTest, CompletionBatching) {
  auto c = ParseConfig(kWarmupBase, "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sending.completion_batch, 1u);
  EXPECT_EQ(c->sending.completion_wait, absl::Microseconds(250));
  c = ParseConfig(std::string(kWarmupBase) + "completion_batch = 16\ncompletion_wait = \"100us\"\n",
                  "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sending.completion_batch, 16u);
  EXPECT_EQ(c->sending.completion_wait, absl::Microseconds(100));
  c = ParseConfig(std::string(kWarmupBase) + "completion_wait = \"2ms\"\n", "s.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(std::string(c.status().message()),
            "s.toml: [sending] completion_wait must be at most 1ms (it delays replies)");
}

TEST(ConfigTest, WarmupErrorsNameTheLine) {
  auto err = [](const std::string& w) {
    auto c = ParseConfig(std::string(kWarmupBase) + w, "s.toml");
    return c.ok() ? std::string("ok") : std::string(c.status().message());
  };
  EXPECT_EQ(err("[[warmup]]\naccount = \"nope\"\nstart = \"2026-12-01\"\n"),
            "s.toml:12: [[warmup]] account \"nope\" is not an [[account]]");
  EXPECT_EQ(err("[[warmup]]\nsource_ip = \"198.51.100.1\"\nstart = \"2026-12-01\"\n"),
            "s.toml:12: [[warmup]] source_ip \"198.51.100.1\" is not in the source_ips of any "
            "[[account]]");
  EXPECT_EQ(err("[[warmup]]\naccount = \"new\"\nstart = \"2026-02-30\"\n"),
            "s.toml:12: [[warmup]] start \"2026-02-30\" is not a date \"YYYY-MM-DD\"");
  EXPECT_EQ(err("[[warmup]]\naccount = \"new\"\nstart = \"2026-12-01\"\nschedule = \"fast\"\n"),
            "s.toml:12: [[warmup]] schedule \"fast\" is unknown (\"standard\", or a daily list)");
  EXPECT_EQ(err("[[warmup]]\naccount = \"new\"\nstart = \"2026-12-01\"\ndaily = [10, 0]\n"),
            "s.toml:15: \"warmup.daily\": must be a list of positive integers (messages per day)");
  EXPECT_EQ(err("[[warmup]]\naccount = \"new\"\nsource_ip = \"192.0.2.10\"\nstart = \"2026-12-01\"\n"),
            "s.toml:12: [[warmup]] needs exactly one of account = \"NAME\" or source_ip = \"ADDRESS\"");
  EXPECT_EQ(err("[[warmup]]\naccount = \"new\"\nstart = \"2026-12-01\"\nrate = 1\n"),
            "s.toml:15: unknown key \"warmup.rate\"");
}

TEST(ConfigTest, PasswordInClearIsRefusedUnlessAllowed) {
  const std::string account =
      "[[account]]\nname = \"old-relay\"\nhost = \"h\"\ntls = \"none\"\nusername = \"u\"\n";
  auto c = ParseConfig(account, "salvo.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "salvo.toml:1: account \"old-relay\": username with tls = \"none\" would send the "
            "password in clear; use starttls or implicit, or set allow_plaintext_auth = true");
  c = ParseConfig(account + "allow_plaintext_auth = true\n", "salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(SecurityWarnings(*c), (std::vector<std::string>{
                                      "account \"old-relay\" allow_plaintext_auth = true: its "
                                      "password goes in clear"}));
  // No username: nothing to leak.
  c = ParseConfig("[[account]]\nname = \"a\"\nhost = \"h\"\ntls = \"none\"\n", "salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(SecurityWarnings(*c).empty());
}

TEST(ConfigTest, WebhookSectionsAccountWebhooksAndHttps) {
  auto c = ParseConfig(R"(
[[account]]
name = "bulk"
host = "smtp.sendgrid.net"
webhook = { provider = "sendgrid", public_key_file = "keys/bulk.pem" }
[[account]]
name = "responder"
host = "smtp.sendgrid.net"
webhook = { provider = "sendgrid", public_key_file = "keys/responder.pem", allow_unsigned = false }
[webhooks.ses]
cert_file = "sns.pem"
topic_arns = ["arn:aws:sns:us-east-1:123456789012:ses-feedback"]
[webhooks.brevo]
allow_unsigned = true
[http]
tls_listen = "0.0.0.0:443"
tls_cert_file = "tls/fullchain.pem"
tls_key_file = "tls/privkey.pem"
plain_tracking = true
max_connections_per_ip = 16
)", "/etc/salvo/salvo.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->accounts[0].webhook.has_value());
  EXPECT_EQ(c->accounts[0].webhook->provider, "sendgrid");
  EXPECT_EQ(c->accounts[0].webhook->public_key_file, "/etc/salvo/keys/bulk.pem");
  EXPECT_EQ(c->webhooks.at("ses").topic_arns.size(), 1u);
  EXPECT_TRUE(c->webhooks.at("brevo").allow_unsigned);
  EXPECT_EQ(c->http.tls_listen, "0.0.0.0:443");
  EXPECT_EQ(c->http.tls_cert_file, "/etc/salvo/tls/fullchain.pem");
  EXPECT_TRUE(c->http.plain_tracking);
  EXPECT_EQ(c->http.max_connections_per_ip, 16u);
  EXPECT_EQ(SecurityWarnings(*c).size(), 1u);
  EXPECT_EQ(ParseConfig("", "s.toml")->http.max_connections_per_ip, 64u);

  // SNS without topic_arns, an unknown provider, a key the table does not know, TLS without files.
  for (const auto& [text, expect] : std::vector<std::pair<std::string, std::string>>{
           {"[webhooks.ses]\ncert_file = \"sns.pem\"\n", "webhooks.ses: cert_file needs topic_arns"},
           {"[[account]]\nname = \"a\"\nhost = \"h\"\nwebhook = { provider = \"acme\" }\n",
            "account \"a\": webhook provider \"acme\""},
           {"[[account]]\nname = \"a\"\nhost = \"h\"\nwebhook = { provider = \"mailgun\", key = \"x\" }\n",
            "account.webhook.key"},
           {"[http]\ntls_listen = \"127.0.0.1:8443\"\n", "\"http.tls_listen\": needs tls_cert_file"}}) {
    auto bad = ParseConfig(text, "s.toml");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_TRUE(absl::StrContains(bad.status().message(), expect)) << bad.status();
  }
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
