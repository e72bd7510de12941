#include "engine/feedback/unsubscribe_mail.h"

#include "gtest/gtest.h"

namespace salvo {
namespace {

constexpr char kBox[] = "unsubscribe@example.com";
const std::string kTag(48, 'a');

TEST(UnsubscribeMail, TagFromTheAddressAndTheSubject) {
  auto m = ParseUnsubscribeMail("To: \"List\" <Unsubscribe+" + kTag + "@Example.com>\r\n"
                                "Subject: Re: unsubscribe " + std::string(48, 'b') +
                                "\r\nMessage-ID: <x@y>\r\n\r\nbye\r\n", kBox);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->tags, (std::vector<std::string>{kTag, std::string(48, 'b')}));
  EXPECT_EQ(m->message_id, "<x@y>");
}

TEST(UnsubscribeMail, DeliveredToOrSubjectAloneAndNoTag) {
  auto d = ParseUnsubscribeMail("Delivered-To: unsubscribe+" + kTag + "@example.com\n"
                                "To: someone@else.org\n\n", kBox);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->tags, std::vector<std::string>{kTag});
  auto s = ParseUnsubscribeMail("To: unsubscribe@example.com\nSubject: unsubscribe " + kTag + "\n\n",
                                kBox);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->tags, std::vector<std::string>{kTag});
  auto none = ParseUnsubscribeMail("To: unsubscribe@example.com\nSubject: stop it\n\n", kBox);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->tags.empty());
}

TEST(UnsubscribeMail, OtherMailboxesAndReportsAreNotUnsubscribes) {
  EXPECT_FALSE(ParseUnsubscribeMail("To: unsubscribe@example.org\n\n", kBox).has_value());
  EXPECT_FALSE(ParseUnsubscribeMail("To: unsubscribe-me@example.com\n\n", kBox).has_value());
  EXPECT_FALSE(ParseUnsubscribeMail("To: news@example.com\nSubject: unsubscribe " + kTag + "\n\n",
                                    kBox)
                   .has_value());
  EXPECT_FALSE(ParseUnsubscribeMail(
                   "To: unsubscribe@example.com\nContent-Type: multipart/report; "
                   "report-type=delivery-status; boundary=b\n\n--b\n\nx\n--b--\n",
                   kBox)
                   .has_value());
  EXPECT_FALSE(ParseUnsubscribeMail("", kBox).has_value());
}

TEST(UnsubscribeMail, OnlyTagShapedWordsAndAFewOfThem) {
  std::string to = "To: ";
  for (char c = 'a'; c < 'k'; ++c)
    to += "unsubscribe+" + std::string(48, c) + "@example.com, ";
  auto m = ParseUnsubscribeMail(to + "\nSubject: unsubscribe " + std::string(40, '!') +
                                    " " + std::string(100, 'a') + "\n\n",
                                kBox);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->tags.size(), 4u);
  for (const std::string& t : m->tags) EXPECT_EQ(t.size(), 48u);
}

}  // namespace
}  // namespace salvo
