// Integration: the shard runtime (in-process, Worker API) against a scripted faulty server
// (tests/integration/smtp_fault_server.py): 421 at greeting, 5xx to MAIL and to some RCPTs,
// disconnect mid-DATA, a server that stops answering (the timeout names the state), garbage
// instead of a reply, a 10 MB reply line. Each gives the right outcome, nothing hangs, no fd
// leaks. Also: source-IP binding (127.0.0.2-5) is what the server sees.
#include <future>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/config/config.h"
#include "engine/smtp/raw_message.h"
#include "gtest/gtest.h"
#include "shard/sender.h"
#include "tests/integration/one_worker.h"
#include "tests/integration/smtp_servers.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

const char* kModes[] = {"ok", "greet421", "mail5xx", "dropdata", "silent", "garbage", "hugeline"};

class SmtpFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    record_ = dir_->File("record.jsonl");
    std::vector<std::string> argv{"/usr/bin/python3", ScriptPath("smtp_fault_server.py"),
                                  "--record", record_};
    for (const char* mode : kModes) {
      int port = FreePort();
      ports_[mode] = port;
      argv.push_back(absl::StrCat(port, ":", mode));
    }
    server_ = StartScript(argv, "127.0.0.1", ports_["hugeline"], dir_->File("server.log"));
    std::string toml =
        "[smtp.timeouts]\nconnect = \"2s\"\ngreeting = \"2s\"\nehlo = \"1s\"\nmail = \"2s\"\n"
        "rcpt = \"2s\"\ndata_init = \"2s\"\ndata_block = \"2s\"\ndata_done = \"2s\"\n"
        "quit = \"1s\"\nidle = \"1s\"\n";
    for (const char* mode : kModes) {
      absl::StrAppend(&toml, "[[account]]\nname = \"", mode, "\"\nhost = \"127.0.0.1\"\nport = ",
                      ports_[mode], "\ntls = \"none\"\nmax_connections = 2\n",
                      "source_ips = [\"127.0.0.2\", \"127.0.0.3\", \"127.0.0.4\", \"127.0.0.5\"]\n");
    }
    config_ = ParseTestConfig(*dir_, toml);
  }
  static void TearDownTestSuite() {
    server_.reset();  // stopped before its directory goes
    config_.reset();
    dir_.reset();
  }

  // Sends one message per recipient through `account` (from `source_ip`) and returns the
  // reports in recipient order.
  std::vector<SendReport> SendAll(const std::string& account, const std::vector<std::string>& rcpts,
                                  const std::vector<std::string>& source_ips = {""}) {
    const AccountConfig* acct = config_->FindAccount(account);
    EXPECT_NE(acct, nullptr);
    std::string body = "Subject: t\r\n\r\nline one\r\n.\r\nline three\r\n";
    for (int i = 0; i < 300; ++i) body += "padding padding padding padding padding padding\r\n";
    int fds_before = CountOpenFds();
    std::vector<SendRequest> requests(rcpts.size());
    for (size_t i = 0; i < rcpts.size(); ++i) {
      requests[i].id = i;
      requests[i].message = std::make_shared<RenderedMessage>(
          MessageFromBytes(body, "sender@example.com", rcpts[i]));
      requests[i].account = acct;
      requests[i].source_ip = source_ips[i % source_ips.size()];
    }
    SCOPED_TRACE(account);
    bool all_reported = false;
    std::vector<SendReport> reports =
        SendOnOneWorker(*config_, std::move(requests), std::chrono::seconds(20), {}, &all_reported);
    if (!all_reported) return reports;  // aborted: the fds are not all closed yet
    EXPECT_EQ(CountOpenFds(), fds_before) << account << ": file descriptors leaked";
    return reports;
  }

  static std::string Describe(const SendReport& r) {
    return absl::StrCat("result=", static_cast<int>(r.outcome.result), " reply=",
                        r.outcome.reply.ToString(), " failure=", r.outcome.failure);
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::string record_;
  static inline std::map<std::string, int> ports_;
  static inline std::unique_ptr<Subprocess> server_;
  static inline std::unique_ptr<Config> config_;
};

TEST_F(SmtpFaultTest, RcptRefusalsAreRejectedOthersDelivered) {
  auto r = SendAll("ok", {"a@x.test", "bad1@x.test", "b@x.test", "bad2@x.test", "c@x.test"});
  for (size_t i : {0u, 2u, 4u})
    EXPECT_EQ(r[i].outcome.result, RcptResult::kDelivered) << i << " " << Describe(r[i]);
  for (size_t i : {1u, 3u}) {
    EXPECT_EQ(r[i].outcome.result, RcptResult::kRejected) << Describe(r[i]);
    EXPECT_EQ(r[i].outcome.reply.code, 550) << Describe(r[i]);
    EXPECT_EQ(r[i].outcome.reply.enhanced, "5.1.1") << Describe(r[i]);
    EXPECT_FALSE(r[i].account_unusable);
  }
}

TEST_F(SmtpFaultTest, Greeting421IsDeferred) {
  auto r = SendAll("greet421", {"a@x.test", "b@x.test"});
  for (const SendReport& x : r) {
    EXPECT_EQ(x.outcome.result, RcptResult::kDeferred) << Describe(x);
    EXPECT_TRUE(absl::StrContains(x.outcome.failure, "421")) << Describe(x);
    EXPECT_TRUE(x.outcome.connection_level) << Describe(x);
  }
}

TEST_F(SmtpFaultTest, Mail5xxIsRejected) {
  auto r = SendAll("mail5xx", {"a@x.test"});
  EXPECT_EQ(r[0].outcome.result, RcptResult::kRejected) << Describe(r[0]);
  EXPECT_EQ(r[0].outcome.reply.code, 550) << Describe(r[0]);
}

TEST_F(SmtpFaultTest, DisconnectMidDataIsDeferred) {
  auto r = SendAll("dropdata", {"a@x.test"});
  EXPECT_EQ(r[0].outcome.result, RcptResult::kDeferred) << Describe(r[0]);
  EXPECT_TRUE(absl::StrContains(r[0].outcome.failure, "closed")) << Describe(r[0]);
  EXPECT_TRUE(r[0].outcome.connection_level);
}

TEST_F(SmtpFaultTest, SilentServerTimesOutNamingTheState) {
  auto r = SendAll("silent", {"a@x.test"});
  EXPECT_EQ(r[0].outcome.result, RcptResult::kDeferred) << Describe(r[0]);
  EXPECT_TRUE(absl::StrContains(r[0].outcome.failure, "timeout")) << Describe(r[0]);
  EXPECT_TRUE(absl::StrContains(r[0].outcome.failure, "EHLO")) << Describe(r[0]);
}

TEST_F(SmtpFaultTest, GarbageReplyIsDeferred) {
  auto r = SendAll("garbage", {"a@x.test"});
  EXPECT_EQ(r[0].outcome.result, RcptResult::kDeferred) << Describe(r[0]);
  EXPECT_TRUE(absl::StrContains(r[0].outcome.failure, "protocol error")) << Describe(r[0]);
}

TEST_F(SmtpFaultTest, TenMegabyteReplyLineIsDeferred) {
  auto r = SendAll("hugeline", {"a@x.test"});
  EXPECT_EQ(r[0].outcome.result, RcptResult::kDeferred) << Describe(r[0]);
  EXPECT_TRUE(absl::StrContains(r[0].outcome.failure, "too long")) << Describe(r[0]);
}

TEST_F(SmtpFaultTest, SourceAddressesAreSeenByTheServer) {
  std::vector<std::string> ips = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
  std::vector<std::string> rcpts;
  for (int i = 0; i < 12; ++i) rcpts.push_back(absl::StrCat("src", i, "@x.test"));
  auto r = SendAll("ok", rcpts, ips);
  std::map<std::string, std::set<std::string>> want;  // source ip -> rcpts
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].outcome.result, RcptResult::kDelivered) << Describe(r[i]);
    EXPECT_EQ(r[i].source_ip, ips[i % ips.size()]);
  }
  std::set<std::string> peers;
  int messages = 0;
  for (const std::string& line : RecordLines(record_)) {
    if (!absl::StrContains(line, "\"event\": \"message\"") ||
        !absl::StrContains(line, "src"))
      continue;
    ++messages;
    for (size_t i = 0; i < r.size(); ++i) {
      if (absl::StrContains(line, absl::StrCat("<", rcpts[i], ">"))) {
        EXPECT_TRUE(absl::StrContains(line, absl::StrCat("\"peer\": \"", ips[i % ips.size()], "\"")))
            << line;
      }
    }
    for (const std::string& ip : ips)
      if (absl::StrContains(line, "\"peer\": \"" + ip + "\"")) peers.insert(ip);
  }
  EXPECT_EQ(messages, 12);
  EXPECT_EQ(peers, std::set<std::string>(ips.begin(), ips.end()));
}

TEST_F(SmtpFaultTest, BadSourceAddressIsDeferredWithReason) {
  auto r = SendAll("ok", {"a@x.test"}, {"192.0.2.77"});  // not a local address
  EXPECT_EQ(r[0].outcome.result, RcptResult::kDeferred) << Describe(r[0]);
  EXPECT_TRUE(absl::StrContains(r[0].outcome.failure, "192.0.2.77")) << Describe(r[0]);
}

}  // namespace
}  // namespace salvo::test
