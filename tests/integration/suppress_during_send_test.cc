// `salvo suppress add` while a `salvo send` runs in another process (holding the data_dir): the
// entries are queued through data_dir/run/ (store/run_control.h), the running send applies them
// within ~1 s, and no queued address that was still unsent gets mail at salvo-sink.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <thread>

#include "store/run_control.h"
#include "tests/integration/campaign_fixture.h"

namespace salvo::test {
namespace {

TEST(SuppressDuringSend, QueuedEntriesAreHonouredByTheRunningSend) {
  TempDir dir;
  Sink sink(dir, "sink");
  // Rate-limit the account so the send lasts several seconds (~1000 messages at 150/s).
  const AccountSpec acct{
      .name = "acct", .port = sink.port(), .max_connections = 2, .rate_per_second = 150};
  std::string cfg = WriteOneAccountConfig(dir, acct);
  const int n = 1000;
  Population pop = Populate(dir.File("data"), "l", n, "u");
  const std::string c = CampaignFile(dir, "sup", "l");
  const std::string data_dir = dir.File("data");

  Subprocess send({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", c, "--json"}, {},
                  dir.File("send.log"));
  for (int i = 0; i < 250 && RunningSends(data_dir).empty() && send.Running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(send.Running()) << "send finished before it could be suppressed into\n"
                              << send.Log();

  // Every eligible address, upper case (add normalizes): the ones not sent yet must get nothing.
  std::vector<std::string> argv = {SalvoBin(), "suppress", "add", "-c", cfg, "--reason",
                                   "unsubscribe"};
  for (const auto& a : pop.eligible) {
    std::string up = a;
    for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    argv.push_back(up);
  }
  RunResult add = RunProcess(argv, "", std::chrono::seconds(30));
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_NE(add.out.find(absl::StrCat("queued ", pop.eligible.size(),
                                      " suppressions for the running send(s)")),
            std::string::npos)
      << add.out;

  ASSERT_EQ(send.Wait(std::chrono::seconds(60)), 0) << send.Log();
  const std::string log = send.Log();
  auto got = sink.StopAndRead();
  auto progress = ReadProgress(data_dir, "sup");

  int newly_suppressed = 0, delivered = 0;
  std::string late;  // an address suppressed by the queued entries (never sent)
  for (const auto& a : pop.eligible) {
    auto it = progress.find(a);
    ASSERT_NE(it, progress.end()) << a;
    if (it->second.outcome == Outcome::kSuppressed) {
      ++newly_suppressed;
      EXPECT_EQ(got.count(a), 0u) << a << " was suppressed but got mail";
      if (late.empty()) late = a;
    } else {
      EXPECT_EQ(it->second.outcome, Outcome::kDelivered) << a;
      EXPECT_EQ(got.count(a), 1u) << a;
      ++delivered;
    }
  }
  std::printf("delivered %d before the queued entries applied, %d suppressed by them\n", delivered,
              newly_suppressed);
  EXPECT_EQ(static_cast<int64_t>(got.size()), delivered);
  EXPECT_EQ(JsonInt(log, "delivered"), delivered) << log;
  // Added near the start of a ~6 s send and applied within ~1 s: many were still unsent.
  EXPECT_GE(newly_suppressed, static_cast<int>(pop.eligible.size()) / 10) << log;
  ASSERT_FALSE(late.empty());

  // After the send the entry is in the store.
  RunResult check = RunProcess({SalvoBin(), "suppress", "check", "-c", cfg, late});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("unsubscribe"), std::string::npos) << check.out;
}

}  // namespace
}  // namespace salvo::test
