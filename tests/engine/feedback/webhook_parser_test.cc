// Every webhook fixture in MANIFEST.tsv parses into the expected recipients and classes, in
// document order; malformed and oversized bodies are refused with a reason.
#include "engine/feedback/webhook_parser.h"

#include <gtest/gtest.h>

#include "tests/engine/feedback/manifest.h"

namespace salvo {
namespace {

TEST(WebhookParserTest, EveryManifestFixtureClassifiedAsExpected) {
  WebhookParser parser;
  int checked = 0;
  for (const test::ManifestRow& row : test::ReadManifest()) {
    if (row.provider == "dsn" || row.provider == "arf") continue;
    SCOPED_TRACE(row.path);
    WebhookProvider p;
    ASSERT_TRUE(ParseWebhookProvider(row.provider, &p)) << row.provider;
    std::string body = test::ReadFile(test::FixturesDir() + "/" + row.path);
    absl::StatusOr<WebhookPayload> got = parser.Parse(p, body);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->events.size(), row.recipients.size());
    for (size_t i = 0; i < row.recipients.size(); ++i) {
      const FeedbackEvent& ev = got->events[i];
      EXPECT_EQ(ev.recipient, row.recipients[i] == "-" ? "" : row.recipients[i]) << i;
      EXPECT_EQ(FeedbackClassName(ev.klass), row.classes[i]) << i << " " << ev.reason;
      EXPECT_FALSE(ev.event_id.empty());
      EXPECT_EQ(ev.provider, WebhookProviderName(p));
    }
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

TEST(WebhookParserTest, EventIdsAreStableAndDistinctWithinABatch) {
  WebhookParser parser;
  std::string body =
      test::ReadFile(test::FixturesDir() + "/webhooks/sendgrid/batch_delivery_engagement.json");
  auto a = parser.Parse(WebhookProvider::kSendGrid, body);
  auto b = parser.Parse(WebhookProvider::kSendGrid, body);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a->events.size(); ++i) {
    EXPECT_EQ(a->events[i].event_id, b->events[i].event_id);
    for (size_t j = i + 1; j < a->events.size(); ++j)
      EXPECT_NE(a->events[i].event_id, a->events[j].event_id);
  }
}

TEST(WebhookParserTest, SnsSubscriptionConfirmationKeepsSubscribeUrlForTheOperator) {
  WebhookParser parser;
  std::string body = test::ReadFile(test::FixturesDir() +
                                    "/webhooks/amazon_ses/sns_subscription_confirmation.json");
  auto got = parser.Parse(WebhookProvider::kSes, body);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->sns.has_value());
  EXPECT_EQ(got->sns->type, "SubscriptionConfirmation");
  EXPECT_NE(got->note.find("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"),
            std::string::npos);
}

TEST(WebhookParserTest, SesRawMessageDeliveryIsAccepted) {
  WebhookParser parser;
  auto got = parser.Parse(WebhookProvider::kSes,
                          R"({"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
                              "bouncedRecipients":[{"emailAddress":"x@example.com"}]},
                              "mail":{"messageId":"m1"}})");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->events.size(), 1u);
  EXPECT_EQ(got->events[0].klass, FeedbackClass::kHardBounce);
}

TEST(WebhookParserTest, MalformedBodiesAreRefusedWithAReason) {
  WebhookParser parser(1024);
  auto bad_json = parser.Parse(WebhookProvider::kSendGrid, "[{\"email\": ");
  EXPECT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.status().message().find("malformed JSON"), std::string::npos);
  auto not_array = parser.Parse(WebhookProvider::kSendGrid, "{\"email\":\"a@b.c\"}");
  EXPECT_FALSE(not_array.ok());
  auto no_event = parser.Parse(WebhookProvider::kMailgun, "{\"signature\":{}}");
  EXPECT_FALSE(no_event.ok());
  auto bad_item = parser.Parse(WebhookProvider::kMailjet, "[{\"event\":\"bounce\"}, 3]");
  EXPECT_FALSE(bad_item.ok());
  auto bad_message = parser.Parse(WebhookProvider::kSes,
                                  R"({"Type":"Notification","MessageId":"x","Message":"{not json"})");
  EXPECT_FALSE(bad_message.ok());
  std::string big(2000, ' ');
  big[0] = '[';
  big[1999] = ']';
  auto too_big = parser.Parse(WebhookProvider::kSendGrid, big);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(WebhookParserTest, ProviderNames) {
  WebhookProvider p;
  EXPECT_TRUE(ParseWebhookProvider("amazon_ses", &p));
  EXPECT_EQ(WebhookProviderName(p), "ses");
  EXPECT_FALSE(ParseWebhookProvider("evil", &p));
}

}  // namespace
}  // namespace salvo
