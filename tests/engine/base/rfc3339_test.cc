// engine/base/rfc3339.cc: the one RFC 3339 parser (imports: date-time; segments: date too).
#include "engine/base/rfc3339.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

TEST(Rfc3339, DateTimeValues) {
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01 00:00:00.5z"), 500000);
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01t00:00:00.123456789Z"), 123456);
  EXPECT_EQ(*ParseRfc3339Micros("2000-03-01T00:00:00Z"), 951868800LL * 1000000);
  EXPECT_EQ(*ParseRfc3339Micros("1969-12-31T23:59:59-00:00"), -1000000);
  EXPECT_TRUE(ParseRfc3339Micros("2024-02-29T23:59:60.123456+05:30"));  // leap day, leap second
}

TEST(Rfc3339, CalendarAndSyntaxAreStrict) {
  for (const char* bad :
       {"2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z",
        "2024-05-01T10:00:61Z", "2024-05-01T10:00:00", "2024-05-01T10:00:00+0200",
        "2024-05-01T10:00:00+24:00", "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00.1234567890Z",
        "2024-05-01T10:00:00Zjunk", "2024-5-01T10:00:00Z", "yesterday", "", "2024-05-01"}) {
    EXPECT_FALSE(ParseRfc3339Micros(bad)) << bad;
  }
}

TEST(Rfc3339, BareDateOnlyWhenAsked) {
  EXPECT_FALSE(ParseRfc3339Micros("1970-01-02"));
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-02", Rfc3339Form::kDateOrDateTime), 86400LL * 1000000);
  EXPECT_FALSE(ParseRfc3339Micros("2023-02-29", Rfc3339Form::kDateOrDateTime));
  EXPECT_EQ(*ParseRfc3339Micros("1970-01-01T00:00:00Z", Rfc3339Form::kDateOrDateTime), 0);
}

}  // namespace
}  // namespace salvo
