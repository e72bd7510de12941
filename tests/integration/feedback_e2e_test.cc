// End to end through a running `salvo serve`: `salvo render` a message (forwarded to the daemon,
// which stores the campaign's link table), follow its tracked link -> 302 to the original URL,
// POST its List-Unsubscribe URL (RFC 8058) -> the address is suppressed, and a following
// `salvo send` (also run inside the daemon) against salvo-sink skips it.
#include <gtest/gtest.h>

#include <regex>

#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"

namespace salvo {
namespace {

using namespace salvo::test;

// Undoes quoted-printable soft breaks and =3D so that URLs can be found in the raw message.
std::string Unqp(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '=' && i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') { i += 2; continue; }
    if (s[i] == '=' && i + 1 < s.size() && s[i + 1] == '\n') { i += 1; continue; }
    if (s.compare(i, 3, "=3D") == 0) { out.push_back('='); i += 2; continue; }
    out.push_back(s[i]);
  }
  return out;
}

TEST(FeedbackE2eTest, RenderClickUnsubscribeThenSendSkipsTheAddress) {
  TempDir dir;
  Sink sink(dir, "sink");
  std::string text = ConfigText(dir, {{"acct", sink.port(), {}}},
                                "[[route]]\nname = \"r\"\ndefault = true\n"
                                "accounts = [ { name = \"acct\", weight = 1 } ]\n",
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

  RunResult send = RunProcess({SalvoBin(), "send", "-c", cfg, "--campaign", campaign, "--json"}, "",
                              std::chrono::seconds(90));
  EXPECT_EQ(send.exit_code, 0) << send.out << send.err;
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.count("e2@example.test"), 0u) << "unsubscribed address was sent to";
  EXPECT_EQ(got.size(), 4u) << send.out;
}

}  // namespace
}  // namespace salvo
