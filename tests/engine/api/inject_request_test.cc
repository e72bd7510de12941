#include "engine/api/inject_request.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace salvo {
namespace {

TEST(InjectRequestTest, ParsesStructuredContent) {
  auto r = ParseInjectRequest(R"({
    "envelope_sender": "bounces@shop.example",
    "content": {"from": "Shop <o@shop.example>", "reply_to": "help@shop.example",
                "subject": "Order {{order}}", "text_body": "t", "html_body": "<p>h</p>",
                "headers": {"X-Order": "42", "X-Num": 7}},
    "recipients": [{"email": "a@x.example", "substitutions": {"z": "1", "a": 2, "b": true}},
                   {"email": "b@x.example"}],
    "route": "transactional", "track": true})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->raw);
  EXPECT_EQ(r->envelope_sender, "bounces@shop.example");
  EXPECT_EQ(r->from, "Shop <o@shop.example>");
  EXPECT_EQ(r->reply_to, "help@shop.example");
  EXPECT_EQ(r->subject, "Order {{order}}");
  EXPECT_EQ(r->text_body, "t");
  EXPECT_EQ(r->html_body, "<p>h</p>");
  ASSERT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->headers[1].second, "7");
  ASSERT_EQ(r->recipients.size(), 2u);
  const auto& s = r->recipients[0].substitutions;
  ASSERT_EQ(s.size(), 3u);  // sorted by name
  EXPECT_EQ(s[0], (std::pair<std::string, std::string>("a", "2")));
  EXPECT_EQ(s[1], (std::pair<std::string, std::string>("b", "true")));
  EXPECT_EQ(s[2], (std::pair<std::string, std::string>("z", "1")));
  EXPECT_EQ(r->route, "transactional");
  EXPECT_TRUE(r->track);
}

TEST(InjectRequestTest, ParsesRawContent) {
  auto r = ParseInjectRequest(
      R"({"content": "Subject: hi\n\nbody", "recipients": [{"email": "a@x.example"}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->raw);
  EXPECT_EQ(r->raw_content, "Subject: hi\n\nbody");
  EXPECT_TRUE(r->envelope_sender.empty());
  EXPECT_FALSE(r->track);
}

void ExpectError(const std::string& body, const std::string& part) {
  auto r = ParseInjectRequest(body);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_TRUE(absl::StrContains(r.status().message(), part)) << r.status() << " for " << body;
}

TEST(InjectRequestTest, ErrorsNameTheField) {
  const std::string rc = R"("recipients": [{"email": "a@x.example"}])";
  ExpectError("{", "body: malformed JSON");
  ExpectError("[]", "body: must be a JSON object");
  ExpectError("{" + rc + "}", "content: is required");
  ExpectError(R"({"content": "x"})", "recipients: is required");
  ExpectError(R"({"content": 5, )" + rc + "}", "content: must be a string (RFC 5322) or an object");
  ExpectError(R"({"content": "", )" + rc + "}", "content: must not be empty");
  ExpectError(R"({"content": {"subject": "s", "text_body": "t"}, )" + rc + "}",
              "content.from: is required");
  ExpectError(R"({"content": {"from": "a@b.c", "subject": "s"}, )" + rc + "}",
              "content: needs text_body or html_body");
  ExpectError(R"({"content": {"from": "a@b.c", "subject": "s", "text_body": "t", "x": 1}, )" + rc +
                  "}",
              "content.x: unknown key");
  ExpectError(R"({"content": "x", "recipients": []})", "recipients: must not be empty");
  ExpectError(R"({"content": "x", "recipients": [{}]})", "recipients[0].email: is required");
  ExpectError(R"({"content": "x", "recipients": [{"email": "a@b.c"}, {"email": 3}]})",
              "recipients[1].email: must be a string");
  ExpectError(R"({"content": "x", "recipients": [{"email": "a@b.c", "substitutions": {"n": {}}}]})",
              "recipients[0].substitutions.n: must be a string, number or boolean");
  ExpectError(R"({"content": "x", "track": "yes", )" + rc + "}", "track: must be true or false");
  ExpectError(R"({"content": "x", "colour": 1, )" + rc + "}", "colour: unknown key");
  ExpectError(R"({"content": "x", "route": 1, )" + rc + "}", "route: must be a string");
}

TEST(InjectRequestTest, Bounds) {
  std::string many = R"({"content": "x", "recipients": [)";
  for (size_t i = 0; i <= kInjectMaxRecipients; ++i)
    absl::StrAppend(&many, i ? "," : "", "{\"email\":\"a", i, "@x.example\"}");
  many += "]}";
  ExpectError(many, "recipients: more than 10000 entries");
  std::string subst = R"({"content": "x", "recipients": [{"email": "a@b.c", "substitutions": {)";
  for (size_t i = 0; i <= kInjectMaxSubstitutions; ++i)
    absl::StrAppend(&subst, i ? "," : "", "\"k", i, "\":\"v\"");
  subst += "}}]}";
  ExpectError(subst, "recipients[0].substitutions: more than 100 entries");
  ExpectError(absl::StrCat(R"({"content": {"from": "a@b.c", "text_body": "t", "subject": ")",
                           std::string(1000, 's'), R"("}, "recipients": [{"email": "a@b.c"}]})"),
              "content.subject: longer than 998 bytes");
}

}  // namespace
}  // namespace salvo
