#include "engine/policy/segment.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

Recipient R(std::vector<std::pair<std::string, std::string>> fields, std::string opted = "") {
  Recipient r;
  r.address = "Bob@example.com";
  r.key = "bob@example.com";
  std::sort(fields.begin(), fields.end());
  r.fields = std::move(fields);
  r.consent.opted_in_at = std::move(opted);
  return r;
}

bool M(std::string_view expr, const Recipient& r) {
  auto s = Segment::Compile(expr);
  EXPECT_TRUE(s.ok()) << expr << ": " << s.status();
  return s.ok() && s->Matches(r);
}

TEST(Segment, EmptyMatchesAll) {
  EXPECT_TRUE(M("", R({})));
  EXPECT_TRUE(M("   ", R({})));
}

TEST(Segment, EqualityAndInequality) {
  auto r = R({{"country", "DK"}, {"plan", "pro"}});
  EXPECT_TRUE(M(R"(country = "DK")", r));
  EXPECT_FALSE(M(R"(country = "SE")", r));
  EXPECT_TRUE(M(R"(country = "DK" and plan != "free")", r));
  EXPECT_FALSE(M(R"(country = "DK" and plan != "pro")", r));
  EXPECT_TRUE(M(R"(missing != "x")", r));
  EXPECT_FALSE(M(R"(missing = "x")", r));
  EXPECT_TRUE(M("country = 'DK'", r));
  EXPECT_TRUE(M("email = 'Bob@example.com'", r));
}

TEST(Segment, InExistsNotParens) {
  auto r = R({{"country", "SE"}, {"vip", ""}});
  EXPECT_TRUE(M(R"(country in ["DK", "SE"])", r));
  EXPECT_FALSE(M(R"(country in ["DK", "NO"])", r));
  EXPECT_FALSE(M(R"(country in [])", r));
  EXPECT_TRUE(M("vip exists", r));
  EXPECT_FALSE(M("plan exists", r));
  EXPECT_TRUE(M("not plan exists", r));
  EXPECT_TRUE(M(R"(NOT (country = "DK" or plan exists) and vip exists)", r));
  EXPECT_FALSE(M(R"(not (country = "SE"))", r));
  // and binds tighter than or.
  EXPECT_TRUE(M(R"(country = "SE" or country = "DK" and plan exists)", r));
  EXPECT_FALSE(M(R"((country = "SE" or country = "DK") and plan exists)", r));
}

TEST(Segment, NumbersAndDates) {
  auto r = R({{"score", "12.5"}, {"signup", "2026-03-01T10:00:00+01:00"}, {"word", "abc"}},
             "2026-01-15T00:00:00Z");
  EXPECT_TRUE(M("score > 10", r));
  EXPECT_TRUE(M("score < 100", r));
  EXPECT_FALSE(M("score > 12.5", r));
  EXPECT_TRUE(M("score >= 12.5", r));
  EXPECT_TRUE(M("score <= 12.5 and score > -3", r));
  EXPECT_TRUE(M("signup > 2026-03-01T08:59:59Z", r));
  EXPECT_FALSE(M("signup > 2026-03-01T09:00:00Z", r));
  EXPECT_TRUE(M(R"(signup < "2026-03-02")", r));
  EXPECT_TRUE(M("opted_in_at > 2026-01-01 and opted_in_at < 2026-02-01", r));
  // Not comparable: false both ways.
  EXPECT_FALSE(M("word > 1", r));
  EXPECT_FALSE(M("word < 1", r));
  EXPECT_FALSE(M("missing < 1", r));
}

TEST(Segment, Rfc3339Parsing) {
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-02", Rfc3339Form::kDateOrDateTime), 86400LL * 1000000);
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01T00:00:00.5Z"), 500000);
  EXPECT_EQ(*ParseRfc3339Micros("2000-03-01T00:00:00Z"), 951868800LL * 1000000);
  EXPECT_FALSE(ParseRfc3339Micros("2026-13-01", Rfc3339Form::kDateOrDateTime));
  EXPECT_FALSE(ParseRfc3339Micros("2026-01-01T00:00:00"));
  EXPECT_FALSE(ParseRfc3339Micros("yesterday"));
  EXPECT_FALSE(ParseNumber("0x10"));
  EXPECT_FALSE(ParseNumber("nan"));
  EXPECT_EQ(*ParseNumber("-1.5e2"), -150);
}

TEST(Segment, ErrorsNameTheColumn) {
  auto s = Segment::Compile(R"(country = "DK" and plan !=)");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "segment:1:27: expected value");
  s = Segment::Compile(R"(country = "DK" and)");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "segment:1:19: expected field name");
  s = Segment::Compile(R"(country ~ "DK")");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("segment:1:9: expected operator"), std::string::npos);
  s = Segment::Compile(R"((country = "DK")");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "segment:1:16: expected ')'");
  s = Segment::Compile(R"(country = "DK)");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "segment:1:11: unterminated string");
  s = Segment::Compile(R"(country in ["DK" "SE"])");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "segment:1:18: expected ',' or ']'");
  s = Segment::Compile(R"(a = 1 b = 2)");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "segment:1:7: expected 'and', 'or' or end of expression");
  EXPECT_FALSE(Segment::Compile(std::string(20000, 'a')).ok());
  EXPECT_FALSE(Segment::Compile(std::string(500, '(') + "a exists" + std::string(500, ')')).ok());
}

}  // namespace
}  // namespace salvo
