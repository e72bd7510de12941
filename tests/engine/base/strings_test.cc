// engine/base/strings.h: case folding and trimming with named character sets.
#include "engine/base/strings.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

TEST(Strings, AsciiLowerFoldsOnlyAscii) {
  EXPECT_EQ(AsciiLower("Bob@Gmail.COM"), "bob@gmail.com");
  EXPECT_EQ(AsciiLower("\xC3\x84" "BC"), "\xC3\x84" "bc");  // UTF-8 bytes untouched
  EXPECT_EQ(AsciiLower(""), "");
}

TEST(Strings, TrimUsesTheNamedSet) {
  EXPECT_EQ(Trim(" \t a b \t", kBlanks), "a b");
  EXPECT_EQ(Trim("\r\n a \r\n", kBlanks), "\r\n a \r\n");
  EXPECT_EQ(Trim("\v\f a \r\n", kAsciiSpace), "a");
  EXPECT_EQ(Trim("   ", kBlanks), "");
  EXPECT_EQ(TrimLeft("  a  ", kBlanks), "a  ");
  EXPECT_EQ(TrimRight("  a \r", " \r"), "  a");
  static_assert(Trim(" x ", " ") == "x");
}

}  // namespace
}  // namespace salvo
