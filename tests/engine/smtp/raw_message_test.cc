// Tests for engine/smtp/raw_message: arbitrary bytes -> CRLF message for send-one.
#include "engine/smtp/raw_message.h"

#include "gtest/gtest.h"

namespace salvo {
namespace {

TEST(RawMessage, NormalizesLineEnds) {
  EXPECT_EQ(NormalizeCrlf(""), "");
  EXPECT_EQ(NormalizeCrlf("a"), "a\r\n");
  EXPECT_EQ(NormalizeCrlf("a\nb\rc\r\nd\n\r"), "a\r\nb\r\nc\r\nd\r\n\r\n");
  EXPECT_EQ(NormalizeCrlf("\r\r\n\n"), "\r\n\r\n\r\n");
}

TEST(RawMessage, MessageFromBytesOwnsAndDetects) {
  RenderedMessage m = MessageFromBytes("Subject: h\xc3\xa9\n\nbody\n", "from@example.com",
                                       "t\xc3\xa9st@example.com");
  RenderedMessage moved = std::move(m);  // views stay valid after a move
  EXPECT_EQ(moved.Flatten(), "Subject: h\xc3\xa9\r\n\r\nbody\r\n");
  EXPECT_EQ(moved.size, moved.Flatten().size());
  EXPECT_TRUE(moved.body_8bit);
  EXPECT_TRUE(moved.smtputf8);
  RenderedMessage a = MessageFromBytes("x\r\n", "a@b", "c@d");
  EXPECT_FALSE(a.body_8bit);
  EXPECT_FALSE(a.smtputf8);
}

}  // namespace
}  // namespace salvo
