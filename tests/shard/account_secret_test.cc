// shard/account_secret.h: an account's password from its environment variable or file.
#include "shard/account_secret.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "absl/strings/match.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(AccountPassword, FromEnvironmentFileOrNone) {
  AccountConfig a;
  a.name = "sg-bulk";
  auto none = AccountPassword(a);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");

  a.password_env = "SALVO_TEST_ACCOUNT_SECRET";
  unsetenv("SALVO_TEST_ACCOUNT_SECRET");
  auto unset = AccountPassword(a);
  EXPECT_TRUE(absl::IsFailedPrecondition(unset.status()));
  EXPECT_EQ(std::string(unset.status().message()),
            "account \"sg-bulk\": environment variable SALVO_TEST_ACCOUNT_SECRET is not set");
  setenv("SALVO_TEST_ACCOUNT_SECRET", "key-123", 1);
  auto env = AccountPassword(a);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, "key-123");

  test::TempDir dir;
  a.password_env.clear();
  a.password_file = dir.Write("sg.key", "file-key\n");
  auto file = AccountPassword(a);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*file, "file-key");
  a.password_file = dir.File("missing.key");
  auto missing = AccountPassword(a);
  EXPECT_TRUE(absl::IsFailedPrecondition(missing.status()));
  EXPECT_TRUE(absl::StartsWith(missing.status().message(), "account \"sg-bulk\": cannot read"));
}

}  // namespace
}  // namespace salvo
