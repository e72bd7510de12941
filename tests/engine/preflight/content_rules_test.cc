#include "engine/preflight/content_rules.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

bool Hit(const ContentScore& s, const std::string& rule) {
  for (const auto& h : s.hits)
    if (h.rule == rule) return true;
  return false;
}

TEST(ContentRules, SpammySampleScoresHigh) {
  ContentSample s;
  s.subject = "ACT NOW: FREE MONEY FOR YOU!!!";
  s.html = "<html><body><p>Dear friend, this is a limited time offer. Click here:</p>"
           "<a href=\"https://evil.example.net/login\">https://www.paypal.com/account</a>"
           "<a href=\"https://bit.ly/x\">more</a></body></html>";
  s.text = "Dear friend, act now.";
  s.message_bytes = 5000;
  auto r = ScoreContent(s);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->score, 10.0) << r->Summary();
  EXPECT_TRUE(Hit(*r, "SUBJECT_ALL_CAPS"));
  EXPECT_TRUE(Hit(*r, "EXCLAMATION_RUN"));
  EXPECT_TRUE(Hit(*r, "LINK_TEXT_OTHER_DOMAIN"));
  EXPECT_TRUE(Hit(*r, "URL_SHORTENER"));
  EXPECT_TRUE(Hit(*r, "SPAM_PHRASE"));
  EXPECT_NE(r->Summary().find("paypal.com"), std::string::npos);
}

TEST(ContentRules, PlainNewsletterScoresLow) {
  ContentSample s;
  s.subject = "Our December newsletter";
  s.html = "<html><body><h1>News from the shop</h1><p>This month we opened a second store in "
           "Aarhus and added winter opening hours. Read <a href=\"https://shop.example.com/news\">"
           "shop.example.com/news</a> for the details.</p><p>Example Ltd, 1 Main St, Copenhagen</p>"
           "</body></html>";
  s.text = "News from the shop";
  s.message_bytes = 4000;
  s.physical_address = "Example Ltd, 1 Main St, Copenhagen";
  auto r = ScoreContent(s);
  ASSERT_TRUE(r.ok());
  EXPECT_LT(r->score, 5.0) << r->Summary();
  EXPECT_TRUE(r->hits.empty()) << r->Summary();
}

TEST(ContentRules, StructuralRules) {
  ContentSample s;
  s.subject = "Hello";
  s.html = "<html><body><img src=\"https://x.example/a.png\"></body></html>";
  s.has_text_part = false;
  s.message_bytes = 200 * 1024;
  s.physical_address = "1 Main St";
  auto r = ScoreContent(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Hit(*r, "IMAGE_ONLY_HTML"));
  EXPECT_TRUE(Hit(*r, "NO_TEXT_PART"));
  EXPECT_TRUE(Hit(*r, "MESSAGE_OVER_102KB"));
  EXPECT_TRUE(Hit(*r, "NO_PHYSICAL_ADDRESS"));
}

}  // namespace
}  // namespace salvo
