// SMTP submission listener of `salvo serve` ([submission], shard/submission_server.h) end to end
// with real clients: Python smtplib (STARTTLS + AUTH PLAIN and LOGIN, implicit TLS) and swaks,
// against a daemon with a self-signed certificate made by openssl. Accepted messages are checked
// in the queue (`salvo queue list --json` through the daemon, then the stored body with the
// daemon stopped): route from the key or the X-Salvo-Route header (removed), origin
// "submission:KEY", a Received: header, dot-unstuffed CRLF body. Refusals: MAIL without AUTH
// (530), a wrong key (535), a key without the submission scope (535), a suppressed recipient
// (550 5.7.1), a message over max_message_bytes (552), a route the key may not use.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "store/queue_store.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using test::ServeProcess;

// The daemon's config: one account (nothing listens on its port: deliveries are deferred), two
// routes, and the listeners (ports filled in by SetUp).
constexpr char kRoutes[] =
    "[[route]]\nname = \"transactional\"\npurpose = \"responder\"\naccounts = [ { name = \"tx\" } ]\n"
    "[[route]]\nname = \"bulk\"\naccounts = [ { name = \"tx\" } ]\n";
constexpr char kListeners[] = R"([http]
listen = "127.0.0.1:PORT"
[submission]
listen = "127.0.0.1:SUBMISSION_PORT"
tls_listen = "127.0.0.1:IMPLICIT_PORT"
tls_cert_file = "cert.pem"
tls_key_file = "key.pem"
max_message_bytes = 50000
hostname = "mx.salvo.test"
)";

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

test::RunResult Salvo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {test::SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::RunProcess(argv, "", std::chrono::seconds(60));
}

class SubmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = test::RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                               dir_.File("key.pem"), "-out", dir_.File("cert.pem"), "-days", "2",
                               "-subj", "/CN=mx.salvo.test", "-addext",
                               "subjectAltName=DNS:mx.salvo.test,IP:127.0.0.1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    port_ = test::FreePort();
    implicit_port_ = test::FreePort();
    std::string c = "workers = 1\n" + test::ConfigText(dir_, {{"tx", 1}}, kRoutes, kListeners);
    ServeProcess::ReplaceAll(&c, "SUBMISSION_PORT", std::to_string(port_));
    ServeProcess::ReplaceAll(&c, "IMPLICIT_PORT", std::to_string(implicit_port_));
    config_text_ = c;
    // Keys and a suppression before the daemon starts (they go to the store directly).
    std::string pre = c;
    ServeProcess::ReplaceAll(&pre, "DATA", dir_.File("data"));
    ServeProcess::ReplaceAll(&pre, "PORT", "1");
    const std::string cfg = dir_.Write("pre.toml", pre);
    shop_key_ = CreateKey(cfg, {"--name", "shop", "--scopes", "submission", "--route", "transactional"});
    free_key_ = CreateKey(cfg, {"--name", "free", "--scopes", "messages,submission"});
    api_key_ = CreateKey(cfg, {"--name", "api", "--scopes", "messages,leads"});
    r = Salvo({"suppress", "add", "-c", cfg, "gone@example.com", "--reason", "hard_bounce"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    serve_ = std::make_unique<ServeProcess>(dir_, config_text_);
    ASSERT_TRUE(serve_->ready()) << serve_->Log();
    ASSERT_TRUE(test::WaitForPort("127.0.0.1", port_, std::chrono::seconds(10))) << serve_->Log();
    // The listeners are bound before the daemon names them in its log.
    const std::string ready = absl::StrCat("smtp submission on port ", port_,
                                           " (STARTTLS), implicit TLS port ", implicit_port_);
    for (int i = 0; i < 200 && !Has(serve_->Log(), ready); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(Has(serve_->Log(), ready)) << serve_->Log();
  }

  std::string CreateKey(const std::string& cfg, std::vector<std::string> args) {
    args.insert(args.begin(), {"api-key", "create", "-c", cfg});
    auto r = Salvo(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string key = r.out.substr(0, r.out.find('\n'));
    const std::string file = dir_.Write("key." + args[5], key);
    return file;  // the key stays in a file: never on a command line
  }

  struct Login {
    std::string user, key_file;
    std::string auth = "plain";     // plain | login | none
    std::string mode = "starttls";  // starttls | implicit | plain
  };
  // Runs the Python client; returns its result line.
  std::string Submit(const Login& l, const std::string& from, const std::vector<std::string>& to,
                     const std::string& message) {
    const std::string msg = dir_.Write("msg" + std::to_string(++n_) + ".eml", message);
    const int port = l.mode == "implicit" ? implicit_port_ : port_;
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     test::SourceRoot() + "/tests/integration/submission_client.py",
                                     "--file", msg, "--port", std::to_string(port), "--mode", l.mode,
                                     "--auth", l.auth, "--from", from};
    if (!l.user.empty()) argv.insert(argv.end(), {"--user", l.user, "--password-file", l.key_file});
    for (const std::string& t : to) argv.insert(argv.end(), {"--to", t});
    auto r = test::RunProcess(argv, "", std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::string QueueJson() {
    auto r = Salvo({"queue", "list", "-c", serve_->config(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // The JSON object of entry `id` in `salvo queue list --json` output ("" when absent). Its state
  // may be anything: the daemon's delivery loop may already have tried it.
  static std::string EntryOf(const std::string& json, const std::string& id) {
    size_t p = json.find("{\"id\":\"" + id + "\"");
    return p == std::string::npos ? "" : json.substr(p, json.find('}', p) - p + 1);
  }

  // Stops the daemon and returns the stored body of entry `id` ("" after a failed check).
  std::string StopAndReadBody(const std::string& id) {
    EXPECT_EQ(serve_->Stop(), 0);
    auto store = Store::Open({dir_.File("data")});
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return "";
    QueueStore queue(store->get());
    auto e = queue.Get(id);
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok()) return "";
    auto body = queue.GetBody(e->body_id);
    EXPECT_TRUE(body.ok()) << body.status();
    return body.ok() ? *body : "";
  }

  // The queued id from "OK 2.0.0 Ok: queued as ID".
  static std::string IdOf(const std::string& result) {
    size_t p = result.find("queued as ");
    return p == std::string::npos ? "" : result.substr(p + 10, 16);
  }

  test::TempDir dir_;
  int port_ = 0, implicit_port_ = 0, n_ = 0;
  std::string config_text_, shop_key_, free_key_, api_key_;
  std::unique_ptr<ServeProcess> serve_;
};

constexpr char kMessage[] =
    "From: Shop <orders@shop.test>\r\nTo: ann@example.com\r\nSubject: Your order\r\n\r\n"
    "Thanks.\r\n.a line that starts with a dot\r\n";

TEST_F(SubmissionTest, StartTlsAuthPlainAndLoginAreQueuedWithTheKeysRoute) {
  std::string out = Submit({"shop", shop_key_}, "orders@shop.test",
                           {"ann@example.com", "Bob@Example.org"}, kMessage);
  ASSERT_TRUE(Has(out, "OK 2.0.0 Ok: queued as ")) << out << serve_->Log();
  EXPECT_TRUE(Has(out, "(2 recipients)")) << out;
  const std::string plain_id = IdOf(out);
  out = Submit({"shop", shop_key_, "login"}, "orders@shop.test", {"carol@example.net"}, kMessage);
  ASSERT_TRUE(Has(out, "OK 2.0.0 Ok: queued as ")) << out;
  const std::string login_id = IdOf(out);

  std::string q = QueueJson();
  EXPECT_TRUE(Has(EntryOf(q, plain_id),
                  "\"route\":\"transactional\",\"sender\":\"orders@shop.test\",\"recipient\":"
                  "\"ann@example.com\",\"origin\":\"submission:shop\""))
      << q;
  EXPECT_TRUE(Has(q, "\"recipient\":\"Bob@example.org\",\"origin\":\"submission:shop\"")) << q;
  EXPECT_TRUE(Has(EntryOf(q, login_id), "\"route\":\"transactional\"")) << q;

  // The stored body: Received: on top, dot-unstuffed, CRLF.
  const std::string body = StopAndReadBody(plain_id);
  EXPECT_TRUE(body.starts_with("Received: from client.test ([127.0.0.1])\r\n\tby mx.salvo.test "
                                "(salvo) with ESMTPSA id "))
      << body;
  EXPECT_TRUE(Has(body, "+0000\r\nFrom: Shop <orders@shop.test>\r\n")) << body;
  EXPECT_TRUE(Has(body, "\r\n\r\nThanks.\r\n.a line that starts with a dot\r\n")) << body;
}

TEST_F(SubmissionTest, RouteHeaderIsHonouredForAKeyWithoutRouteAndRemoved) {
  const std::string msg = std::string("X-Salvo-Route: bulk\r\n") + kMessage;
  const Login free = {"free", free_key_};
  std::string out = Submit(free, "news@shop.test", {"dan@example.com"}, msg);
  ASSERT_TRUE(Has(out, "OK 2.0.0 Ok: queued as ")) << out;
  const std::string id = IdOf(out);
  // Without a header that key has no route; the shop key may not leave its own.
  out = Submit(free, "news@shop.test", {"dan@example.com"}, kMessage);
  EXPECT_TRUE(Has(out, "ERR data 550 5.7.1 key \"free\" has no route")) << out;
  out = Submit({"shop", shop_key_}, "news@shop.test", {"dan@example.com"}, msg);
  EXPECT_TRUE(Has(out, "ERR data 550 5.7.1 key \"shop\" may only use route \"transactional\", not "
                       "\"bulk\""))
      << out;
  out = Submit(free, "news@shop.test", {"dan@example.com"},
               std::string("X-Salvo-Route: nowhere\r\n") + kMessage);
  EXPECT_TRUE(Has(out, "ERR data 550 5.7.1 route \"nowhere\" is not configured")) << out;

  std::string q = QueueJson();
  EXPECT_TRUE(Has(EntryOf(q, id), "\"route\":\"bulk\"")) << q;
  EXPECT_TRUE(Has(q, "\"origin\":\"submission:free\"")) << q;
  // Only the accepted message was queued.
  EXPECT_EQ(q.find("\"id\":"), q.rfind("\"id\":")) << q;
  const std::string body = StopAndReadBody(id);
  EXPECT_FALSE(Has(body, "X-Salvo-Route")) << body;
  EXPECT_TRUE(Has(body, "From: Shop <orders@shop.test>\r\n")) << body;
}

TEST_F(SubmissionTest, RefusalsWithoutAuthWrongKeyWrongScopeSuppressedAndTooLarge) {
  const std::vector<std::string> ann = {"ann@example.com"};
  std::string out = Submit({"", "", "none"}, "a@shop.test", ann, kMessage);
  EXPECT_TRUE(Has(out, "ERR mail 530 5.7.0 Authentication required")) << out;
  // No AUTH before TLS on the STARTTLS port: the credentials would cross in clear.
  out = Submit({"shop", shop_key_, "plain", "plain"}, "a@shop.test", ann, kMessage);
  EXPECT_TRUE(Has(out, "ERR auth ")) << out;
  const std::string wrong = dir_.Write("wrong.key", "salvo_" + std::string(64, '0'));
  out = Submit({"shop", wrong}, "a@shop.test", ann, kMessage);
  EXPECT_TRUE(Has(out, "ERR auth 535 5.7.8 Authentication credentials invalid")) << out;
  // A real key under another key's name, and a key without the submission scope.
  out = Submit({"free", shop_key_}, "a@shop.test", ann, kMessage);
  EXPECT_TRUE(Has(out, "ERR auth 535 5.7.8")) << out;
  out = Submit({"api", api_key_, "login"}, "a@shop.test", ann, kMessage);
  EXPECT_TRUE(Has(out, "ERR auth 535 5.7.8 Authentication credentials invalid")) << out;

  out = Submit({"shop", shop_key_}, "a@shop.test", {"gone@example.com", "ann@example.com"}, kMessage);
  EXPECT_TRUE(Has(out, "ERR rcpt 550 5.7.1 <gone@example.com> is on the suppression list "
                       "(hard_bounce): not sent"))
      << out;
  ASSERT_TRUE(Has(out, "OK 2.0.0 Ok: queued as ")) << out;

  std::string big = kMessage;
  while (big.size() <= 50000) big += std::string(998, 'x') + "\r\n";
  out = Submit({"shop", shop_key_}, "a@shop.test", ann, big);
  EXPECT_TRUE(Has(out, "ERR data 552 5.3.4 Message size exceeds the limit of 50000 bytes")) << out;

  // Exactly one entry: ann's from the message with the suppressed recipient.
  std::string q = QueueJson();
  std::vector<std::string> parts = absl::StrSplit(q, "\"id\":");
  EXPECT_EQ(parts.size(), 2u) << q;
  EXPECT_FALSE(Has(q, "gone@example.com")) << q;
  // The keys never reach the log.
  for (const std::string& f : {shop_key_, free_key_, api_key_})
    EXPECT_FALSE(Has(serve_->Log(), test::ReadFile(f))) << serve_->Log();
}

TEST_F(SubmissionTest, ImplicitTlsAndSwaks) {
  std::string out =
      Submit({"shop", shop_key_, "plain", "implicit"}, "orders@shop.test", {"erin@example.com"}, kMessage);
  ASSERT_TRUE(Has(out, "OK 2.0.0 Ok: queued as ")) << out << serve_->Log();
  auto r = test::RunProcess(
      {"swaks", "--server", absl::StrCat("127.0.0.1:", port_), "--tls", "--auth", "LOGIN",
       "--auth-user", "free", "--auth-password", test::ReadFile(free_key_), "--from",
       "news@shop.test", "--to", "fay@example.com", "--header", "X-Salvo-Route: bulk",
       "--body", "hello from swaks", "--timeout", "20"},
      "", std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Has(r.out, "<~  250 2.0.0 Ok: queued as ")) << r.out;
  EXPECT_TRUE(Has(r.out, "<~  235 2.7.0 Authentication successful")) << r.out;
  std::string q = QueueJson();
  EXPECT_TRUE(Has(q, "\"route\":\"transactional\",\"sender\":\"orders@shop.test\",\"recipient\":"
                     "\"erin@example.com\",\"origin\":\"submission:shop\""))
      << q;
  EXPECT_TRUE(Has(q, "\"route\":\"bulk\",\"sender\":\"news@shop.test\",\"recipient\":"
                     "\"fay@example.com\",\"origin\":\"submission:free\""))
      << q;
}

}  // namespace
}  // namespace salvo
