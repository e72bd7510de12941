// Webhook verification through a running `salvo serve` (issue 15): closed by default — for each
// of the 7 providers an unsigned post to a section without verification is 401 and changes
// nothing; with verification configured an unsigned or wrongly signed post is 401 and changes
// nothing, a correctly signed one is applied. Mailgun: a replayed token (also after a restart)
// and a post 20 minutes old are refused (the daemon's clock set with SALVO_FAKE_NOW). SNS: a
// message from a topic not in topic_arns is 403, one naming a certificate URL outside
// sns.<region>.amazonaws.com is 401. One URL per account: two accounts with their own
// SendGrid keys, each post verified with its account's key and counted for that account.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "store/store.h"
#include "store/suppression_store.h"
#include "tests/engine/feedback/fixture_keys.h"
#include "tests/integration/feedback_http.h"
#include "tests/integration/webhook_signing.h"

namespace salvo {
namespace {

using test::HttpDo;
using test::ServeProcess;

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string Fixture(const std::string& rel) { return test::ReadFile(test::FixturesDir() + "/" + rel); }

const Headers kJson = {{"Content-Type", "application/json"}};

// salvo_suppression_list_size as the daemon reports it (read from the store at every scrape).
int SuppressionSize(int port) {
  const std::string m = HttpDo(port, "GET", "/metrics").body;
  const size_t at = m.find("\nsalvo_suppression_list_size ");
  return at == std::string::npos ? -1 : std::atoi(m.c_str() + at + 29);
}

// The sum of the samples of `family` whose labels contain `label`.
int64_t MetricSum(int port, const std::string& family, const std::string& label) {
  int64_t sum = 0;
  for (absl::string_view line : absl::StrSplit(HttpDo(port, "GET", "/metrics").body, '\n'))
    if (absl::StartsWith(line, family + "{") && absl::StrContains(line, label))
      sum += std::atoll(std::string(line.substr(line.rfind(' ') + 1)).c_str());
  return sum;
}

bool IsSuppressed(const test::TempDir& dir, const std::string& address) {
  auto store = Store::Open({dir.File("data"), false});
  if (!store.ok()) return false;
  auto n = NormalizeAddress(address);
  auto e = SuppressionStore(store->get()).Check(n->key);
  return e.ok() && e->has_value();
}

constexpr char kHttp[] = "data_dir = \"DATA\"\n[http]\nlisten = \"127.0.0.1:PORT\"\nthreads = 2\n";

// One hard bounce per provider (tests/fixtures/MANIFEST.tsv) and its recipient.
struct ProviderCase {
  std::string provider, fixture, recipient;
};
const std::vector<ProviderCase> kCases = {
    {"sendgrid", "webhooks/sendgrid/signed_dropped_bounced_address.json", "hello@world.com"},
    {"mailgun", "webhooks/mailgun/failed_permanent_bounce_signed.json", "yara.schmidt@example.com"},
    {"ses", "webhooks/amazon_ses/sns_bounce_permanent_with_dsn.json", "jack.turner@example.com"},
    {"postmark", "webhooks/postmark/bounce_hardbounce.json", "abby.quinn@example.com"},
    {"sparkpost", "webhooks/sparkpost/bounce_class10_invalid_recipient.json", "ivy.chen@example.com"},
    {"mailjet", "webhooks/mailjet/bounce_hard_user_unknown.json", "uma.bishop@example.com"},
    {"brevo", "webhooks/brevo/hard_bounce.json", "gina.ward@example.com"},
};

TEST(WebhookSecurityTest, WithoutVerificationEveryProviderRefusesEverything) {
  test::TempDir dir;
  ServeProcess serve(dir, kHttp);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  EXPECT_NE(serve.Log().find("webhooks refused (401) until a signing key or basic auth is "
                             "configured: sendgrid, mailgun, ses, postmark, sparkpost, mailjet, brevo"),
            std::string::npos)
      << serve.Log();
  for (const ProviderCase& c : kCases) {
    SCOPED_TRACE(c.provider);
    auto r = HttpDo(serve.port(), "POST", "/webhooks/" + c.provider, Fixture(c.fixture), kJson);
    EXPECT_EQ(r.status, 401) << r.body;
  }
  EXPECT_EQ(SuppressionSize(serve.port()), 0);
  EXPECT_EQ(MetricSum(serve.port(), "salvo_webhook_rejected_total", "reason=\"auth\""), 7);
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  for (const ProviderCase& c : kCases) EXPECT_FALSE(IsSuppressed(dir, c.recipient)) << c.provider;
}

TEST(WebhookSecurityTest, EachProviderUnsignedAndWronglySignedRefusedSignedApplied) {
  test::TempDir dir;
  ASSERT_TRUE(test::MakeRsaCert(dir, "sns"));
  dir.Write("hook.pass", "s3cret\n");
  std::string config = absl::StrCat(kHttp, R"([webhooks.mailgun]
signing_key_env = "MAILGUN_SIGNING_KEY"
[webhooks.sendgrid]
public_key = ")", test::kSendGridKey, R"("
[webhooks.ses]
cert_file = "sns.pem"
topic_arns = ["arn:aws:sns:us-east-1:123456789012:ses-feedback"]
)");
  for (const char* p : {"postmark", "sparkpost", "mailjet", "brevo"})
    absl::StrAppend(&config, "[webhooks.", p,
                    "]\nbasic_auth_user = \"hooks\"\nbasic_auth_password_file = \"hook.pass\"\n");
  // The SendGrid SDK vector was signed in 2020: the daemon's clock reads that time + 1 minute.
  const int64_t now = test::kSendGridVectorTime + 60;
  ServeProcess serve(dir, config,
                     {{"MAILGUN_SIGNING_KEY", test::kMailgunKey},
                      {"SALVO_FAKE_NOW", FormatUnixTime(now)}});
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const int port = serve.port();

  const Headers sendgrid_signed = {
      {"Content-Type", "application/json"},
      {"X-Twilio-Email-Event-Webhook-Signature",
       "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="},
      {"X-Twilio-Email-Event-Webhook-Timestamp", "1600112502"}};
  const Headers basic_ok = {{"Content-Type", "application/json"},
                            {"Authorization", "Basic aG9va3M6czNjcmV0"}};  // hooks:s3cret
  const Headers basic_wrong = {{"Content-Type", "application/json"},
                               {"Authorization", "Basic aG9va3M6d3Jvbmc="}};  // hooks:wrong
  const Headers sns_type = {{"Content-Type", "text/plain; charset=UTF-8"}};
  int applied = 0;
  for (const ProviderCase& c : kCases) {
    SCOPED_TRACE(c.provider);
    const std::string path = "/webhooks/" + c.provider;
    std::string body = Fixture(c.fixture);
    // (body, headers) refused with 401, then the right one.
    std::vector<std::pair<std::string, Headers>> wrong = {{body, kJson}};  // unsigned as it is
    std::pair<std::string, Headers> right;
    if (c.provider == "sendgrid") {
      std::string tampered = body;
      tampered[tampered.find("Bounced")] = 'b';
      wrong.push_back({tampered, sendgrid_signed});
      right = {body, sendgrid_signed};
    } else if (c.provider == "mailgun") {
      wrong.push_back({test::ResignMailgun(body, now, "mg-token-1", "not-the-key"), kJson});
      right = {test::ResignMailgun(body, now, "mg-token-1"), kJson};
    } else if (c.provider == "ses") {
      wrong.push_back({test::SignSnsFixture(dir, c.fixture, /*tamper=*/true), sns_type});
      right = {test::SignSnsFixture(dir, c.fixture, false), sns_type};
    } else {
      wrong.push_back({body, basic_wrong});
      right = {body, basic_ok};
    }
    for (const auto& [b, h] : wrong) {
      auto r = HttpDo(port, "POST", path, b, h);
      EXPECT_EQ(r.status, 401) << r.body;
      EXPECT_EQ(SuppressionSize(port), applied) << "a refused post changed nothing";
    }
    auto r = HttpDo(port, "POST", path, right.first, right.second);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(SuppressionSize(port), ++applied);
  }
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  for (const ProviderCase& c : kCases) EXPECT_TRUE(IsSuppressed(dir, c.recipient)) << c.provider;
}

TEST(WebhookSecurityTest, MailgunReplayAndStalePostsRefusedAlsoAfterRestart) {
  test::TempDir dir;
  const std::string config =
      absl::StrCat(kHttp, "[webhooks.mailgun]\nsigning_key_env = \"MAILGUN_SIGNING_KEY\"\n");
  const int64_t now = 1796374800;  // 2026-12-04T09:00:00Z
  const std::map<std::string, std::string> env = {{"MAILGUN_SIGNING_KEY", test::kMailgunKey},
                                                  {"SALVO_FAKE_NOW", FormatUnixTime(now)}};
  const std::string fixture = Fixture("webhooks/mailgun/failed_permanent_bounce_signed.json");
  const std::string first = test::ResignMailgun(fixture, now, "token-A");
  {
    ServeProcess serve(dir, config, env);
    ASSERT_TRUE(serve.ready()) << serve.Log();
    EXPECT_EQ(HttpDo(serve.port(), "POST", "/webhooks/mailgun", first, kJson).status, 200);
    auto replay = HttpDo(serve.port(), "POST", "/webhooks/mailgun", first, kJson);
    EXPECT_EQ(replay.status, 401) << replay.body;
    // Another event carried by the captured token and signature (Mailgun does not sign the
    // event data): refused as well.
    auto forged = HttpDo(serve.port(), "POST", "/webhooks/mailgun",
                         test::ResignMailgun(Fixture("webhooks/mailgun/unsubscribed.json"), now,
                                             "token-A"),
                         kJson);
    EXPECT_EQ(forged.status, 401) << forged.body;
    auto old = HttpDo(serve.port(), "POST", "/webhooks/mailgun",
                      test::ResignMailgun(fixture, now - 20 * 60, "token-B"), kJson);
    EXPECT_EQ(old.status, 401) << old.body;
    EXPECT_EQ(MetricSum(serve.port(), "salvo_webhook_rejected_total", "reason=\"replay\""), 2);
    EXPECT_EQ(MetricSum(serve.port(), "salvo_webhook_rejected_total", "reason=\"stale\""), 1);
    ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  }
  ServeProcess again(dir, config, env);
  ASSERT_TRUE(again.ready()) << again.Log();
  EXPECT_EQ(HttpDo(again.port(), "POST", "/webhooks/mailgun", first, kJson).status, 401)
      << "the token claim survives a restart";
  EXPECT_EQ(HttpDo(again.port(), "POST", "/webhooks/mailgun",
                   test::ResignMailgun(fixture, now, "token-C"), kJson)
                .status,
            200);
}

TEST(WebhookSecurityTest, SnsTopicNotListedIsForbidden) {
  test::TempDir dir;
  ASSERT_TRUE(test::MakeRsaCert(dir, "sns"));
  ServeProcess serve(dir, absl::StrCat(kHttp, R"([webhooks.ses]
cert_file = "sns.pem"
topic_arns = ["arn:aws:sns:us-east-1:123456789012:ses-feedback"]
)"));
  ASSERT_TRUE(serve.ready()) << serve.Log();
  // Correctly signed, but from the ses-events topic.
  const std::string fixture = "webhooks/amazon_ses/sns_eventpub_bounce.json";
  const std::string other_topic = test::SignSnsFixture(dir, fixture, false);
  ASSERT_NE(other_topic.find("ses-events"), std::string::npos);
  auto r = HttpDo(serve.port(), "POST", "/webhooks/ses", other_topic, kJson);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(SuppressionSize(serve.port()), 0);
  const std::string listed = test::SignSnsFixture(dir, fixture, false, "sns",
                                                  "arn:aws:sns:us-east-1:123456789012:ses-feedback");
  // The same message claiming a certificate from anywhere but https://sns.<region>.amazonaws.com/.
  std::string elsewhere = listed;
  const size_t url = elsewhere.find("https://sns.us-east-1.amazonaws.com/");
  ASSERT_NE(url, std::string::npos) << elsewhere;
  elsewhere.replace(url, 36, "https://sns.us-east-1.evil.example/");
  EXPECT_EQ(HttpDo(serve.port(), "POST", "/webhooks/ses", elsewhere, kJson).status, 401);
  r = HttpDo(serve.port(), "POST", "/webhooks/ses", listed, kJson);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(SuppressionSize(serve.port()), 1);
}

TEST(WebhookSecurityTest, OneUrlPerAccountVerifiedWithItsOwnKeyAndCountedForIt) {
  test::TempDir dir;
  ASSERT_TRUE(test::MakeEcKey(dir, "bulk"));
  ASSERT_TRUE(test::MakeEcKey(dir, "responder"));
  std::string config = kHttp;
  for (const char* a : {"bulk", "responder"})
    absl::StrAppend(&config, "[[account]]\nname = \"", a,
                    "\"\nhost = \"127.0.0.1\"\nwebhook = { provider = \"sendgrid\", public_key_file = \"",
                    a, ".pub\" }\n");
  ServeProcess serve(dir, config);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const int port = serve.port();
  auto post = [&](const std::string& path, const std::string& body, const std::string& key) {
    const std::string ts = std::to_string(NowUnixSeconds());
    return HttpDo(port, "POST", path, body,
                  {{"Content-Type", "application/json"},
                   {"X-Twilio-Email-Event-Webhook-Timestamp", ts},
                   {"X-Twilio-Email-Event-Webhook-Signature", test::SendGridSign(dir, key, ts, body)}});
  };
  const std::string bounce = Fixture("webhooks/sendgrid/bounce_hard_invalid_address.json");
  const std::string spam = Fixture("webhooks/sendgrid/spamreport.json");
  EXPECT_EQ(post("/webhooks/sendgrid/bulk", bounce, "responder").status, 401) << "other account's key";
  EXPECT_EQ(post("/webhooks/sendgrid/responder", spam, "bulk").status, 401);
  EXPECT_EQ(post("/webhooks/sendgrid", bounce, "bulk").status, 401) << "no [webhooks.sendgrid]";
  EXPECT_EQ(SuppressionSize(port), 0);
  auto ok = post("/webhooks/sendgrid/bulk", bounce, "bulk");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("\"account\":\"bulk\""), std::string::npos) << ok.body;
  EXPECT_EQ(post("/webhooks/sendgrid/responder", spam, "responder").status, 200);
  EXPECT_EQ(SuppressionSize(port), 2);
  EXPECT_EQ(MetricSum(port, "salvo_account_webhook_events_total",
                      "account=\"bulk\",provider=\"sendgrid\",class=\"hard_bounce\""),
            1);
  EXPECT_EQ(MetricSum(port, "salvo_account_webhook_events_total",
                      "account=\"responder\",provider=\"sendgrid\",class=\"complaint\""),
            1);
  EXPECT_EQ(MetricSum(port, "salvo_account_webhook_events_total", "account=\"responder\""), 1);
  EXPECT_EQ(post("/webhooks/mailgun/bulk", bounce, "bulk").status, 404) << "bulk's is sendgrid";
  // The account's status counts them too (kept in the store).
  test::RunResult list = test::Salvo({"account", "list", "-c", serve.config(), "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* a : {"bulk", "responder"}) {
    const size_t at = list.out.find(absl::StrCat("{\"name\":\"", a, "\""));
    ASSERT_NE(at, std::string::npos) << list.out;
    EXPECT_NE(list.out.substr(at, list.out.find('}', at) - at).find("\"webhook_events\":1"),
              std::string::npos)
        << list.out;
  }
}

}  // namespace
}  // namespace salvo
