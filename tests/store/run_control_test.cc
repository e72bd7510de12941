// store/run_control.h. The campaign run lock: one run of a campaign at a time per data_dir, in
// this process or another; the refusal names when the run started and its pid. The status file:
// written atomically, read back, removed; RunningSends lists only campaigns whose writer is
// alive. Control requests: pause (with its reason) and cancel are taken once, only by their
// campaign; queued suppressions round-trip field by field and are taken by any run; damaged or
// half-written files are skipped.
#include "store/run_control.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/base/file.h"
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

// --- status file ---

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(StatusFile, WrittenReadReplacedAndRemoved) {
  test::TempDir dir;
  EXPECT_TRUE(absl::IsNotFound(ReadStatusFile(dir.path(), "spring").status()));
  ASSERT_TRUE(WriteStatusFile(dir.path(), "spring", "{\"sent\":1}\n").ok());
  EXPECT_EQ(StatusFilePath(dir.path(), "spring"), dir.path() + "/run/spring.status.json");
  auto read = ReadStatusFile(dir.path(), "spring");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "{\"sent\":1}\n");
  ASSERT_TRUE(WriteStatusFile(dir.path(), "spring", "{\"sent\":2}\n").ok());
  read = ReadStatusFile(dir.path(), "spring");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "{\"sent\":2}\n");
  // The atomic write leaves no temporary file behind.
  EXPECT_EQ(FilesIn(RunDir(dir.path())), std::vector<std::string>{"spring.status.json"});
  RemoveStatusFile(dir.path(), "spring");
  EXPECT_TRUE(absl::IsNotFound(ReadStatusFile(dir.path(), "spring").status()));
}

TEST(StatusFile, IdsThatCannotNameAFileAreRefused) {
  test::TempDir dir;
  EXPECT_TRUE(absl::IsInvalidArgument(WriteStatusFile(dir.path(), "../x", "{}")));
  EXPECT_TRUE(absl::IsInvalidArgument(WriteStatusFile(dir.path(), "a/b", "{}")));
  EXPECT_TRUE(absl::IsInvalidArgument(ReadStatusFile(dir.path(), "..").status()));
  // RemoveStatusFile never reaches outside run/.
  const std::string outside = dir.Write("x.status.json", "{}");
  RemoveStatusFile(dir.path(), "../x");
  EXPECT_TRUE(std::filesystem::exists(outside));
}

TEST(StatusFile, RunningSendsListsOnlyLiveWriters) {
  test::TempDir dir;
  // A pid that cannot exist: pids are below /proc/sys/kernel/pid_max.
  std::string pid_max_text = test::ReadFile("/proc/sys/kernel/pid_max");
  const int dead_pid = std::atoi(pid_max_text.c_str());
  ASSERT_GT(dead_pid, 1);
  ASSERT_TRUE(WriteStatusFile(dir.path(), "live", absl::StrCat("{\"campaign\":\"live\",\"pid\":",
                                                               getpid(), ",\"sent\":3}")).ok());
  ASSERT_TRUE(
      WriteStatusFile(dir.path(), "spaced", absl::StrCat("{\"pid\": ", getpid(), "}")).ok());
  ASSERT_TRUE(
      WriteStatusFile(dir.path(), "dead", absl::StrCat("{\"pid\":", dead_pid, "}")).ok());
  ASSERT_TRUE(WriteStatusFile(dir.path(), "nopid", "{\"sent\":3}").ok());
  ASSERT_TRUE(WriteStatusFile(dir.path(), "zero", "{\"pid\":0}").ok());
  dir.Write("run/notes.json", absl::StrCat("{\"pid\":", getpid(), "}"));  // not a status file
  std::vector<std::string> running = RunningSends(dir.path());
  std::sort(running.begin(), running.end());
  EXPECT_EQ(running, (std::vector<std::string>{"live", "spaced"}));
  // No run directory at all: nothing runs.
  test::TempDir empty;
  EXPECT_TRUE(RunningSends(empty.path()).empty());
}

// --- control requests ---

TEST(ControlRequests, NothingPendingWithoutAControlDirectory) {
  test::TempDir dir;
  auto req = TakeControlRequests(dir.path(), "spring");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_FALSE(req->pause);
  EXPECT_FALSE(req->cancel);
  EXPECT_TRUE(req->suppressions.empty());
}

TEST(ControlRequests, PauseAndCancelAreTakenOnceByTheirCampaignOnly) {
  test::TempDir dir;
  ASSERT_TRUE(RequestCampaignControl(dir.path(), "spring", "pause", "ops: provider incident").ok());
  ASSERT_TRUE(RequestCampaignControl(dir.path(), "autumn", "cancel").ok());

  auto req = TakeControlRequests(dir.path(), "spring");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_TRUE(req->pause);
  EXPECT_EQ(req->pause_reason, "ops: provider incident");
  EXPECT_FALSE(req->cancel);  // autumn's request is not spring's

  req = TakeControlRequests(dir.path(), "spring");  // taken: gone
  ASSERT_TRUE(req.ok());
  EXPECT_FALSE(req->pause);

  req = TakeControlRequests(dir.path(), "autumn");
  ASSERT_TRUE(req.ok());
  EXPECT_TRUE(req->cancel);
  EXPECT_FALSE(req->pause);
  EXPECT_TRUE(FilesIn(RunDir(dir.path()) + "/control").empty());
}

TEST(ControlRequests, PauseReasonIsSanitizedAndBounded) {
  test::TempDir dir;
  ASSERT_TRUE(RequestCampaignControl(dir.path(), "c", "pause", "line1\nline2\x1b[31m").ok());
  auto req = TakeControlRequests(dir.path(), "c");
  ASSERT_TRUE(req.ok());
  EXPECT_TRUE(req->pause);
  EXPECT_EQ(req->pause_reason.find_first_of("\n\x1b"), std::string::npos) << req->pause_reason;
  EXPECT_TRUE(absl::StartsWith(req->pause_reason, "line1?line2?")) << req->pause_reason;

  ASSERT_TRUE(RequestCampaignControl(dir.path(), "c", "pause", std::string(5000, 'r')).ok());
  req = TakeControlRequests(dir.path(), "c");
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->pause_reason, std::string(512, 'r') + "...");  // cut, and says so
}

TEST(ControlRequests, UnknownActionsAndBadIdsAreRefused) {
  test::TempDir dir;
  EXPECT_TRUE(absl::IsInvalidArgument(RequestCampaignControl(dir.path(), "c", "resume")));
  EXPECT_TRUE(absl::IsInvalidArgument(RequestCampaignControl(dir.path(), "../c", "pause")));
  EXPECT_TRUE(absl::IsInvalidArgument(RequestCampaignControl(dir.path(), "", "cancel")));
  EXPECT_TRUE(FilesIn(RunDir(dir.path()) + "/control").empty());
}

TEST(ControlRequests, QueuedSuppressionsRoundTripAndAreTakenByAnyRun) {
  test::TempDir dir;
  SuppressionEntry a;
  a.key = "ann@example.com";
  a.reason = SuppressionReason::kComplaint;
  a.source = "cli";
  a.detail = "reported by phone";
  SuppressionEntry b;
  b.key = "@spam.example";
  b.reason = SuppressionReason::kManual;
  b.source = "cli";
  b.detail = "tab\there\nand a newline";  // must not split the record
  SuppressionEntry c;
  c.key = "bob@example.net";
  c.reason = SuppressionReason::kUnsubscribe;
  ASSERT_TRUE(QueueSuppressions(dir.path(), {a, b}).ok());
  ASSERT_TRUE(QueueSuppressions(dir.path(), {c}).ok());

  auto req = TakeControlRequests(dir.path(), "whichever-campaign");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_FALSE(req->pause);
  ASSERT_EQ(req->suppressions.size(), 3u);
  std::vector<SuppressionEntry> got = req->suppressions;
  std::sort(got.begin(), got.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
  EXPECT_EQ(got[0].key, "@spam.example");
  EXPECT_EQ(got[0].reason, SuppressionReason::kManual);
  EXPECT_EQ(got[0].source, "cli");
  EXPECT_EQ(got[0].detail.find_first_of("\t\n"), std::string::npos) << got[0].detail;
  EXPECT_TRUE(absl::StartsWith(got[0].detail, "tab")) << got[0].detail;
  EXPECT_TRUE(absl::EndsWith(got[0].detail, "and a newline")) << got[0].detail;
  EXPECT_EQ(got[1].key, "ann@example.com");
  EXPECT_EQ(got[1].reason, SuppressionReason::kComplaint);
  EXPECT_EQ(got[1].detail, "reported by phone");
  EXPECT_EQ(got[2].key, "bob@example.net");
  EXPECT_EQ(got[2].reason, SuppressionReason::kUnsubscribe);
  EXPECT_EQ(got[2].source, "");
  // Taken: a second run finds nothing.
  req = TakeControlRequests(dir.path(), "another-campaign");
  ASSERT_TRUE(req.ok());
  EXPECT_TRUE(req->suppressions.empty());
}

TEST(ControlRequests, DamagedAndHalfWrittenFilesAreSkipped) {
  test::TempDir dir;
  const std::string control = RunDir(dir.path()) + "/control";
  // A queue file written by hand: a line without fields, an unknown reason (taken as manual).
  dir.Write("run/control/suppress-1-1-0.tsv",
            "no-tab-here\n\nkim@example.com\tweird_reason\tsrc\n");
  // A file still being written (WriteAtomic's temporary name): neither read nor removed.
  dir.Write("run/control/suppress-2-1-0.tsv.tmp.1.0", "lee@example.com\tmanual\tcli\tx\n");
  dir.Write("run/control/c.pause.tmp.1.1", "");
  dir.Write("run/control/unrelated.txt", "keep me");
  auto req = TakeControlRequests(dir.path(), "c");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_FALSE(req->pause);
  ASSERT_EQ(req->suppressions.size(), 1u);
  EXPECT_EQ(req->suppressions[0].key, "kim@example.com");
  EXPECT_EQ(req->suppressions[0].reason, SuppressionReason::kManual);
  EXPECT_EQ(req->suppressions[0].source, "src");
  EXPECT_EQ(FilesIn(control), (std::vector<std::string>{"c.pause.tmp.1.1",
                                                        "suppress-2-1-0.tsv.tmp.1.0",
                                                        "unrelated.txt"}));
}

}  // namespace
}  // namespace salvo
