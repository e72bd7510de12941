// Replies about the sending account pause the account, not the recipients: aiosmtpd answering
// Gmail's "550 5.4.5 Daily user sending limit exceeded" after 100 messages pauses it (reason
// account_quota, until the next UTC day), the rest goes through the route's other account,
// nobody is failed or suppressed, and a later send the same day does not use it. Then every row
// of the provider reply table (engine/policy/provider_replies.tsv), driven from the table.
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/policy/provider_replies.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/smtp_servers.h"

namespace salvo::test {
namespace {

// The quota server (tests/integration/quota_server.py) on a free port.
struct QuotaServer {
  QuotaServer(const TempDir& dir, int after, const std::string& reply)
      : port(FreePort()), reply_file(dir.File("quota-reply.txt")),
        record(dir.File("quota-accepted.txt")) {
    dir.Write("quota-reply.txt", reply);
    dir.Write("quota-accepted.txt", "");
    proc = StartScript({"/usr/bin/python3", ScriptPath("quota_server.py"), "--port",
                        std::to_string(port), "--after", std::to_string(after), "--reply-file",
                        reply_file, "--record", record},
                       "127.0.0.1", port, dir.File("quota-server.log"));
  }
  std::vector<std::string> Accepted() const { return RecordLines(record); }
  int port;
  std::string reply_file, record;
  std::unique_ptr<Subprocess> proc;
};

// Two accounts on one route: "quota" (the quota server) and "spare" (salvo-sink).
std::string TwoAccountConfig(const TempDir& dir, int quota_port, int spare_port) {
  return dir.Write("salvo.toml",
                   ConfigText(dir, {{"quota", quota_port, {}, 2}, {"spare", spare_port, {}, 2}},
                              "[[route]]\nname = \"r\"\ndefault = true\n"
                              "accounts = [ { name = \"quota\", weight = 1 }, "
                              "{ name = \"spare\", weight = 1 } ]\n"));
}

// "quota"'s entry of `salvo account list --json`.
std::string QuotaEntry(const std::string& cfg) {
  RunResult r = Salvo({"account", "list", "-c", cfg, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const size_t p = r.out.find("{\"name\":\"quota\"");
  return p == std::string::npos ? r.out : r.out.substr(p, r.out.find('}', p) - p + 1);
}

TEST(AccountPause, DailyQuotaReplyPausesTheAccountUntilTheNextUtcDay) {
  TempDir dir;
  QuotaServer quota(dir, 100,
                    "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail "
                    "sending limits go to https://support.google.com/a/answer/166852 - gsmtp");
  Sink spare(dir, "spare");
  const std::string cfg = TwoAccountConfig(dir, quota.port, spare.port());
  Population pop = Populate(dir.File("data"), "l", 600, "q");

  RunResult first = Salvo({"send", "--skip-preflight", "-c", cfg, "--campaign", CampaignFile(dir, "c1", "l"), "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(JsonInt(first.out, "delivered"), static_cast<int64_t>(pop.eligible.size()));
  EXPECT_EQ(JsonInt(first.out, "failed"), 0);
  EXPECT_EQ(JsonInt(first.out, "bounced"), 0);
  EXPECT_EQ(quota.Accepted().size(), 100u);  // then the quota reply, and nothing more

  // Paused for account_quota until the next UTC midnight, with the reply that did it.
  const std::string entry = QuotaEntry(cfg);
  EXPECT_TRUE(absl::StrContains(entry, "\"state\":\"paused\"")) << entry;
  EXPECT_TRUE(absl::StrContains(entry, "\"reason\":\"account_quota\"")) << entry;
  const absl::Time midnight =
      absl::FromUnixSeconds((absl::ToUnixSeconds(absl::Now()) / 86400 + 1) * 86400);
  EXPECT_TRUE(absl::StrContains(
      entry, absl::StrCat("\"until\":\"",
                          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", midnight, absl::UTCTimeZone()),
                          "\"")))
      << entry;
  EXPECT_TRUE(absl::StrContains(entry, "550 5.4.5 Daily user sending limit exceeded")) << entry;

  // A new send the same day leaves the paused account alone.
  RunResult second = Salvo({"send", "--skip-preflight", "-c", cfg, "--campaign", CampaignFile(dir, "c2", "l"), "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(JsonInt(second.out, "delivered"), static_cast<int64_t>(pop.eligible.size()));
  EXPECT_EQ(quota.Accepted().size(), 100u);

  // Every eligible recipient: once per campaign over both accounts; nobody else; no suppression
  // beyond what was there before.
  auto got = spare.StopAndRead();
  std::map<std::string, int> total;
  for (const auto& [addr, v] : got) total[addr] += v.first;
  for (const std::string& a : quota.Accepted()) total[a] += 1;
  for (const std::string& a : pop.eligible) EXPECT_EQ(total[a], 2) << a;
  EXPECT_EQ(total.size(), pop.eligible.size());
  RunResult sup = Salvo({"suppress", "list", "-c", cfg});
  EXPECT_EQ(std::count(sup.out.begin(), sup.out.end(), '@'),
            static_cast<long>(pop.suppressed.size()))
      << sup.out;
}

TEST(AccountPause, EveryProviderTableRowPausesTheAccountWithItsClass) {
  TempDir dir;
  QuotaServer quota(dir, 0, "");
  Sink spare(dir, "spare");
  const std::string cfg = TwoAccountConfig(dir, quota.port, spare.port());
  Population pop = Populate(dir.File("data"), "l", 30, "t");
  int row = 0;
  for (const ProviderReplyRule& rule : ProviderReplyTable::Default().rules()) {
    ++row;
    const std::string reply = absl::StrCat(rule.code ? rule.code : 554, " ", rule.enhanced,
                                           rule.enhanced.empty() ? "" : " ", "Refused: ",
                                           rule.pattern, " (partner text)");
    dir.Write("quota-reply.txt", reply);
    const std::string id = absl::StrCat("row", row);
    RunResult r = Salvo({"send", "--skip-preflight", "-c", cfg, "--campaign", CampaignFile(dir, id, "l"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << "line " << rule.line << ": " << reply << "\n" << r.out << r.err;
    EXPECT_EQ(JsonInt(r.out, "delivered"), static_cast<int64_t>(pop.eligible.size()))
        << "line " << rule.line << ": " << r.out;
    EXPECT_EQ(JsonInt(r.out, "failed"), 0) << "line " << rule.line;
    EXPECT_EQ(JsonInt(r.out, "bounced"), 0) << "line " << rule.line;
    const std::string entry = QuotaEntry(cfg);
    EXPECT_TRUE(absl::StrContains(entry, "\"state\":\"paused\"")) << "line " << rule.line << entry;
    EXPECT_TRUE(absl::StrContains(
        entry, absl::StrCat("\"reason\":\"", std::string(AccountReplyClassName(rule.klass)), "\"")))
        << "line " << rule.line << ": " << entry;
    EXPECT_EQ(absl::StrContains(entry, "\"until\":null"), rule.until == PauseUntil::kManual)
        << "line " << rule.line << ": " << entry;
    RunResult resume = Salvo({"account", "resume", "-c", cfg, "quota"});
    ASSERT_EQ(resume.exit_code, 0) << resume.out << resume.err;
    EXPECT_TRUE(absl::StrContains(QuotaEntry(cfg), "\"state\":\"active\""));
  }
  EXPECT_TRUE(quota.Accepted().empty());
  // By hand, and an unknown name.
  RunResult p = Salvo({"account", "pause", "-c", cfg, "spare"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  RunResult list = Salvo({"account", "list", "-c", cfg});
  EXPECT_TRUE(absl::StrContains(list.out, "paused: manual until resumed")) << list.out;
  RunResult unknown = Salvo({"account", "resume", "-c", cfg, "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(unknown.err, "unknown account \"nope\"")) << unknown.err;
}

}  // namespace
}  // namespace salvo::test
