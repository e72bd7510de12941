// The campaign run lock (store/run_control.h): one run of a campaign at a time per data_dir, in
// this process or another; the refusal names when the run started and its pid.
#include "store/run_control.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1796000000);  // 2026-11-30T00:53:20Z

TEST(CampaignRunLock, SecondRunInTheSameProcessIsRefusedUntilReleased) {
  test::TempDir dir;
  auto first = LockCampaignRun(dir.path(), "spring", kStart);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->held());

  auto second = LockCampaignRun(dir.path(), "spring", kStart + absl::Seconds(5));
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status()));
  EXPECT_EQ(std::string(second.status().message()),
            absl::StrCat("campaign spring is already running (since 2026-11-30T00:53:20Z, pid ",
                         getpid(), ")"));

  // Another campaign id is independent.
  auto other = LockCampaignRun(dir.path(), "autumn", kStart);
  EXPECT_TRUE(other.ok()) << other.status();

  first->Release();
  EXPECT_FALSE(first->held());
  auto third = LockCampaignRun(dir.path(), "spring", kStart);
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(CampaignRunLock, MovedLockStaysHeld) {
  test::TempDir dir;
  CampaignRunLock kept;
  {
    auto lock = LockCampaignRun(dir.path(), "c", kStart);
    ASSERT_TRUE(lock.ok());
    kept = std::move(*lock);
  }
  EXPECT_TRUE(kept.held());
  EXPECT_FALSE(LockCampaignRun(dir.path(), "c", kStart).ok());
}

TEST(CampaignRunLock, HeldByAnotherProcessNamesItsPid) {
  test::TempDir dir;
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = LockCampaignRun(dir.path(), "c", kStart);
    char c = lock.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(done[0], &c, 1);  // hold until the parent has looked
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto mine = LockCampaignRun(dir.path(), "c", kStart);
  ASSERT_FALSE(mine.ok());
  EXPECT_TRUE(absl::StrContains(mine.status().message(), absl::StrCat(", pid ", child, ")")))
      << mine.status();
  (void)!write(done[1], "x", 1);
  int status = 0;
  waitpid(child, &status, 0);
  // The holder is gone (the kernel dropped its lock): the campaign can run again.
  EXPECT_TRUE(LockCampaignRun(dir.path(), "c", kStart).ok());
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
}

TEST(CampaignRunLock, RefusesIdsThatCannotNameAFile) {
  test::TempDir dir;
  EXPECT_TRUE(absl::IsInvalidArgument(LockCampaignRun(dir.path(), "../x", kStart).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(LockCampaignRun(dir.path(), "", kStart).status()));
}

}  // namespace
}  // namespace salvo
