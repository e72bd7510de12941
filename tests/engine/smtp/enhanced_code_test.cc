// engine/smtp/enhanced_code.h: RFC 3463 codes at the start of a reply text and in free text.
#include "engine/smtp/enhanced_code.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

TEST(EnhancedCode, LengthAtTheStart) {
  EXPECT_EQ(EnhancedCodeLength("5.1.1 User unknown"), 5u);
  EXPECT_EQ(EnhancedCodeLength("4.7.650 rate limited"), 7u);
  EXPECT_EQ(EnhancedCodeLength("2.0.0"), 5u);
  EXPECT_EQ(EnhancedCodeLength("5.123.456x"), 9u);  // what follows is the caller's rule
  EXPECT_EQ(EnhancedCodeLength("5.1.1234"), 7u);    // three digits per part at most
  for (const char* no : {"", "5.1", "5.1.", "3.1.1", "5..1", "5.1.x", "x5.1.1", "5.1234.1"})
    EXPECT_EQ(EnhancedCodeLength(no), 0u) << no;
}

TEST(EnhancedCode, FirstCodeInFreeText) {
  EXPECT_EQ(FindEnhancedCode("smtp; 550 5.1.1 <a@b.example>: no such user"), "5.1.1");
  EXPECT_EQ(FindEnhancedCode("Status: 4.2.2"), "4.2.2");
  EXPECT_EQ(FindEnhancedCode("(5.7.26)"), "5.7.26");
  EXPECT_EQ(FindEnhancedCode("v1.5.1.1 then 5.2.2"), "5.2.2");  // glued to '.' before: skipped
  EXPECT_EQ(FindEnhancedCode("5.1.1234"), "");                    // glued to a digit after
  EXPECT_EQ(FindEnhancedCode("version 2.0.0."), "");              // glued to '.' after
  EXPECT_EQ(FindEnhancedCode("no code here"), "");
}

}  // namespace
}  // namespace salvo
