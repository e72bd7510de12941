// The webhook event table (engine/feedback/webhook_event_rules.h): well-formed (every rule can
// match, every provider has a catch-all last), and a few lookups. The fixtures of all seven
// providers are classified through it in webhook_parser_test.
#include "engine/feedback/webhook_event_rules.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace salvo {
namespace {

std::function<std::string(std::string_view)> With(std::map<std::string, std::string> f) {
  return [f](std::string_view k) {
    auto it = f.find(std::string(k));
    return it == f.end() ? std::string() : it->second;
  };
}

TEST(WebhookEventRules, EveryRuleCanMatchAndEachProviderEndsWithACatchAll) {
  auto rules = WebhookEventRules();
  std::set<int> providers;
  for (size_t i = 0; i < rules.size(); ++i) {
    const WebhookEventRule& r = rules[i];
    providers.insert(static_cast<int>(r.provider));
    // No earlier unconditional rule of the same provider and event (or "*") hides this one.
    for (size_t j = 0; j < i; ++j) {
      const WebhookEventRule& e = rules[j];
      const bool hides = e.provider == r.provider && e.field.empty() &&
                         (e.event == "*" || e.event == r.event);
      EXPECT_FALSE(hides) << "rule " << i << " (" << r.event << " " << r.field << "=" << r.value
                          << ") is hidden by rule " << j;
    }
    EXPECT_EQ(r.field.empty(), r.value.empty()) << "rule " << i;
  }
  EXPECT_EQ(providers.size(), static_cast<size_t>(kWebhookProviderCount));
  for (int p : providers) {
    const WebhookEventRule* last = nullptr;
    for (const WebhookEventRule& r : rules)
      if (static_cast<int>(r.provider) == p) last = &r;
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->event, "*") << WebhookProviderName(static_cast<WebhookProvider>(p));
    EXPECT_EQ(last->klass, FeedbackClass::kIgnore);
  }
}

TEST(WebhookEventRules, Lookups) {
  using P = WebhookProvider;
  using C = FeedbackClass;
  EXPECT_EQ(ClassifyWebhookEvent(P::kSendGrid, "bounce", With({})), C::kHardBounce);
  EXPECT_EQ(ClassifyWebhookEvent(P::kSendGrid, "bounce", With({{"type", "blocked"}})),
            C::kSoftBounce);
  EXPECT_EQ(ClassifyWebhookEvent(P::kSendGrid, "dropped", With({{"reason", "Invalid"}})),
            C::kHardBounce);
  EXPECT_EQ(ClassifyWebhookEvent(P::kSendGrid, "dropped", With({{"reason", "Other"}})),
            C::kIgnore);
  EXPECT_EQ(ClassifyWebhookEvent(P::kMailgun, "failed", With({{"severity", "temporary"}})),
            C::kSoftBounce);
  EXPECT_EQ(ClassifyWebhookEvent(P::kPostmark, "Bounce", With({{"TypeCode", "4096"}})),
            C::kSoftBounce);
  EXPECT_EQ(ClassifyWebhookEvent(P::kPostmark, "Bounce", With({{"TypeCode", "100001"}})),
            C::kComplaint);
  EXPECT_EQ(ClassifyWebhookEvent(P::kSparkPost, "out_of_band", With({{"bounce_class", "90"}})),
            C::kHardBounce);
  EXPECT_EQ(ClassifyWebhookEvent(P::kMailjet, "blocked", With({{"error", "preblocked"}})),
            C::kHardBounce);
  EXPECT_EQ(ClassifyWebhookEvent(P::kSes, "Complaint", With({{"complaintFeedbackType",
                                                               "not-spam"}})),
            C::kIgnore);
  EXPECT_EQ(ClassifyWebhookEvent(P::kBrevo, "opened", With({})), C::kIgnore);
}

}  // namespace
}  // namespace salvo
