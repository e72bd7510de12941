// The salvo binary must run on mimalloc: MIMALLOC_VERBOSE makes mimalloc print its options at
// start-up, which only happens when it is the linked allocator.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

TEST(MimallocTest, SalvoBinaryUsesMimalloc) {
  RunResult r = RunProcess({SalvoBin(), "--help"}, "", std::chrono::seconds(30),
                    {{"MIMALLOC_VERBOSE", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "mimalloc")) << "stderr: " << r.err;
}

}  // namespace
}  // namespace salvo::test
