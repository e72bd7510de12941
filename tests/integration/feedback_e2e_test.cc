// End to end through a running `salvo serve`: `salvo render` a message (forwarded to the daemon,
// which stores the campaign's link table), follow its tracked link -> 302 to the original URL,
// POST its List-Unsubscribe URL (RFC 8058) -> the address is suppressed, and a following
// `salvo send` (also run inside the daemon) against salvo-sink skips it. And: bounces and
// complaints that name no recipient are tied to the right recipient and campaign by the VERP tag.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <regex>

#include "engine/links/token.h"
#include "store/event_store.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"

namespace salvo {
namespace {

using namespace salvo::test;

TEST(FeedbackE2eTest, RenderClickUnsubscribeThenSendSkipsTheAddress) {
  TempDir dir;
  Sink sink(dir, "sink");
  std::string text = ConfigText(dir, {{"acct", sink.port(), {}}},
                                kOneAccountRoute,
                                "[http]\nlisten = \"127.0.0.1:PORT\"\nthreads = 2\n");
  Population pop = Populate(dir.File("data"), "news", 5, "e", "example.test");
  ASSERT_EQ(pop.eligible.size(), 5u);
  std::string campaign = CampaignFile(dir, "e2e", "news");
  ServeProcess serve(dir, text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string cfg = serve.config();

  RunResult render = RunProcess({SalvoBin(), "render", "-c", cfg, "--campaign", campaign, "--to",
                                 "e2@example.test"});
  ASSERT_EQ(render.exit_code, 0) << render.out << render.err;
  std::string msg = Unqp(render.out);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(msg, m, std::regex("/c/([A-Za-z0-9_-]+)"))) << msg;
  const std::string click = m[1];
  ASSERT_TRUE(std::regex_search(msg, m, std::regex("List-Unsubscribe:\\s*<[^>]*/u/([A-Za-z0-9_-]+)>")))
      << msg;
  const std::string unsub = m[1];

  auto r = HttpDo(serve.port(), "GET", "/c/" + click);
  EXPECT_EQ(r.status, 302) << r.body;
  EXPECT_EQ(r.headers["location"], "https://shop.example.test/a");

  auto u = HttpDo(serve.port(), "POST", "/u/" + unsub, "List-Unsubscribe=One-Click",
                  {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(u.status, 200) << u.body;
  RunResult ck = RunProcess({SalvoBin(), "suppress", "check", "-c", cfg, "e2@example.test"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out << ck.err;
  EXPECT_NE(ck.out.find("one-click"), std::string::npos) << ck.out;

  // A person who follows the link gets a page whose button posts via=page: source="link".
  RunResult render3 = RunProcess({SalvoBin(), "render", "-c", cfg, "--campaign", campaign, "--to",
                                  "e3@example.test"});
  ASSERT_EQ(render3.exit_code, 0) << render3.err;
  std::string msg3 = Unqp(render3.out);
  ASSERT_TRUE(std::regex_search(msg3, m, std::regex("List-Unsubscribe:\\s*<[^>]*/u/([A-Za-z0-9_-]+)>")));
  const std::string unsub3 = m[1];
  auto page = HttpDo(serve.port(), "GET", "/u/" + unsub3);
  ASSERT_EQ(page.status, 200);
  ASSERT_NE(page.body.find("name=\"via\" value=\"page\""), std::string::npos) << page.body;
  auto u3 = HttpDo(serve.port(), "POST", "/u/" + unsub3, "List-Unsubscribe=One-Click&via=page",
                   {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(u3.status, 200) << u3.body;
  // Exactly one of each on the daemon's /metrics.
  const std::string metrics_text = HttpDo(serve.port(), "GET", "/metrics").body;
  for (const char* line : {"salvo_clicks_total{campaign=\"e2e\"} 1\n",
                           "salvo_unsubscribes_total{campaign=\"e2e\",source=\"one_click\"} 1\n",
                           "salvo_unsubscribes_total{campaign=\"e2e\",source=\"link\"} 1\n"})
    EXPECT_NE(metrics_text.find(line), std::string::npos) << line << metrics_text;

  RunResult send = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", campaign, "--json"}, "",
                              std::chrono::seconds(90));
  EXPECT_EQ(send.exit_code, 0) << send.out << send.err;
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.count("e2@example.test"), 0u) << "unsubscribed address was sent to";
  EXPECT_EQ(got.size(), 3u) << send.out;  // e2 and e3 unsubscribed
}

// The Return-Path line `salvo render` prints first: the envelope sender used on the wire.
std::string VerpTagOf(const std::string& cfg, const std::string& campaign, const std::string& to) {
  RunResult r = RunProcess({SalvoBin(), "render", "-c", cfg, "--campaign", campaign, "--to", to});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("^Return-Path: <bounces\\+([a-z2-7]+)@([^>]+)>\r?\n")))
    return "";
  EXPECT_LE(std::string("bounces+").size() + m[1].length(), 64u) << "RFC 5321 local part";
  EXPECT_NE(r.out.find("X-Salvo-ID: " + std::string(m[1]) + "\r\n"), std::string::npos);
  return m[1];
}

TEST(FeedbackE2eTest, VerpTagNamesRecipientAndCampaignWhenTheReportDoesNot) {
  TempDir dir;
  Sink sink(dir, "sink");
  std::string cfg = WriteOneAccountConfig(dir, {.name = "acct", .port = sink.port()});
  Populate(dir.File("data"), "news", 6, "v", "example.test");
  std::string campaign = CampaignFile(dir, "verp", "news");
  RunResult send = RunProcess({SalvoBin(), "send", "--skip-preflight", "-c", cfg, "--campaign", campaign, "--json"}, "",
                              std::chrono::seconds(90));
  ASSERT_EQ(send.exit_code, 0) << send.out << send.err;
  EXPECT_EQ(sink.StopAndRead().size(), 6u);

  // A complaint whose ISP redacted the recipient: only X-Salvo-ID in the returned headers.
  const std::string t3 = VerpTagOf(cfg, campaign, "v3@example.test");
  ASSERT_EQ(t3.size(), kBounceTagChars);
  std::string arf =
      "From: feedback@isp.example\nTo: abuse@example.test\nSubject: complaint\n"
      "Message-ID: <arf-1@isp.example>\nMIME-Version: 1.0\n"
      "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\n\n"
      "--b\nContent-Type: text/plain\n\nThis is an abuse report.\n"
      "--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: isp/1\n"
      "Version: 1\n\n--b\nContent-Type: text/rfc822-headers\n\nFrom: news@example.test\n"
      "Subject: Hello\nX-Salvo-ID: " + t3 + "\n\n--b--\n";
  RunResult in = RunProcess({SalvoBin(), "bounces", "ingest", "-c", cfg, "-"}, arf);
  EXPECT_EQ(in.exit_code, 0) << in.out << in.err;
  RunResult ck = RunProcess({SalvoBin(), "suppress", "check", "-c", cfg, "v3@example.test"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out << ck.err;
  EXPECT_NE(ck.out.find("complaint"), std::string::npos) << ck.out;

  // A bounce whose text names no address, sent to the VERP address; the tag in upper case (some
  // MTAs fold local parts) still resolves.
  std::string t4 = VerpTagOf(cfg, campaign, "v4@example.test");
  for (char& c : t4) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string dsn = "From: MAILER-DAEMON@mx.example.org\nTo: bounces+" + t4 +
                    "@example.test\nSubject: Returned mail\nMessage-ID: <b-1@mx.example.org>\n\n"
                    "Delivery failed permanently.\nRemote server said: 550 5.1.1 no such user\n";
  in = RunProcess({SalvoBin(), "bounces", "ingest", "-c", cfg, "-"}, dsn);
  EXPECT_EQ(in.exit_code, 0) << in.out << in.err;
  ck = RunProcess({SalvoBin(), "suppress", "check", "-c", cfg, "v4@example.test"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out << ck.err;
  EXPECT_NE(ck.out.find("hard_bounce"), std::string::npos) << ck.out;

  // A forged tag (one character changed) names nobody: the mail is not understood.
  std::string t5 = VerpTagOf(cfg, campaign, "v5@example.test");
  t5[10] = t5[10] == 'a' ? 'b' : 'a';
  std::string forged = dsn;
  forged.replace(forged.find(t4), t4.size(), t5);
  in = RunProcess({SalvoBin(), "bounces", "ingest", "-c", cfg, "-"}, forged);
  EXPECT_NE(in.exit_code, 0) << in.out << in.err;
  EXPECT_EQ(RunProcess({SalvoBin(), "suppress", "check", "-c", cfg, "v5@example.test"}).exit_code, 1);

  // Both events carry the campaign the tag named.
  auto store = Store::Open({dir.File("data"), false});
  ASSERT_TRUE(store.ok()) << store.status();
  std::map<std::string, std::string> campaign_of;
  ASSERT_TRUE(EventStore(store->get()).ForEach([&](const StoredEvent& e) {
    campaign_of[e.address] = e.campaign_id;
    return true;
  }).ok());
  EXPECT_EQ(campaign_of["v3@example.test"], "verp");
  EXPECT_EQ(campaign_of["v4@example.test"], "verp");
  EXPECT_EQ(campaign_of.count("v5@example.test"), 0u);
}

}  // namespace
}  // namespace salvo
