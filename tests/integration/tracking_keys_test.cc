// Tracking keys end to end (issue #15): a link rendered by `salvo render` still redirects after
// `salvo tracking rotate-key` once `salvo serve` got SIGHUP (and after a restart); after that
// SIGHUP the daemon's own signing (a responder's confirm token, a queued message's VERP tag)
// uses the new key; a token signed with a key that was never configured is a 404; a click token older than token_max_age
// (SALVO_FAKE_NOW) goes to expired_url; a mail to the unsubscribe mailto address with the
// rendered tag suppresses its recipient, one with a forged tag suppresses nobody and is reported.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/links/token.h"
#include "store/queue_store.h"
#include "store/store.h"
#include "tests/integration/feedback_http.h"
#include "tests/integration/smtp_servers.h"

namespace salvo {
namespace {

using test::HttpDo;
using test::RunProcess;
using test::ServeProcess;

const std::string kConfig = std::string(test::kTrackingServeConfig) + R"(unsubscribe_mailto = "unsubscribe@example.com"
token_max_age = "400d"
expired_url = "https://www.example.com/expired"
)";

test::RunResult Salvo(const std::vector<std::string>& args, const std::string& in = "") {
  std::vector<std::string> argv = {test::SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, in, std::chrono::seconds(60));
}

// A store with two recipients and a campaign with one tracked link; returns the config path.
std::string SetUpStore(const test::TempDir& dir) {
  dir.Write("tracking.key", "first-tracking-key-0123456789abcdef");
  std::string c = kConfig;
  ServeProcess::ReplaceAll(&c, "DATA", dir.File("data"));
  ServeProcess::ReplaceAll(&c, "PORT", "1");
  const std::string cfg = dir.Write("salvo.toml", c);
  dir.Write("people.csv", "email,opted_in_at\nReader@example.com,2024-01-01T00:00:00Z\n"
                          "other@example.org,2024-01-01T00:00:00Z\n");
  auto imp = Salvo({"import", "-c", cfg, "--list", "news", dir.File("people.csv")});
  EXPECT_EQ(imp.exit_code, 0) << imp.out << imp.err;
  dir.Write("news.html", "<html><body><p>Hi</p><a href=\"https://shop.example.com/offer\">Offer</a>"
                         "<a href=\"{{unsubscribe_url}}\">unsubscribe</a></body></html>\n");
  dir.Write("news.toml", "id = \"news-1\"\nlist = \"news\"\nfrom = \"News <news@example.com>\"\n"
                         "subject = \"Hello\"\nhtml_file = \"news.html\"\n");
  return cfg;
}

// The message for `to` with quoted-printable soft breaks and =XX escapes undone.
std::string Render(const std::string& cfg, const test::TempDir& dir, const std::string& to) {
  auto r = Salvo({"render", "-c", cfg, "--campaign", dir.File("news.toml"), "--to", to});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string flat;
  const std::string& m = r.out;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m.compare(i, 3, "=\r\n") == 0 || m.compare(i, 2, "=\n") == 0) {
      i += m[i + 1] == '\r' ? 2 : 1;
    } else if (m[i] == '=' && i + 2 < m.size() && std::isxdigit(static_cast<unsigned char>(m[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(m[i + 2]))) {
      flat.push_back(static_cast<char>(std::stoi(m.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      flat.push_back(m[i]);
    }
  }
  return flat;
}

// The first "/c/TOKEN" path of a rendered message.
std::string ClickPath(const std::string& flat) {
  size_t at = flat.find("/c/");
  if (at == std::string::npos) return "";
  size_t e = at + 3;
  while (e < flat.size() && (std::isalnum(static_cast<unsigned char>(flat[e])) || flat[e] == '-' ||
                             flat[e] == '_'))
    ++e;
  return flat.substr(at, e - at);
}

// The tag of "Return-Path: <bounces+TAG@...>".
std::string Tag(const std::string& flat) {
  size_t at = flat.find("bounces+");
  if (at == std::string::npos) return "";
  return flat.substr(at + 8, flat.find('@', at) - at - 8);
}

bool LogHas(const ServeProcess& serve, const std::string& text) {
  for (int i = 0; i < 100; ++i) {
    if (absl::StrContains(serve.Log(), text)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(TrackingKeysTest, RotatedKeyKeepsOldLinksWorkingUnknownKeyIs404) {
  test::TempDir dir;
  const std::string cfg = SetUpStore(dir);
  const std::string old_click = ClickPath(Render(cfg, dir, "reader@example.com"));
  ASSERT_FALSE(old_click.empty());

  ServeProcess serve(dir, kConfig);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  auto before = HttpDo(serve.port(), "GET", old_click);
  EXPECT_EQ(before.status, 302);
  EXPECT_EQ(before.headers["location"], "https://shop.example.com/offer");

  auto rot = Salvo({"tracking", "rotate-key", "-c", serve.config()});
  ASSERT_EQ(rot.exit_code, 0) << rot.out << rot.err;
  EXPECT_NE(rot.out.find("new tracking key"), std::string::npos) << rot.out;
  struct stat st;
  ASSERT_EQ(::stat(dir.File("tracking.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.File("tracking.key.previous").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(test::ReadFile(dir.File("tracking.key")), "first-tracking-key-0123456789abcdef\n");
  EXPECT_EQ(test::ReadFile(dir.File("tracking.key.previous")),
            "first-tracking-key-0123456789abcdef\n");

  ASSERT_EQ(::kill(serve.pid(), SIGHUP), 0);
  ASSERT_TRUE(LogHas(serve, "tracking keys reloaded (2 verify)")) << serve.Log();
  auto after = HttpDo(serve.port(), "GET", old_click);
  EXPECT_EQ(after.status, 302) << after.body;
  EXPECT_EQ(after.headers["location"], "https://shop.example.com/offer");
  // Rendered now (forwarded to the daemon, which reads the config again): the new key signs.
  const std::string new_click = ClickPath(Render(serve.config(), dir, "reader@example.com"));
  ASSERT_FALSE(new_click.empty());
  EXPECT_NE(new_click, old_click);
  EXPECT_EQ(HttpDo(serve.port(), "GET", new_click).status, 302);

  // A token of the same campaign and link signed with a key that was never configured.
  TokenClaims c;
  c.purpose = TokenPurpose::kClick;
  c.campaign_id = "news-1";
  c.recipient_id = RecipientId("reader@example.com");
  c.issued_at = absl::ToUnixSeconds(absl::Now());
  const std::string stranger = TokenKeyRing("a-key-nobody-configured").Issue(c);
  auto unknown = HttpDo(serve.port(), "GET", "/c/" + stranger);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.headers.count("location"), 0u);

  // A restart reads the same ring.
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  ServeProcess again(dir, kConfig);
  ASSERT_TRUE(again.ready()) << again.Log();
  std::string old_at_new_port = old_click;  // the path does not name the port
  EXPECT_EQ(HttpDo(again.port(), "GET", old_at_new_port).status, 302);
  EXPECT_EQ(HttpDo(again.port(), "GET", new_click).status, 302);
}

// The daemon holds one key ring: after rotate-key + SIGHUP the confirm token and the unsubscribe
// token of a double opt-in responder's message (its template compiled at start) and the VERP tag
// it is sent with carry the new key (the old key alone no longer verifies them), no restart.
TEST(TrackingKeysTest, AfterSighupConfirmTokensAndQueueTagsCarryTheNewKey) {
  test::TempDir dir;
  const std::string old_key = "first-tracking-key-0123456789abcdef";
  dir.Write("tracking.key", old_key);
  dir.Write("doi.html", "<html><body><p>Confirm: <a href=\"{{confirm_url}}\">yes</a></p></body></html>");
  dir.Write("doi.toml", absl::StrCat("from = \"Acme <hello@acme.example>\"\nsubject = \"Confirm\"\n"
                                     "html_file = \"", dir.File("doi.html"), "\"\n"));
  const int mx_port = test::FreePort("127.0.0.1");
  const std::string record = dir.File("mx.jsonl");
  auto mx = test::StartScript({"/usr/bin/python3", test::ScriptPath("smtp_fault_server.py"),
                               "--record", record, absl::StrCat(mx_port, ":ok")},
                              "127.0.0.1", mx_port, dir.File("mx.log"));
  const std::string config = absl::StrCat(
      test::kTrackingServeConfig, "bounce_domain = \"bounces.example.test\"\n",
      "[[account]]\nname = \"tx\"\nhost = \"127.0.0.1\"\nport = ", mx_port,
      "\ntls = \"none\"\nehlo_name = \"test.example\"\n"
      "[[route]]\nname = \"transactional\"\npurpose = \"responder\"\n"
      "accounts = [ { name = \"tx\" } ]\n"
      "[[responder]]\nname = \"doi-ask\"\nlist = \"doi-leads\"\ntemplate = \"",
      dir.File("doi.toml"), "\"\nroute = \"transactional\"\nkind = \"double_opt_in\"\n");
  ServeProcess serve(dir, config);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  auto created = Salvo({"api-key", "create", "-c", serve.config(), "--name", "crm", "--scopes", "leads"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string api_key = std::string(absl::StripTrailingAsciiWhitespace(created.out));

  ASSERT_EQ(Salvo({"tracking", "rotate-key", "-c", serve.config()}).exit_code, 0);
  const std::string new_key = std::string(absl::StripAsciiWhitespace(test::ReadFile(dir.File("tracking.key"))));
  ASSERT_NE(new_key, old_key);
  ASSERT_EQ(::kill(serve.pid(), SIGHUP), 0);
  ASSERT_TRUE(LogHas(serve, "tracking keys reloaded (2 verify")) << serve.Log();

  auto posted = HttpDo(serve.port(), "POST", "/api/v1/lists/doi-leads/leads",
                       "{\"email\":\"Ann@Doi.test\"}",
                       {{"Authorization", "Bearer " + api_key}, {"Content-Type", "application/json"}});
  ASSERT_EQ(posted.status, 202) << posted.body;
  std::string mail;  // "MAIL FROM:<bounces+TAG@bounces.example.test>" of the delivered message
  for (int i = 0; i < 300 && mail.empty(); ++i) {
    for (const std::string& line : test::RecordLines(record)) {
      const size_t at = line.find("MAIL FROM:<bounces+");
      if (at != std::string::npos) mail = line.substr(at, line.find('>', at) - at + 1);
    }
    if (mail.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(mail.empty()) << serve.Log() << test::ReadFile(record);
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  mx->Stop(SIGTERM);

  const TokenKeyRing only_new(new_key), only_old(old_key);
  const std::string tag = mail.substr(19, kBounceTagChars);
  EXPECT_EQ(mail, absl::StrCat("MAIL FROM:<bounces+", tag, "@bounces.example.test>"));
  EXPECT_TRUE(only_new.VerifyBounceTag(tag).ok()) << mail;
  EXPECT_FALSE(only_old.VerifyBounceTag(tag).ok()) << mail;

  // The confirm token in the stored body of the queued message.
  std::string body;
  {
    auto store = Store::Open({dir.File("data")});
    ASSERT_TRUE(store.ok()) << store.status();
    QueueStore q(store->get());
    auto list = q.List({});
    ASSERT_TRUE(list.ok()) << list.status();
    ASSERT_EQ(list->size(), 1u);
    body = q.GetBody(list->front().body_id).value_or("");
  }
  const std::string token =
      test::TokenAfter(body, absl::StrCat("http://127.0.0.1:", serve.port(), "/confirm/"));
  ASSERT_FALSE(token.empty()) << body;
  auto claims = only_new.Verify(token, TokenPurpose::kConfirm);
  ASSERT_TRUE(claims.ok()) << claims.status() << " " << token;
  EXPECT_EQ(claims->key_id, TokenKeyId(new_key));
  EXPECT_NE(claims->key_id, TokenKeyId(old_key));
  EXPECT_EQ(claims->campaign_id, "doi-leads");
  EXPECT_FALSE(only_old.Verify(token, TokenPurpose::kConfirm).ok());
  // The template was compiled at start; its one-click unsubscribe token is signed now, too.
  const std::string unsub =
      test::TokenAfter(body, absl::StrCat("http://127.0.0.1:", serve.port(), "/u/"));
  ASSERT_FALSE(unsub.empty()) << body;
  auto u_claims = only_new.Verify(unsub, TokenPurpose::kUnsubscribe);
  ASSERT_TRUE(u_claims.ok()) << u_claims.status() << " " << unsub;
  EXPECT_EQ(u_claims->key_id, TokenKeyId(new_key));
}

TEST(TrackingKeysTest, ExpiredClickGoesToExpiredUrl) {
  test::TempDir dir;
  const std::string cfg = SetUpStore(dir);
  const std::string click = ClickPath(Render(cfg, dir, "reader@example.com"));
  ASSERT_FALSE(click.empty());
  // 401 days later (token_max_age = "400d").
  const std::string later =
      absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(24 * 401), absl::UTCTimeZone());
  ServeProcess serve(dir, kConfig, {{"SALVO_FAKE_NOW", later}});
  ASSERT_TRUE(serve.ready()) << serve.Log();
  auto r = HttpDo(serve.port(), "GET", click);
  EXPECT_EQ(r.status, 302) << r.body;
  EXPECT_EQ(r.headers["location"], "https://www.example.com/expired");
  ASSERT_EQ(serve.Stop(), 0);
  // 399 days later it still goes to the link.
  const std::string sooner =
      absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(24 * 399), absl::UTCTimeZone());
  ServeProcess fresh(dir, kConfig, {{"SALVO_FAKE_NOW", sooner}});
  ASSERT_TRUE(fresh.ready()) << fresh.Log();
  auto ok = HttpDo(fresh.port(), "GET", click);
  EXPECT_EQ(ok.status, 302);
  EXPECT_EQ(ok.headers["location"], "https://shop.example.com/offer");
}

TEST(TrackingKeysTest, MailtoUnsubscribeSuppressesForgedTagNamesNobody) {
  test::TempDir dir;
  const std::string cfg = SetUpStore(dir);
  const std::string reader = Render(cfg, dir, "reader@example.com");
  const std::string tag = Tag(reader);
  ASSERT_EQ(tag.size(), kBounceTagChars);
  // The List-Unsubscribe mailto URI carries the tag in the address and the subject.
  EXPECT_NE(reader.find(absl::StrCat("<mailto:unsubscribe+", tag,
                                     "@example.com?subject=unsubscribe%20", tag, ">")),
            std::string::npos)
      << reader;

  // A forged tag (one character changed) for the other recipient: nobody is suppressed.
  std::string forged = Tag(Render(cfg, dir, "other@example.org"));
  forged[10] = forged[10] == 'a' ? 'b' : 'a';
  auto bad = Salvo({"bounces", "ingest", "-c", cfg, "-", "--json"},
                   absl::StrCat("From: someone@example.org\nTo: <unsubscribe+", forged,
                                "@example.com>\nSubject: unsubscribe ", forged, "\n\nbye\n"));
  EXPECT_EQ(bad.exit_code, 0) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("unsubscribe mail names nobody"), std::string::npos) << bad.err;
  EXPECT_NE(bad.out.find("\"unsubscribe_rejected\":1"), std::string::npos) << bad.out;
  EXPECT_EQ(Salvo({"suppress", "check", "-c", cfg, "other@example.org"}).exit_code, 1);

  // The tag in the subject only (the client dropped the +tag): the recipient is suppressed.
  auto good = Salvo({"bounces", "ingest", "-c", cfg, "-", "--json"},
                    absl::StrCat("From: Reader <Reader@example.com>\r\nTo: unsubscribe@example.com\r\n"
                                 "Subject: unsubscribe ", tag, "\r\n\r\n"));
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("\"unsubscribe_mailto\":1"), std::string::npos) << good.out;
  auto ck = Salvo({"suppress", "check", "-c", cfg, "reader@example.com"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out << ck.err;
  EXPECT_NE(ck.out.find("unsubscribe"), std::string::npos) << ck.out;
  EXPECT_NE(ck.out.find("mailto"), std::string::npos) << ck.out;
  EXPECT_EQ(Salvo({"suppress", "check", "-c", cfg, "other@example.org"}).exit_code, 1);

  // Through a running daemon (an MTA pipe while salvo serve owns data_dir) the tag in the
  // address is enough, and the metric counts it.
  auto other_tag = Tag(Render(cfg, dir, "other@example.org"));
  ServeProcess serve(dir, kConfig);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  auto piped = Salvo({"bounces", "ingest", "-c", serve.config(), "-"},
                     absl::StrCat("To: unsubscribe+", other_tag, "@example.com\nSubject: x\n\n"));
  EXPECT_EQ(piped.exit_code, 0) << piped.out << piped.err;
  EXPECT_EQ(Salvo({"suppress", "check", "-c", serve.config(), "other@example.org"}).exit_code, 0);
  auto metrics = HttpDo(serve.port(), "GET", "/metrics");
  // campaign is "": a `salvo render` preview stores no campaign record to resolve the tag's
  // campaign hash against (a sent campaign does).
  EXPECT_NE(metrics.body.find("salvo_unsubscribes_total{campaign=\"\",source=\"mailto\"} 1"),
            std::string::npos)
      << metrics.body.substr(0, 4000);
}

}  // namespace
}  // namespace salvo
