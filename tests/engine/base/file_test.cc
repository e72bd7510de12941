// engine/base/file.h: bounded whole-file reads and secret files.
#include "engine/base/file.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(ReadFile, ReadsWholeFilesUpToTheBound) {
  test::TempDir dir;
  const std::string big(200000, 'x');  // several read() calls
  const std::string path = dir.Write("big", big);
  auto all = ReadFile(path, big.size(), "template");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, big);
  auto over = ReadFile(path, big.size() - 1, "template");
  EXPECT_TRUE(absl::IsInvalidArgument(over.status()));
  EXPECT_TRUE(absl::StrContains(over.status().message(), "template " + path + " is larger than"))
      << over.status();
  auto empty = ReadFile(dir.Write("empty", ""), 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST(ReadFile, MissingFileIsNotFoundNamingIt) {
  test::TempDir dir;
  auto r = ReadFile(dir.File("nope.toml"), 100, "config file");
  EXPECT_TRUE(absl::IsNotFound(r.status()));
  EXPECT_TRUE(absl::StrContains(r.status().message(), "cannot read config file " +
                                                          dir.File("nope.toml") + ": "))
      << r.status();
  // A directory opens but does not read.
  EXPECT_FALSE(ReadFile(dir.path(), 100).ok());
}

TEST(ReadSecretFile, StripsTrailingWhiteSpaceAndRefusesEmpty) {
  test::TempDir dir;
  auto s = ReadSecretFile(dir.Write("key", "s3cret \n\n"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "s3cret");
  auto e = ReadSecretFile(dir.Write("blank", " \n"));
  EXPECT_TRUE(absl::IsInvalidArgument(e.status()));
  EXPECT_TRUE(absl::StrContains(e.status().message(), "is empty"));
  EXPECT_TRUE(absl::IsNotFound(ReadSecretFile(dir.File("missing")).status()));
}

}  // namespace
}  // namespace salvo
