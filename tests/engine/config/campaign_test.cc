#include "engine/config/campaign.h"

#include "gtest/gtest.h"

namespace salvo {
namespace {

constexpr char kFull[] = R"(id = "nov-promo"
list = "dk-leads"
segment = 'country = "DK" and plan != "free"'
route = "denmark"
from = "Acme News <news@example.com>"
reply_to = "support@example.com"
subject = "Hi {{first_name|there}}, your November picks"
html_file = "nov.html"
text_file = "/abs/nov.txt"
headers = { "X-Campaign" = "nov-promo" }
track_clicks = true
track_opens = false
)";

TEST(Campaign, ParsesEveryKey) {
  auto c = ParseCampaign(kFull, "/srv/campaigns/nov.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "nov-promo");
  EXPECT_EQ(c->list, "dk-leads");
  EXPECT_EQ(c->segment, "country = \"DK\" and plan != \"free\"");
  EXPECT_EQ(c->route, "denmark");
  EXPECT_EQ(c->from, "Acme News <news@example.com>");
  EXPECT_EQ(c->reply_to, "support@example.com");
  EXPECT_EQ(c->html_file, "/srv/campaigns/nov.html");  // relative to the campaign file
  EXPECT_EQ(c->text_file, "/abs/nov.txt");
  ASSERT_EQ(c->headers.size(), 1u);
  EXPECT_EQ(c->headers[0].first, "X-Campaign");
  EXPECT_TRUE(c->track_clicks);
  EXPECT_FALSE(c->track_opens);
}

TEST(Campaign, UnknownKeyNamesTheLine) {
  std::string t = std::string(kFull) + "trak_opens = true\n";
  auto c = ParseCampaign(t, "nov.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "nov.toml:13: unknown key \"trak_opens\"");
}

TEST(Campaign, WrongTypesAndMissingKeys) {
  auto c = ParseCampaign("id = 5\n", "c.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("c.toml:1: \"id\" must be a string"), std::string::npos);
  c = ParseCampaign("id = \"x\"\nlist = \"l\"\nfrom = \"a@b.c\"\nsubject = \"s\"\n", "c.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("html_file"), std::string::npos);
  c = ParseCampaign("id = \"bad id\"\nlist = \"l\"\nfrom = \"a@b.c\"\nsubject = \"s\"\n"
                    "html_file = \"x\"\n", "c.toml");
  EXPECT_FALSE(c.ok());
  c = ParseCampaign(std::string(kFull) + "[headers2]\n", "c.toml");
  EXPECT_FALSE(c.ok());
  c = ParseCampaign("headers = { \"Bad Name\" = \"x\" }\n", "c.toml");
  EXPECT_FALSE(c.ok());
  c = ParseCampaign("track_opens = \"yes\"\n", "c.toml");
  EXPECT_FALSE(c.ok());
  c = ParseCampaign("id = \"x\nlist", "c.toml");  // TOML syntax error names the line
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("c.toml:1"), std::string::npos);
}

TEST(Campaign, SendWindowAndPerRecipientZone) {
  const std::string base = "id = \"w\"\nlist = \"l\"\nfrom = \"a@example.com\"\n"
                           "subject = \"s\"\nhtml_file = \"x.html\"\n";
  auto c = ParseCampaign(base + "window = { days = \"mon-fri\", from = \"09:00\", to = \"17:00\", "
                                "tz = \"Europe/Copenhagen\" }\nper_recipient_tz = \"timezone\"\n",
                         "/c/w.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->window.has_value());
  EXPECT_EQ(c->window->Describe(), "mon,tue,wed,thu,fri 09:00-17:00 Europe/Copenhagen");
  EXPECT_EQ(c->window->per_recipient_tz, "timezone");
  auto inner = ParseCampaign(base + "window = { from = \"22:00\", to = \"06:00\", "
                                    "per_recipient_tz = \"tz\" }\n", "/c/w.toml");
  ASSERT_TRUE(inner.ok()) << inner.status();
  EXPECT_EQ(inner->window->tz_name, "UTC");
  EXPECT_EQ(inner->window->per_recipient_tz, "tz");
  auto bad = ParseCampaign(base + "window = { from = \"09:00\", to = \"17:00\", tz = \"Nowhere/City\" }\n",
                           "/c/w.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "/c/w.toml:6: window.tz: unknown time zone \"Nowhere/City\" (not in the system's tzdata)");
  auto key = ParseCampaign(base + "window = { from = \"09:00\", to = \"17:00\", day = \"mon\" }\n",
                           "/c/w.toml");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "/c/w.toml:6: unknown key \"window.day\"");
  auto lone = ParseCampaign(base + "per_recipient_tz = \"tz\"\n", "/c/w.toml");
  ASSERT_FALSE(lone.ok());
  EXPECT_EQ(lone.status().message(), "/c/w.toml: \"per_recipient_tz\" needs a \"window\"");
}

}  // namespace
}  // namespace salvo
