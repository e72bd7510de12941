// The webhook event table (engine/feedback/webhook_event_rules.h): well-formed (every rule can
// match, every provider has a catch-all last), and a few lookups. The fixtures of all seven
// providers are classified through it in webhook_parser_test.
#include "engine/feedback/webhook_event_rules.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/feedback/webhook_parser.h"

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
  // "provider event [field=value] -> class", by the providers' and classes' names.
  for (const std::string c : {"sendgrid bounce -> hard_bounce",
                              "sendgrid bounce type=blocked -> soft_bounce",
                              "sendgrid dropped reason=Invalid -> hard_bounce",
                              "sendgrid dropped reason=Other -> ignore",
                              "mailgun failed severity=temporary -> soft_bounce",
                              "postmark Bounce TypeCode=4096 -> soft_bounce",
                              "postmark Bounce TypeCode=100001 -> complaint",
                              "sparkpost out_of_band bounce_class=90 -> hard_bounce",
                              "mailjet blocked error=preblocked -> hard_bounce",
                              "ses Complaint complaintFeedbackType=not-spam -> ignore",
                              "brevo opened -> ignore"}) {
    std::vector<std::string> w = absl::StrSplit(c, ' ');
    ASSERT_GE(w.size(), 4u) << c;
    WebhookProvider provider;
    FeedbackClass want;
    ASSERT_TRUE(ParseWebhookProvider(w[0], &provider)) << c;
    ASSERT_TRUE(ParseFeedbackClass(w.back(), &want)) << c;
    std::map<std::string, std::string> fields;
    if (w.size() == 5) fields = {absl::StrSplit(w[2], absl::MaxSplits('=', 1))};
    EXPECT_EQ(ClassifyWebhookEvent(provider, w[1], With(fields)), want) << c;
  }
}

}  // namespace
}  // namespace salvo
