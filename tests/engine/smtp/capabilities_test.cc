// Tests for engine/smtp/capabilities: EHLO keyword parsing.
#include "engine/smtp/capabilities.h"

#include "gtest/gtest.h"

namespace salvo {
namespace {

TEST(Capabilities, ParsesCommonKeywords) {
  SmtpReply r{250, "",
              "smtp.sendgrid.net Hello\n8BITMIME\nPIPELINING\nSIZE 31457280\nSTARTTLS\n"
              "AUTH PLAIN LOGIN\nAUTH=PLAIN LOGIN\nENHANCEDSTATUSCODES\nCHUNKING\nSMTPUTF8\n"
              "X-UNKNOWN foo"};
  SmtpCapabilities c = ParseEhloReply(r);
  EXPECT_TRUE(c.esmtp);
  EXPECT_EQ(c.server_name, "smtp.sendgrid.net");
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 31457280u);
  EXPECT_TRUE(c.eightbitmime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.enhanced_status_codes);
  EXPECT_TRUE(c.chunking);
  EXPECT_TRUE(c.auth_plain);
  EXPECT_TRUE(c.auth_login);
  ASSERT_EQ(c.auth_mechanisms.size(), 2u);  // deduplicated
  EXPECT_EQ(c.ToString(),
            "PIPELINING SIZE=31457280 8BITMIME SMTPUTF8 STARTTLS ENHANCEDSTATUSCODES CHUNKING "
            "AUTH=PLAIN,LOGIN");
}

TEST(Capabilities, LowerCaseAndBadSize) {
  SmtpReply r{250, "", "mx\npipelining\nsize 12x\nauth cram-md5 login"};
  SmtpCapabilities c = ParseEhloReply(r);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 0u);
  EXPECT_FALSE(c.auth_plain);
  EXPECT_TRUE(c.auth_login);
  EXPECT_EQ(c.auth_mechanisms, (std::vector<std::string>{"CRAM-MD5", "LOGIN"}));
}

TEST(Capabilities, SmtpSinkEmptyLastLine) {
  SmtpReply r{250, "", "sink\nPIPELINING\n8BITMIME\n"};
  SmtpCapabilities c = ParseEhloReply(r);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.eightbitmime);
  EXPECT_FALSE(c.starttls);
  EXPECT_FALSE(c.chunking);
}

TEST(Capabilities, KeywordsOnFirstLineAreNotCapabilities) {
  SmtpReply r{250, "", "PIPELINING"};  // single-line reply: only the greeting name
  SmtpCapabilities c = ParseEhloReply(r);
  EXPECT_FALSE(c.pipelining);
  EXPECT_EQ(c.server_name, "PIPELINING");
}

}  // namespace
}  // namespace salvo
