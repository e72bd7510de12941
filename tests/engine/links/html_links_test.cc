#include "engine/links/html_links.h"

#include "gtest/gtest.h"

namespace salvo {
namespace {

std::string Span(std::string_view html, const HtmlLinkEdit& e) {
  return std::string(html.substr(e.begin, e.end - e.begin));
}

TEST(HtmlLinks, FindsTrackedLinksWithSourceOffsets) {
  std::string html =
      "<html><body><a href=\"https://a.example/x?a=1&amp;b=2\">A</a>"
      "<a href='http://b.example/'>B</a><a href=https://c.example/>C</a>"
      "<AREA HREF=\"HTTPS://d.example/\">"
      "<a href=\"mailto:x@example.com\">m</a><a href=\"tel:+1\">t</a><a href=\"#top\">#</a>"
      "<a data-salvo-notrack href=\"https://n.example/\">n</a>"
      "<a href=\"{{unsubscribe_url}}\">u</a>"
      "<a href=\"https://p.example/?id={{id}}\">p</a>"
      "<link href=\"https://style.example/s.css\">"
      "<!-- <a href=\"https://comment.example/\"> -->"
      "</body></html>";
  auto a = AnalyzeHtml(html);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->edits.size(), 5u);
  EXPECT_EQ(Span(html, a->edits[0]), "\"https://a.example/x?a=1&amp;b=2\"");
  EXPECT_EQ(a->edits[0].url, "https://a.example/x?a=1&b=2");
  EXPECT_EQ(Span(html, a->edits[1]), "'http://b.example/'");
  EXPECT_EQ(Span(html, a->edits[2]), "https://c.example/");
  EXPECT_EQ(a->edits[3].url, "HTTPS://d.example/");
  EXPECT_EQ(a->edits[4].kind, HtmlLinkEdit::Kind::kUnsubscribe);
  EXPECT_EQ(Span(html, a->edits[4]), "\"{{unsubscribe_url}}\"");
  EXPECT_EQ(html.substr(a->pixel_at, 7), "</body>");
  ASSERT_EQ(a->notrack_urls.size(), 2u);
  EXPECT_EQ(a->notrack_urls[0], "https://n.example/");
}

TEST(HtmlLinks, MalformedHtmlStillWorks) {
  std::string html = "<a href=\"https://x.example/\"><b>unclosed <a href=https://y.example/>y";
  auto a = AnalyzeHtml(html);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->edits.size(), 2u);
  EXPECT_EQ(a->pixel_at, html.size());
}

TEST(HtmlLinks, TextRendering) {
  auto a = AnalyzeHtml(
      "<html><head><title>T</title><style>p{}</style></head><body><h1>Hello</h1>"
      "<p>Hi {{first_name}}, see <a href=\"https://x.example/\">our shop</a>.</p>"
      "<p>line<br>break &amp; more</p><script>var x;</script></body></html>");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->text,
            "Hello\n\nHi {{first_name}}, see our shop (https://x.example/).\n\nline\nbreak & "
            "more\n");
}

TEST(HtmlLinks, TextUrls) {
  std::string t = "See https://a.example/x, (https://b.example/y) and http://c.example/(z). "
                  "Not xhttp://d.example nor mailto:e@example.com; <https://f.example/> "
                  "A (https://g.example/)B";
  auto spans = FindTextUrls(t);
  std::vector<std::string> urls;
  for (auto s : spans) urls.push_back(t.substr(s.begin, s.end - s.begin));
  EXPECT_EQ(urls, (std::vector<std::string>{"https://a.example/x", "https://b.example/y",
                                            "http://c.example/(z)", "https://f.example/",
                                            "https://g.example/"}));
}

}  // namespace
}  // namespace salvo
