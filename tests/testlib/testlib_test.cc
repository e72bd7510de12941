// The test library's own helpers that the integration tests' reliability rests on: FreePort's
// ports and WaitForLogLine.
#include "tests/testlib/testlib.h"

#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "gtest/gtest.h"

namespace salvo::test {
namespace {

// A listening socket on 127.0.0.1:port (or -1).
int Listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in a = Ipv4Address("127.0.0.1", port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Below the ephemeral range whenever the range leaves room for the slices (as on Debian's
// default, 32768-60999); on any machine never a port that is in use.
TEST(FreePortTest, BelowTheEphemeralRangeDistinctAndNeverOneInUse) {
  const bool slices = EphemeralPortLow() >= 10000 + 16 * 64;
  const int held = FreePort();
  if (slices) {
    EXPECT_LT(held, EphemeralPortLow());
    EXPECT_GE(held, 10000);
  }
  const int fd = Listen(held);
  ASSERT_GE(fd, 0) << held;
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {  // more than one walk of the slice: wraps past `held`
    const int p = FreePort();
    EXPECT_NE(p, held);
    seen.insert(p);
  }
  EXPECT_GT(seen.size(), 30u);
  close(fd);
}

TEST(WaitForLogLineTest, ReturnsTheRestOfTheLineAfterTheOffset) {
  TempDir dir;
  const std::string log = dir.Write("log", "old: ready 1\n");
  const size_t from = ReadFile(log).size();
  Subprocess p({"/bin/sh", "-c", "echo noise; sleep 0.2; echo 'new: ready 42'; sleep 10"}, {},
               log);
  auto rest = WaitForLogLine(p, from, "ready ", std::chrono::seconds(10));
  ASSERT_TRUE(rest.has_value()) << p.Log();
  EXPECT_EQ(*rest, "42");
  p.Stop(SIGKILL);
}

TEST(WaitForLogLineTest, GivesUpWhenTheProcessExitsWithoutTheLine) {
  TempDir dir;
  Subprocess p({"/bin/sh", "-c", "echo 'bind: in use'; exit 1"}, {}, dir.File("log"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(WaitForLogLine(p, 0, "listening on ", std::chrono::seconds(20)).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_NE(p.Log().find("in use"), std::string::npos);
}

}  // namespace
}  // namespace salvo::test
