// Integration: the shard runtime against Postfix smtp-sink (plain SMTP, PIPELINING): thousands
// of messages over reused connections, all delivered, connection counts within the account's
// limits, and no file descriptor leaked.
#include <atomic>
#include <future>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/config/config.h"
#include "engine/smtp/raw_message.h"
#include "gtest/gtest.h"
#include "shard/sender.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using test::FreePort;
using test::Subprocess;
using test::WaitForPort;

std::string Body(size_t approx) {
  std::string m = "From: a@example.com\r\nTo: b@example.com\r\nSubject: load\r\n\r\n";
  while (m.size() < approx) m += "The quick brown fox jumps over the lazy dog 0123456789.\r\n";
  m += ".leading dot line\r\n";
  return m;
}

TEST(SmtpSinkTest, ThousandsOfMessagesOverReusedConnections) {
  constexpr int kMessages = 5000;
  int port = FreePort();
  Subprocess sink({"/usr/sbin/smtp-sink", "-u", "root", absl::StrCat("127.0.0.1:", port), "256"});
  ASSERT_TRUE(WaitForPort("127.0.0.1", port, std::chrono::seconds(10))) << sink.Log();

  auto config = ParseConfig(absl::StrCat(R"(
[smtp.timeouts]
connect = "5s"
greeting = "10s"
idle = "2s"
[[account]]
name = "sink"
host = "127.0.0.1"
port = )", port, R"(
tls = "none"
max_connections = 4
messages_per_connection = 700
)"), "/tmp/salvo-sink-test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const AccountConfig* acct = config->FindAccount("sink");
  ASSERT_NE(acct, nullptr);

  int fds_before = test::CountOpenFds();
  std::string bytes = Body(4000);
  std::vector<std::shared_ptr<const RenderedMessage>> msgs;
  for (int i = 0; i < 8; ++i) {
    msgs.push_back(std::make_shared<RenderedMessage>(
        MessageFromBytes(bytes, "bounces@example.com", absl::StrCat("rcpt", i, "@example.net"))));
  }

  std::atomic<int> delivered{0}, other{0}, reports{0};
  std::promise<void> all_done;
  std::string first_failure;
  std::vector<PoolStats> stats;
  {
    WorkerGroup group;
    SenderOptions opt;
    opt.timeouts = config->smtp_timeouts;
    opt.workers = 2;
    ASSERT_TRUE(group.Start(opt).ok());
    for (size_t w = 0; w < group.size(); ++w) {
      Worker& worker = group.worker(w);
      worker.Post([&, w, &worker = worker] {
        for (int i = static_cast<int>(w); i < kMessages; i += static_cast<int>(group.size())) {
          SendRequest req;
          req.id = static_cast<uint64_t>(i);
          req.message = msgs[static_cast<size_t>(i) % msgs.size()];
          req.account = acct;
          worker.Submit(std::move(req), [&](const SendReport& r) {
            if (r.outcome.result == RcptResult::kDelivered) {
              ++delivered;
            } else if (other++ == 0) {
              first_failure = r.outcome.reply.ToString() + " " + r.outcome.failure;
            }
            if (++reports == kMessages) all_done.set_value();
          });
        }
      });
    }
    auto fut = all_done.get_future();
    ASSERT_EQ(fut.wait_for(std::chrono::seconds(60)), std::future_status::ready)
        << "reports: " << reports.load() << "\n" << sink.Log();
    for (size_t w = 0; w < group.size(); ++w) {
      std::promise<std::vector<PoolStats>> p;
      group.worker(w).Post([&] { p.set_value(group.worker(w).Stats()); });
      for (auto& s : p.get_future().get()) stats.push_back(s);
    }
    group.Stop(StopMode::kDrain);
  }
  EXPECT_EQ(delivered.load(), kMessages) << first_failure;
  EXPECT_EQ(other.load(), 0) << first_failure;
  ASSERT_EQ(stats.size(), 2u);
  uint64_t opened = 0;
  for (const PoolStats& s : stats) {
    EXPECT_EQ(s.account, "sink");
    EXPECT_EQ(s.queued, 0u);
    EXPECT_LE(s.open_connections, 4u);
    opened += s.connections_opened;
    EXPECT_EQ(s.delivered, static_cast<uint64_t>(kMessages / 2));
  }
  // Reuse: 2500 messages per worker at <= 700 per connection needs >= 4 connections each;
  // far fewer than one per message.
  EXPECT_GE(opened, 8u);
  EXPECT_LE(opened, 40u);
  EXPECT_EQ(test::CountOpenFds(), fds_before);
}

}  // namespace
}  // namespace salvo
