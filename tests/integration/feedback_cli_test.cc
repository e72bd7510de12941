// `salvo bounces ingest` over every DSN / ARF fixture (files, a maildir, stdin), the tracking
// endpoints of a running `salvo serve` (click redirect, open pixel, RFC 8058 one-click
// unsubscribe), and CLI commands forwarded to the daemon over the admin socket.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/base/clock.h"
#include "engine/feedback/feedback_event.h"
#include "engine/links/token.h"
#include "store/event_store.h"
#include "store/link_store.h"
#include "store/recipient_store.h"
#include "store/store.h"
#include "tests/engine/feedback/manifest.h"
#include "tests/integration/feedback_http.h"

namespace salvo {
namespace {

using test::HttpDo;
using test::RunProcess;
using test::ServeProcess;

constexpr char kSecret[] = "integration-tracking-secret-0123456789abcdef";

constexpr const char* kConfig = test::kTrackingServeConfig;

std::string WriteConfig(const test::TempDir& dir) {
  dir.Write("tracking.key", kSecret);
  std::string c = kConfig;
  ServeProcess::ReplaceAll(&c, "DATA", dir.File("data"));
  ServeProcess::ReplaceAll(&c, "PORT", "1");
  return dir.Write("salvo.toml", c);
}

test::RunResult Salvo(const std::vector<std::string>& args, const std::string& in = "") {
  std::vector<std::string> argv = {test::SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, in, std::chrono::seconds(60));
}

TEST(FeedbackCliTest, BouncesIngestClassifiesEveryReportOnce) {
  test::TempDir dir;
  std::string cfg = WriteConfig(dir);
  auto rows = test::ReadManifest();
  int n = 0;
  for (const auto& row : rows) {
    if (row.provider != "dsn" && row.provider != "arf") continue;
    auto r = Salvo({"bounces", "ingest", "-c", cfg, test::FixturesDir() + "/" + row.path, "--json"});
    ASSERT_EQ(r.exit_code, 0) << row.path << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("\"reports\":1"), std::string::npos) << r.out;
    ++n;
  }
  EXPECT_EQ(n, 6);
  // The whole directory again: everything already seen, nothing changes.
  auto again = Salvo({"bounces", "ingest", "-c", cfg, test::FixturesDir() + "/dsn", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("\"applied\":0"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("\"duplicates\":7"), std::string::npos) << again.out;

  for (const auto& row : rows) {
    if (row.provider != "dsn" && row.provider != "arf") continue;
    for (size_t i = 0; i < row.recipients.size(); ++i) {
      SCOPED_TRACE(row.recipients[i]);
      FeedbackClass c;
      ASSERT_TRUE(ParseFeedbackClass(row.classes[i], &c));
      auto r = Salvo({"suppress", "check", "-c", cfg, row.recipients[i]});
      if (Suppresses(c)) {
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_NE(r.out.find(row.classes[i]), std::string::npos) << r.out;
        EXPECT_NE(r.out.find(row.provider), std::string::npos) << r.out;  // source dsn / arf
      } else {
        EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
      }
    }
  }
}

TEST(FeedbackCliTest, MaildirAndStdinAndUnreadableMailIsReportedByName) {
  test::TempDir dir;
  std::string cfg = WriteConfig(dir);
  std::filesystem::create_directories(dir.File("Maildir/new"));
  std::filesystem::create_directories(dir.File("Maildir/cur"));
  std::filesystem::create_directories(dir.File("Maildir/tmp"));
  dir.Write("Maildir/new/1718262003.M1P1.host",
            test::ReadFile(test::FixturesDir() + "/dsn/sendmail_5.1.1_user_unknown.eml"));
  dir.Write("Maildir/cur/1718262004.M2P2.host:2,S", "From: someone@example.com\nSubject: hi\n\nhello\n");
  auto r = Salvo({"bounces", "ingest", "-c", cfg, dir.File("Maildir")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("1718262004.M2P2.host:2,S: not understood"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("files 2, reports 1, not understood 1"), std::string::npos) << r.out;
  EXPECT_EQ(Salvo({"suppress", "check", "-c", cfg, "olivia.grant@example.org"}).exit_code, 0);

  std::string plain =
      "From: MAILER-DAEMON@mx.example.org\nTo: bounces+x@mail.example-sender.com\n"
      "Subject: Undelivered Mail Returned to Sender\n\n"
      "<gone@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 User unknown\n";
  auto s = Salvo({"bounces", "ingest", "-c", cfg, "-"}, plain);
  EXPECT_EQ(s.exit_code, 0) << s.out << s.err;
  auto ck = Salvo({"suppress", "check", "-c", cfg, "gone@example.com"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out;
  EXPECT_NE(ck.out.find("hard_bounce"), std::string::npos);
}

TEST(FeedbackCliTest, TrackingEndpointsAndOneClickUnsubscribe) {
  test::TempDir dir;
  dir.Write("tracking.key", kSecret);
  {
    auto store = Store::Open({dir.File("data"), true});
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE(LinkStore(store->get())
                    .Put("camp1", {"https://www.example.com/landing?a=1", "https://example.org/x"})
                    .ok());
    // Tokens name the recipient by id; the daemon finds the address among stored recipients.
    Recipient reader;
    reader.address = reader.key = "reader@example.com";
    ASSERT_TRUE(RecipientStore(store->get()).Upsert("news", {reader}).ok());
  }
  ServeProcess serve(dir, kConfig);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const int port = serve.port();
  auto token = [](TokenPurpose p, uint32_t link) {
    TokenClaims d;
    d.purpose = p;
    d.campaign_id = "camp1";
    d.recipient_id = RecipientId("reader@example.com");
    d.link_index = link;
    d.issued_at = NowUnixSeconds();
    return TokenKeyRing(kSecret).Issue(d);
  };
  std::string click = token(TokenPurpose::kClick, 1);
  auto r = HttpDo(port, "GET", "/c/" + click);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.headers["location"], "https://example.org/x");
  std::string tampered = click;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  auto bad = HttpDo(port, "GET", "/c/" + tampered + "?u=https://evil.example/");
  EXPECT_EQ(bad.status, 404);
  EXPECT_EQ(bad.headers.count("location"), 0u);
  EXPECT_EQ(HttpDo(port, "GET", "/c/" + token(TokenPurpose::kClick, 7)).status, 404) << "no such link";
  EXPECT_EQ(HttpDo(port, "GET", "/c/" + token(TokenPurpose::kOpen, 0)).status, 404) << "purpose mismatch";

  auto open = HttpDo(port, "GET", "/o/" + token(TokenPurpose::kOpen, 0));
  EXPECT_EQ(open.status, 200);
  EXPECT_EQ(open.headers["content-type"], "image/gif");
  EXPECT_EQ(open.body.substr(0, 6), "GIF89a");

  std::string unsub = token(TokenPurpose::kUnsubscribe, 0);
  auto page = HttpDo(port, "GET", "/u/" + unsub);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("method=\"post\""), std::string::npos) << page.body;
  // No unsubscribe on GET (forwarded to the daemon: the store is busy).
  auto ck = Salvo({"suppress", "check", "-c", serve.config(), "reader@example.com"});
  EXPECT_EQ(ck.exit_code, 1) << ck.out << ck.err;
  std::vector<std::pair<std::string, std::string>> form = {
      {"Content-Type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(HttpDo(port, "POST", "/u/" + tampered, "List-Unsubscribe=One-Click", form).status, 404);
  EXPECT_EQ(HttpDo(port, "POST", "/u/" + unsub, "something=else", form).status, 400);
  auto done = HttpDo(port, "POST", "/u/" + unsub, "List-Unsubscribe=One-Click", form);
  EXPECT_EQ(done.status, 200) << done.body;
  ck = Salvo({"suppress", "check", "-c", serve.config(), "reader@example.com"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out << ck.err;
  EXPECT_NE(ck.out.find("unsubscribe"), std::string::npos) << ck.out;
  EXPECT_NE(ck.out.find("one-click"), std::string::npos) << ck.out;

  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  auto store = Store::Open({dir.File("data"), false});
  ASSERT_TRUE(store.ok());
  std::map<std::string, int> kinds;
  ASSERT_TRUE(EventStore(store->get()).ForEach([&](const StoredEvent& e) {
    ++kinds[e.kind];
    EXPECT_EQ(e.campaign_id, "camp1");
    return true;
  }).ok());
  EXPECT_EQ(kinds["click"], 1);
  EXPECT_EQ(kinds["open"], 1);
  EXPECT_EQ(kinds["unsubscribe"], 1);
}

TEST(FeedbackCliTest, CommandsRunInsideARunningDaemon) {
  test::TempDir dir;
  dir.Write("tracking.key", kSecret);
  ServeProcess serve(dir, kConfig);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string cfg = serve.config();
  // A second daemon on the same data_dir fails clearly.
  auto second = Salvo({"serve", "-c", cfg});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("in use by pid"), std::string::npos) << second.err;

  std::string csv = dir.Write("people.csv",
                              "email,first_name\nann@example.com,Ann\nbob@example.net,Bob\n");
  auto imp = Salvo({"import", "-c", cfg, "--list", "news", csv, "--json"});
  EXPECT_EQ(imp.exit_code, 0) << imp.out << imp.err;
  EXPECT_NE(imp.out.find("\"imported\":2"), std::string::npos) << imp.out;
  auto from_stdin = Salvo({"import", "-c", cfg, "--list", "news", "-", "--format", "csv", "--json"},
                          "email\ncarl@example.org\n");
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.out << from_stdin.err;
  EXPECT_NE(from_stdin.out.find("\"imported\":1"), std::string::npos) << from_stdin.out;

  auto add = Salvo({"suppress", "add", "-c", cfg, "bob@example.net", "--reason", "manual"});
  EXPECT_EQ(add.exit_code, 0) << add.out << add.err;
  auto ck = Salvo({"suppress", "check", "-c", cfg, "bob@example.net"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out << ck.err;
  EXPECT_NE(ck.out.find("manual"), std::string::npos);
  EXPECT_EQ(Salvo({"suppress", "check", "-c", cfg, "ann@example.com"}).exit_code, 1);

  auto bounce = Salvo({"bounces", "ingest", "-c", cfg, "-"},
                      test::ReadFile(test::FixturesDir() + "/dsn/arf_rfc5965_abuse_complaint.eml"));
  EXPECT_EQ(bounce.exit_code, 0) << bounce.out << bounce.err;
  EXPECT_EQ(Salvo({"suppress", "check", "-c", cfg, "tessa.vogel@example.com"}).exit_code, 0);

  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  // After the daemon stopped, the same commands run locally on the released data_dir.
  auto local = Salvo({"suppress", "check", "-c", cfg, "tessa.vogel@example.com"});
  EXPECT_EQ(local.exit_code, 0) << local.out << local.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("data/salvo.sock")));
}

}  // namespace
}  // namespace salvo
