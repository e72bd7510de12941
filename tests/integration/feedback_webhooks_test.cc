// Webhooks through a running `salvo serve`: every webhook fixture of MANIFEST.tsv is POSTed to
// /webhooks/{provider}; after a clean SIGTERM the store holds exactly the expected suppression
// entries (reason and source), a redelivery changes nothing, and malformed / unauthenticated /
// oversized posts are refused with a 4xx while the service keeps running (providers whose
// fixtures are unsigned have allow_unsigned here; Mailgun's are signed afresh). Signatures:
// Mailgun (HMAC), SendGrid (ECDSA SDK vector, the daemon's clock set to its time) and SNS (a
// certificate made here with openssl) — valid accepted, tampered rejected with 401.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/feedback/feedback_event.h"
#include "store/store.h"
#include "store/suppression_store.h"
#include "tests/engine/feedback/manifest.h"
#include "tests/engine/feedback/fixture_keys.h"
#include "tests/integration/feedback_http.h"
#include "tests/integration/webhook_signing.h"

namespace salvo {
namespace {

using test::HttpDo;
using test::ServeProcess;

using test::kMailgunKey;
using test::kSendGridKey;

std::string Fixture(const std::string& rel) { return test::ReadFile(test::FixturesDir() + "/" + rel); }

std::string ProviderPath(const std::string& manifest_provider) {
  return manifest_provider == "amazon_ses" ? "ses" : manifest_provider;
}

std::vector<std::pair<std::string, std::string>> Json() {
  return {{"Content-Type", "application/json"}};
}

std::optional<SuppressionEntry> Suppressed(Store* store, const std::string& address) {
  auto n = NormalizeAddress(address);
  if (!n.ok()) return std::nullopt;
  auto e = SuppressionStore(store).Check(n->key);
  if (!e.ok()) return std::nullopt;
  return *e;
}

constexpr char kBaseConfig[] = R"(data_dir = "DATA"
[http]
listen = "127.0.0.1:PORT"
threads = 2
max_body_bytes = 65536
[webhooks.mailgun]
signing_key_env = "MAILGUN_SIGNING_KEY"
)";

// The fixtures of these providers are unsigned: their sections accept that here (closed by
// default is webhook_security_test's).
constexpr char kUnsignedAllowed[] = R"([webhooks.sendgrid]
allow_unsigned = true
[webhooks.ses]
allow_unsigned = true
[webhooks.postmark]
allow_unsigned = true
[webhooks.sparkpost]
allow_unsigned = true
[webhooks.mailjet]
allow_unsigned = true
[webhooks.brevo]
allow_unsigned = true
)";

// A fixture as its provider would deliver it now: Mailgun's signed afresh (timestamp and a new
// token: a redelivery carries a new one too).
std::string Delivery(const test::ManifestRow& row) {
  static int tokens = 0;
  std::string body = Fixture(row.path);
  if (row.provider != "mailgun") return body;
  return test::ResignMailgun(body, NowUnixSeconds(), absl::StrCat("delivery-", ++tokens));
}

TEST(FeedbackWebhooksTest, EveryFixtureClassifiedThroughHttpAndAppliedOnce) {
  test::TempDir dir;
  ServeProcess serve(dir, absl::StrCat(kBaseConfig, kUnsignedAllowed),
                     {{"MAILGUN_SIGNING_KEY", kMailgunKey}});
  ASSERT_TRUE(serve.ready()) << serve.Log();
  EXPECT_NE(serve.Log().find("warning: [webhooks.brevo] allow_unsigned = true"), std::string::npos)
      << "start-up warning: " << serve.Log();

  auto rows = test::ReadManifest();
  int posted = 0;
  int64_t applied_total = 0;  // events applied by the first posts
  for (const auto& row : rows) {
    if (row.provider == "dsn" || row.provider == "arf") continue;
    SCOPED_TRACE(row.path);
    auto r = HttpDo(serve.port(), "POST", "/webhooks/" + ProviderPath(row.provider),
                    Delivery(row), Json());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(absl::StrCat("\"events\":", row.recipients.size())), std::string::npos)
        << r.body;
    const size_t ap = r.body.find("\"applied\":");
    ASSERT_NE(ap, std::string::npos) << r.body;
    applied_total += std::atoll(r.body.c_str() + ap + 10);
    // Delivered twice: the second time changes nothing.
    auto again = HttpDo(serve.port(), "POST", "/webhooks/" + ProviderPath(row.provider),
                        Delivery(row), Json());
    ASSERT_EQ(again.status, 200);
    EXPECT_NE(again.body.find("\"applied\":0"), std::string::npos) << again.body;
    ++posted;
  }
  EXPECT_EQ(posted, 43);
  // salvo_webhook_events_total counts exactly the applied events (not the repeated posts).
  const std::string text = HttpDo(serve.port(), "GET", "/metrics").body;
  int64_t counted = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "salvo_webhook_events_total{")) continue;
    counted += std::atoll(std::string(line.substr(line.rfind(' ') + 1)).c_str());
  }
  EXPECT_GT(applied_total, 0);
  EXPECT_EQ(counted, applied_total) << text.substr(0, 4000);
  EXPECT_EQ(HttpDo(serve.port(), "GET", "/healthz").status, 200);
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();

  auto store = Store::Open({dir.File("data"), false});
  ASSERT_TRUE(store.ok()) << store.status().message();
  // Per address the strongest expectation across fixtures (an address appears in one fixture).
  for (const auto& row : rows) {
    if (row.provider == "dsn" || row.provider == "arf") continue;
    for (size_t i = 0; i < row.recipients.size(); ++i) {
      if (row.recipients[i] == "-") continue;
      SCOPED_TRACE(row.path + " " + row.recipients[i]);
      FeedbackClass c;
      ASSERT_TRUE(ParseFeedbackClass(row.classes[i], &c));
      auto e = Suppressed(store->get(), row.recipients[i]);
      if (Suppresses(c)) {
        ASSERT_TRUE(e.has_value());
        EXPECT_EQ(SuppressionReasonName(e->reason), row.classes[i]);
        EXPECT_EQ(e->source, ProviderPath(row.provider));
        EXPECT_FALSE(e->detail.empty());
      } else {
        EXPECT_FALSE(e.has_value()) << "class " << row.classes[i] << " must not suppress";
      }
    }
  }
}

TEST(FeedbackWebhooksTest, BadRequestsAreRefusedCountedAndNothingApplied) {
  test::TempDir dir;
  ServeProcess serve(dir, absl::StrCat(kBaseConfig, kUnsignedAllowed),
                     {{"MAILGUN_SIGNING_KEY", kMailgunKey}});
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const int port = serve.port();
  std::string good = Fixture("webhooks/sendgrid/bounce_hard_invalid_address.json");
  // Malformed JSON (the good body cut short).
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/sendgrid", good.substr(0, good.size() / 2), Json()).status, 400);
  // Wrong content type.
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/sendgrid", good, {{"Content-Type", "text/html"}}).status, 415);
  // Oversized (max_body_bytes = 65536).
  std::string big = "[" + std::string(70000, ' ') + "]";
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/sendgrid", big, Json()).status, 413);
  // Unknown provider, wrong method.
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/evilcorp", good, Json()).status, 404);
  EXPECT_EQ(HttpDo(port, "GET", "/webhooks/sendgrid").status, 405);
  // One bad event in a batch: nothing of the batch is applied.
  std::string mixed = R"([{"email":"half@example.com","event":"bounce","sg_event_id":"h1"}, 42])";
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/sendgrid", mixed, Json()).status, 400);
  // Still serving.
  EXPECT_EQ(HttpDo(port, "GET", "/healthz").status, 200);
  auto metrics = HttpDo(port, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("salvo_webhook_rejected_total{provider=\"sendgrid\",reason=\"parse\"} 2"),
            std::string::npos) << metrics.body.substr(0, 4000);
  ASSERT_EQ(serve.Stop(), 0);
  auto store = Store::Open({dir.File("data"), false});
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE(Suppressed(store->get(), "frank.mueller@example.com").has_value());
  EXPECT_FALSE(Suppressed(store->get(), "half@example.com").has_value());
}

TEST(FeedbackWebhooksTest, SignaturesValidAcceptedTamperedRejected) {
  test::TempDir dir;
  ASSERT_TRUE(test::MakeRsaCert(dir, "sns"));
  dir.Write("hook.pass", "s3cret\n");
  std::string config = absl::StrCat(kBaseConfig, R"([webhooks.sendgrid]
public_key = ")", kSendGridKey, R"("
[webhooks.ses]
cert_file = "sns.pem"
topic_arns = ["arn:aws:sns:us-east-1:123456789012:ses-feedback"]
[webhooks.postmark]
basic_auth_user = "hooks"
basic_auth_password_file = "hook.pass"
)");
  // The SendGrid SDK vector was signed in 2020: the daemon's clock reads that time + 1 minute.
  const int64_t now = test::kSendGridVectorTime + 60;
  ServeProcess serve(dir, config,
                     {{"MAILGUN_SIGNING_KEY", kMailgunKey}, {"SALVO_FAKE_NOW", "2020-09-14T19:42:42Z"}});
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const int port = serve.port();

  // SendGrid: the SDK vector.
  std::string body = Fixture("webhooks/sendgrid/signed_dropped_bounced_address.json");
  std::vector<std::pair<std::string, std::string>> h = {
      {"Content-Type", "application/json"},
      {"X-Twilio-Email-Event-Webhook-Signature",
       "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="},
      {"X-Twilio-Email-Event-Webhook-Timestamp", "1600112502"}};
  std::string tampered = body;
  tampered[tampered.find("Bounced")] = 'b';
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/sendgrid", tampered, h).status, 401);
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/sendgrid", body, Json()).status, 401) << "unsigned";
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/sendgrid", body, h).status, 200);

  // Mailgun: signed with the fixture key; one changed token character fails.
  std::string mg = test::ResignMailgun(Fixture("webhooks/mailgun/complained.json"), now,
                                       "5b8e5baaabfc0729c8f9e10560db712f2cb2c6a219492a83ff");
  std::string mg_bad = mg;
  size_t tok = mg_bad.find("5b8e5baaabfc");
  ASSERT_NE(tok, std::string::npos);
  mg_bad[tok] = '6';
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/mailgun", mg_bad, Json()).status, 401);
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/mailgun", mg, Json()).status, 200);

  // SNS: the fixtures' placeholder signatures fail; signed with our certificate passes.
  std::string ses_fixture = "webhooks/amazon_ses/sns_bounce_permanent_with_dsn.json";
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/ses", Fixture(ses_fixture), Json()).status, 401);
  std::string ses_bad = test::SignSnsFixture(dir, ses_fixture, true);
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/ses", ses_bad, {{"Content-Type", "text/plain; charset=UTF-8"}}).status, 401);
  std::string ses_ok = test::SignSnsFixture(dir, ses_fixture, false);
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/ses", ses_ok, {{"Content-Type", "text/plain; charset=UTF-8"}}).status, 200);
  std::string sub_ok = test::SignSnsFixture(dir, "webhooks/amazon_ses/sns_subscription_confirmation.json", false);
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/ses", sub_ok, Json()).status, 200);

  // Postmark: basic auth.
  std::string pm = Fixture("webhooks/postmark/spamcomplaint.json");
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/postmark", pm, Json()).status, 401);
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/postmark", pm,
                   {{"Content-Type", "application/json"}, {"Authorization", "Basic aG9va3M6d3Jvbmc="}}).status,
            401);
  EXPECT_EQ(HttpDo(port, "POST", "/webhooks/postmark", pm,
                   {{"Content-Type", "application/json"}, {"Authorization", "Basic aG9va3M6czNjcmV0"}}).status,
            200);  // hooks:s3cret

  ASSERT_EQ(serve.Stop(), 0);
  std::string log = serve.Log();
  EXPECT_NE(log.find("ConfirmSubscription"), std::string::npos) << "SubscribeURL logged: " << log;
  auto store = Store::Open({dir.File("data"), false});
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(Suppressed(store->get(), "hello@world.com").has_value());
  EXPECT_TRUE(Suppressed(store->get(), "beth.nolan@example.com").has_value());
  EXPECT_TRUE(Suppressed(store->get(), "jack.turner@example.com").has_value());
  EXPECT_TRUE(Suppressed(store->get(), "cora.fleming@example.org").has_value());
}

}  // namespace
}  // namespace salvo
