// Unit tests for shard/pool's AccountProblem (which replies make an ACCOUNT unusable rather
// than a recipient) and shard/resolver's literal parsing and non-blocking resolution.
#include "shard/pool.h"

#include <future>

#include "gtest/gtest.h"
#include "shard/resolver.h"
#include "shard/tls.h"

namespace salvo {
namespace {

SmtpReply R(int code, std::string enhanced, std::string text) {
  return SmtpReply{code, std::move(enhanced), std::move(text)};
}

TEST(AccountProblemTest, AuthAndCreditFailuresAreAccountProblems) {
  EXPECT_NE(AccountProblem(R(535, "5.7.8", "Authentication credentials invalid")), "");
  EXPECT_NE(AccountProblem(R(451, "", "Authentication failed: Maximum credits exceeded")), "");
  EXPECT_NE(AccountProblem(R(550, "5.7.1", "Your account is suspended")), "");
  EXPECT_NE(AccountProblem(R(454, "4.7.0", "Temporary authentication failure")), "");
}

TEST(AccountProblemTest, RecipientProblemsAreNot) {
  EXPECT_EQ(AccountProblem(R(550, "5.1.1", "user unknown")), "");
  EXPECT_EQ(AccountProblem(R(452, "4.2.2", "mailbox full")), "");
  EXPECT_EQ(AccountProblem(R(421, "4.7.28", "rate limited")), "");
  EXPECT_EQ(AccountProblem(R(454, "4.3.0", "try again later")), "");
  EXPECT_EQ(AccountProblem(R(0, "", "")), "");
}

TEST(ResolverTest, LiteralsParse) {
  ResolvedAddress a;
  ASSERT_TRUE(ParseIpLiteral("127.0.0.2", 25, &a));
  EXPECT_EQ(a.family, AF_INET);
  EXPECT_EQ(a.ToString(), "127.0.0.2:25");
  ASSERT_TRUE(ParseIpLiteral("::1", 587, &a));
  EXPECT_EQ(a.ToString(), "[::1]:587");
  EXPECT_FALSE(ParseIpLiteral("localhost", 25, &a));
  EXPECT_FALSE(ParseIpLiteral("127.0.0.1\r\nX", 25, &a));
  EXPECT_TRUE(IsIpLiteral("10.1.2.3"));
  EXPECT_FALSE(IsIpLiteral("mail.example.com"));
}

TEST(ResolverTest, ResolvesOnItsThread) {
  Resolver r;
  std::promise<absl::StatusOr<std::vector<ResolvedAddress>>> p;
  r.Resolve("localhost", 2525, [&](auto result) { p.set_value(std::move(result)); });
  auto result = p.get_future().get();
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_FALSE(result->empty());
  EXPECT_NE((*result)[0].ToString().find("2525"), std::string::npos);
}

}  // namespace
}  // namespace salvo
