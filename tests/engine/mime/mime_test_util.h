// Shared fixtures for the MIME tests: a salvo.toml with [tracking] and two [[dkim]] keys (RSA-2048
// and Ed25519) in a temp dir, a campaign and an HTML template full of link kinds, and hostile
// recipient fields.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/base/recipient.h"
#include "engine/config/campaign.h"
#include "engine/config/config.h"
#include "engine/dkim/dkim_key.h"
#include "gtest/gtest.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

inline constexpr char kBaseUrl[] = "https://click.example.com";

// 10 tracked links plus every exclusion the issue names.
inline std::string SampleHtml() {
  std::string long_line(5000, 'x');
  for (size_t i = 0; i < long_line.size(); i += 7) long_line[i] = ' ';
  return "<!DOCTYPE html>\n<html><head><title>Nov</title>"
         "<style>a { color: red }</style></head>\n<body>\n"
         "<p>Hi {{first_name|there}}, your picks for {{city}}:</p>\n"
         "<a href=\"https://shop.example.com/a?x=1&amp;y=2\">A</a>\n"
         "<a href='http://shop.example.com/b'>B</a>\n"
         "<a href=https://shop.example.com/c>C</a>\n"
         "<A HREF=\"HTTPS://shop.example.com/d\">D</A>\n"
         "<a href=\"  https://shop.example.com/e  \">E</a>\n"
         "<a class=\"btn\" href=\"https://shop.example.com/f#frag\" title=\"{{first_name}}\">F</a>\n"
         "<map><area href=\"https://shop.example.com/g\" alt=\"G\"></map>\n"
         "<a href=\"https://shop.example.com/h\">H</a> <a href=\"https://shop.example.com/i\">I</a>\n"
         "<a href=\"https://shop.example.com/j?utm=nov\">J</a>\n"
         "<a href=\"https://shop.example.com/a?x=1&amp;y=2\">A again</a>\n"
         "<a href=\"mailto:help@example.com\">mail</a> <a href=\"tel:+4512345678\">call</a>\n"
         "<a href=\"#top\">top</a>\n"
         "<a data-salvo-notrack href=\"https://partner.example.org/terms\">terms</a>\n"
         "<!-- <a href=\"https://comment.example.com/\">not a link</a> -->\n"
         ".starts with a dot\nFrom here on\n"
         "tabs\tand  two   spaces   \n"
         "caf\xC3\xA9 \xE2\x82\xAC 100 \xF0\x9F\x98\x80\n"
         "<p>" + long_line + "</p>\n"
         "<p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>\n"
         "</body></html>\n";
}

inline std::string SampleText() {
  return "Hi {{first_name|there}},\n\nSee https://shop.example.com/a?x=1&y=2 and\n"
         "(https://shop.example.com/text-only).\nTerms: https://partner.example.org/terms\n"
         ".dot line\nFrom the text\ntrailing spaces   \n\tTabbed\n"
         "Unsubscribe: {{unsubscribe_url}}\n";
}

// Names, cities and other values an attacker may put in a list.
inline std::vector<std::string> HostileValues() {
  return {
      "Anna",
      "Bob\r\nBcc: victim@example.net",
      "Eve\nX-Injected: 1",
      "=?utf-8?q?=41dmin?=",
      "=?",
      std::string(2048, 'A'),
      "J\xC3\xB6rg \xE2\x82\xAC" + std::string(700, 'e') + " \xE4\xB8\xAD\xE6\x96\x87",
      "bad\xFF\xFEutf8\xC3",
      "<script>alert(1)</script> & \"quotes\"",
      "  spaced   out  ",
      ".",
      "From me",
      std::string("nul\0byte", 8),
      "tab\there",
      "{{first_name}}",
  };
}

inline Recipient MakeRecipient(size_t i, const std::string& value) {
  Recipient r;
  r.address = "User" + std::to_string(i) + "@Example.org";
  r.key = "user" + std::to_string(i) + "@example.org";
  r.fields = {{"city", value}, {"first_name", value}};
  return r;
}

// Temp dir with salvo.toml, tracking secret and DKIM keys.
struct TestSetup {
  TempDir dir;
  Config config;
  CampaignConfig campaign;
  std::string rsa_txt;
  std::string ed_txt;

  // with_dkim: 0 none, 1 rsa, 2 ed25519, 3 both.
  explicit TestSetup(int with_dkim, bool text_file = true) {
    dir.Write("tracking.key", "0123456789abcdef-test-secret\n");
    std::string toml = absl_free_concat({"data_dir = \"data\"\n[tracking]\nbase_url = \"",
                                         kBaseUrl,
                                         "/\"\nsecret_file = \"tracking.key\"\n"
                                         "unsubscribe_mailto = \"unsubscribe@example.com\"\n"});
    if (with_dkim & 1) {
      auto k = DkimKey::Generate(DkimAlgorithm::kRsaSha256, 2048);
      EXPECT_TRUE(k.ok());
      dir.Write("rsa.pem", *(*k)->PrivatePem());
      rsa_txt = *(*k)->DnsTxtRecord();
      toml += "[[dkim]]\ndomain = \"example.com\"\nselector = \"rsa2026\"\nkey_file = \"rsa.pem\"\n";
    }
    if (with_dkim & 2) {
      auto k = DkimKey::Generate(DkimAlgorithm::kEd25519Sha256);
      EXPECT_TRUE(k.ok());
      dir.Write("ed.pem", *(*k)->PrivatePem());
      ed_txt = *(*k)->DnsTxtRecord();
      toml += "[[dkim]]\ndomain = \"example.com\"\nselector = \"ed2026\"\nkey_file = \"ed.pem\"\n";
    }
    dir.Write("salvo.toml", toml);
    auto c = LoadConfig(dir.File("salvo.toml"));
    EXPECT_TRUE(c.ok()) << c.status();
    if (c.ok()) config = *c;
    dir.Write("nov.html", SampleHtml());
    if (text_file) dir.Write("nov.txt", SampleText());
    std::string ct =
        "id = \"nov-promo\"\nlist = \"dk-leads\"\n"
        "from = \"Acme News, Inc. <news@example.com>\"\nreply_to = \"support@example.com\"\n"
        "subject = \"Hi {{first_name|there}}, your November picks \xE2\x80\x94 caf\xC3\xA9\"\n"
        "html_file = \"nov.html\"\n" +
        std::string(text_file ? "text_file = \"nov.txt\"\n" : "") +
        "headers = { \"X-Campaign\" = \"nov-promo\" }\ntrack_clicks = true\ntrack_opens = true\n";
    dir.Write("nov.toml", ct);
    auto cc = LoadCampaign(dir.File("nov.toml"));
    EXPECT_TRUE(cc.ok()) << cc.status();
    if (cc.ok()) campaign = *cc;
  }

 private:
  static std::string absl_free_concat(std::initializer_list<std::string> parts) {
    std::string s;
    for (const auto& p : parts) s += p;
    return s;
  }
};

}  // namespace salvo::test
