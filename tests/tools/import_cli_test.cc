// The salvo binary's import / lists / suppress commands end to end (tools/salvo/cmd_import.cc,
// tools/salvo/cmd_suppress.cc), plus perf/gen_recipients output imported through the CLI.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "store/recipient_store.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using test::RunProcess;
using test::RunResult;
using test::SalvoBin;

class ImportCliTest : public ::testing::Test {
 protected:
  void SetUp() override { config_ = dir_.Write("salvo.toml", "data_dir = \"data\"\n"); }
  RunResult Salvo(std::vector<std::string> args, const std::string& stdin_data = "") {
    args.insert(args.begin(), SalvoBin());
    return RunProcess(args, stdin_data, std::chrono::seconds(60));
  }
  test::TempDir dir_;
  std::string config_;
};

TEST_F(ImportCliTest, ImportRejectsReimportAndLists) {
  std::string csv = dir_.Write("people.csv",
                               "email,first_name,opted_in_at\r\n"
                               "ann@example.com,Ann,2024-05-01T10:00:00Z\r\n"
                               "bob@@x,Bob,\r\n"
                               "carol@bücher.de,\"Carol, C.\",\r\n"
                               "ANN@example.com,Dup,\r\n");
  std::string rejects = dir_.File("rejects.csv");
  RunResult r = Salvo({"import", "-c", config_, "--list", "news", csv, "--rejects", rejects, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"rows\":4,\"imported\":2,\"updated\":0,\"unchanged\":0,\"duplicate\":1,"
                       "\"rejected\":1"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(test::ReadFile(rejects), "line 3: invalid address \"bob@@x\": two '@'\n");

  r = Salvo({"import", "-c", config_, "--list", "news", csv, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"imported\":0,\"updated\":0,\"unchanged\":2,\"duplicate\":1,\"rejected\":1"),
            std::string::npos)
      << r.out;
  // Without --rejects the bad rows go to stderr, naming file and line.
  EXPECT_NE(r.err.find("people.csv: line 3: invalid address \"bob@@x\""), std::string::npos) << r.err;

  // Human summary, from stdin, into a second list; not a TTY: no progress line.
  r = Salvo({"import", "-c", config_, "--list", "vip", "-"}, "email\nann@example.com\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("updated    1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos);

  r = Salvo({"lists", "-c", config_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"lists\":[{\"name\":\"news\",\"members\":2},{\"name\":\"vip\",\"members\":1}]}\n");
  r = Salvo({"lists", "-c", config_});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("news"), std::string::npos);
}

TEST_F(ImportCliTest, BadFilesFailClearly) {
  std::string nomail = dir_.Write("nomail.csv", "name,mail\nA,a@example.com\n");
  RunResult r = Salvo({"import", "-c", config_, "--list", "news", nomail});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nomail.csv: line 1: no \"email\" column in the header (columns: name, mail)"),
            std::string::npos)
      << r.err;
  std::string bin = dir_.Write("blob.csv", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0", 12));
  r = Salvo({"import", "-c", config_, "--list", "news", bin});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("binary data"), std::string::npos) << r.err;
  r = Salvo({"import", "-c", config_, "--list", "news", dir_.File("missing.csv")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
  r = Salvo({"import", "-c", config_, "news.csv"});  // --list is required
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(ImportCliTest, BusyDataDirNamesTheHolder) {
  StoreOptions o;
  o.data_dir = dir_.File("data");
  auto held = Store::Open(o);
  ASSERT_TRUE(held.ok()) << held.status();
  RunResult r = Salvo({"lists", "-c", config_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(absl::StrCat("data_dir ", o.data_dir, " is in use by pid ", getpid(), " (")),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("LOCK"), std::string::npos) << r.err;
}

TEST_F(ImportCliTest, SuppressCommands) {
  RunResult r = Salvo({"suppress", "add", "-c", config_, "Bob@Example.com", "@Bücher.de",
                       "--reason", "hard_bounce", "--detail", "550 5.1.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "suppressed bob@example.com (hard_bounce)\nsuppressed @xn--bcher-kva.de (hard_bounce)\n");

  r = Salvo({"suppress", "check", "-c", config_, "BOB@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("bob@example.com is suppressed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reason      hard_bounce"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("source      cli"), std::string::npos) << r.out;
  r = Salvo({"suppress", "check", "-c", config_, "anyone@bücher.de"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("domain-wide entry @xn--bcher-kva.de"), std::string::npos) << r.out;
  r = Salvo({"suppress", "check", "-c", config_, "alice@example.com"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "alice@example.com: not suppressed\n");
  r = Salvo({"suppress", "check", "-c", config_, "bob@@x"});
  EXPECT_EQ(r.exit_code, 2);
  r = Salvo({"suppress", "add", "-c", config_, "x@example.com", "--reason", "angry"});
  EXPECT_EQ(r.exit_code, 2);

  r = Salvo({"suppress", "list", "-c", config_});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("key,reason,source,first_seen,last_seen,detail\n@xn--bcher-kva.de,hard_bounce,cli,", 0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("\nbob@example.com,hard_bounce,cli,"), std::string::npos);

  std::string exported = dir_.File("export.csv");
  r = Salvo({"suppress", "export", "-c", config_, "-o", exported});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string list_out = Salvo({"suppress", "list", "-c", config_}).out;
  EXPECT_EQ(test::ReadFile(exported), list_out);

  r = Salvo({"suppress", "remove", "-c", config_, "bob@example.com", "nobody@example.com"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "removed bob@example.com\nnot suppressed: nobody@example.com\n");
  EXPECT_EQ(Salvo({"suppress", "check", "-c", config_, "bob@example.com"}).exit_code, 1);

  r = Salvo({"suppress", "import", "-c", config_, exported});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 rows, 2 added or refreshed, 0 rejected"), std::string::npos) << r.out;
  EXPECT_EQ(Salvo({"suppress", "check", "-c", config_, "bob@example.com"}).exit_code, 0);
  EXPECT_EQ(Salvo({"suppress", "list", "-c", config_}).out, list_out);
}

TEST_F(ImportCliTest, GeneratedRecipients) {
  const char* build = std::getenv("SALVO_BUILD_ROOT");
  ASSERT_NE(build, nullptr);
  std::string gen = std::string(build) + "/perf/gen_recipients";
  RunResult g = RunProcess({gen, "--count", "5000", "--no-consent-every", "10", "--domains",
                            "a.example.test,b.example.test", "--seed", "7"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out.rfind("email,first_name,last_name,country,plan,signup_date,opted_in_at,"
                        "consent_source,consent_ip\n",
                        0),
            0u);
  EXPECT_EQ(RunProcess({gen, "--count", "5000", "--no-consent-every", "10", "--domains",
                        "a.example.test,b.example.test", "--seed", "7"})
                .out,
            g.out);  // deterministic
  std::string csv = dir_.Write("gen.csv", g.out);
  RunResult r = Salvo({"import", "-c", config_, "--list", "gen", csv, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"rows\":5000,\"imported\":5000,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"rejected\":0"), std::string::npos) << r.out;

  auto store = Store::Open({dir_.File("data")});
  ASSERT_TRUE(store.ok()) << store.status();
  RecipientStore rs(store->get());
  uint64_t total = 0, consented = 0, domain_a = 0;
  for (uint32_t shard = 0; shard < kVirtualShards; ++shard) {
    std::vector<Recipient> page;
    ASSERT_TRUE(rs.ScanListShard("gen", shard, "", 100000, &page).ok());
    for (const auto& rec : page) {
      ++total;
      consented += rec.HasConsent();
      domain_a += rec.address.ends_with("@a.example.test");
      EXPECT_NE(rec.Field("first_name"), nullptr);
    }
  }
  EXPECT_EQ(total, 5000u);
  EXPECT_EQ(consented, 4500u);
  EXPECT_GT(domain_a, 2000u);
  EXPECT_LT(domain_a, 3000u);
}

}  // namespace
}  // namespace salvo
