// The daemon's delivery loop for the durable queue (shard/queue_delivery.h) and `salvo inject`
// (tools/salvo/cmd_inject.cc) end to end, against salvo-sink: exactly-once delivery of 5,000
// messages across a kill -9 while the sink was down, a 450 retried after the backoff across a
// daemon restart, suppression at inject and at send time, a 550 bounce suppressing the address,
// and inject's refusals naming the field.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/links/token.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

constexpr char kSending[] = "[sending]\nretry_base = \"1s\"\nretry_max = \"2s\"\n";

RunResult Salvo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", std::chrono::seconds(60));
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) ++n;
  return n;
}

// Entries in `state` (salvo queue list, through the daemon when it runs).
size_t InState(const std::string& config, const std::string& state) {
  RunResult r = Salvo({"queue", "list", "-c", config, "--state", state, "--limit", "10000", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Count(r.out, "\"id\":");
}

// Polls until `done` (at most `limit`); false on time out.
template <typename F>
bool WaitFor(F done, std::chrono::seconds limit = std::chrono::seconds(120)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return done();
}

// The ids printed by `salvo inject` ("queued ID ADDRESS" lines), by address.
std::map<std::string, std::string> QueuedIds(const std::string& out) {
  std::map<std::string, std::string> ids;
  for (size_t p = out.find("queued "); p != std::string::npos; p = out.find("\nqueued ", p + 1)) {
    if (out[p] == '\n') ++p;
    const size_t sp = out.find(' ', p + 7);
    const size_t nl = out.find('\n', sp);
    ids[out.substr(sp + 1, nl - sp - 1)] = out.substr(p + 7, sp - p - 7);
  }
  return ids;
}

class QueueDeliveryTest : public ::testing::Test {
 protected:
  std::string Config(int sink_port, const std::string& extra = "") {
    return ServeConfig(dir_, {{"acct", sink_port}}, "", std::string(kSending) + extra);
  }
  std::string WriteMessage() {
    return dir_.Write("msg.eml",
                      "From: Shop <shop@example.test>\nTo: you\nSubject: Your order\n\n"
                      "Thanks for your order.\n.\nBye\n");
  }
  RunResult Inject(const std::string& config, const std::vector<std::string>& to,
                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"inject", "-c", config, "--from", "shop@example.test",
                                     "--file", dir_.File("msg.eml"), "--route", "r"};
    for (const std::string& t : to) {
      args.push_back("--to");
      args.push_back(t);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return Salvo(args);
  }

  TempDir dir_;
};

TEST_F(QueueDeliveryTest, FiveThousandExactlyOnceAcrossKillWhileTheSinkWasDown) {
  WriteMessage();
  const int sink_port = FreePort("127.0.0.1");  // nothing listens yet
  const std::string text = Config(sink_port);
  std::set<std::string> all;
  {
    ServeProcess serve(dir_, text);
    ASSERT_TRUE(serve.ready()) << serve.Log();
    for (int call = 0; call < 10; ++call) {
      std::vector<std::string> to;
      for (int i = 0; i < 500; ++i) {
        to.push_back(absl::StrCat("u", call * 500 + i, "@example.test"));
        all.insert(to.back());
      }
      RunResult r = Inject(serve.config(), to);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      ASSERT_EQ(QueuedIds(r.out).size(), 500u) << r.out.substr(0, 400);
    }
    // The daemon has tried (connection refused: deferred), then dies without a goodbye.
    ASSERT_TRUE(WaitFor([&] { return InState(serve.config(), "deferred") > 0; })) << serve.Log();
    ASSERT_EQ(::kill(serve.pid(), SIGKILL), 0);
    serve.Stop();
  }
  Sink sink(dir_, "sink", {}, sink_port);
  ServeProcess serve(dir_, text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  EXPECT_TRUE(WaitFor([&] { return InState(serve.config(), "delivered") == all.size(); },
                      std::chrono::seconds(150)))
      << serve.Log();
  EXPECT_EQ(InState(serve.config(), "deferred") + InState(serve.config(), "queued") +
                InState(serve.config(), "in_flight"),
            0u);
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  Population pop;
  pop.eligible = all;
  ExpectExactlyOnce(sink.StopAndRead(), pop);
}

TEST_F(QueueDeliveryTest, A450IsRetriedAfterTheBackoffAcrossARestart) {
  WriteMessage();
  Sink sink(dir_, "sink", {"--fault-rcpt", "later=450-4.2.0*1"});
  const std::string text = Config(sink.port());
  std::string id;
  {
    ServeProcess serve(dir_, text);
    ASSERT_TRUE(serve.ready()) << serve.Log();
    RunResult r = Inject(serve.config(), {"later@example.test"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    id = QueuedIds(r.out)["later@example.test"];
    ASSERT_EQ(id.size(), 16u) << r.out;
    ASSERT_TRUE(WaitFor([&] { return InState(serve.config(), "deferred") == 1; })) << serve.Log();
    ASSERT_EQ(serve.Stop(), 0) << serve.Log();  // restart while the retry waits
  }
  ServeProcess serve(dir_, text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  ASSERT_TRUE(WaitFor([&] { return InState(serve.config(), "delivered") == 1; })) << serve.Log();
  RunResult show = Salvo({"queue", "show", "-c", serve.config(), id, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(Has(show.out, "\"attempts\":2")) << show.out;
  EXPECT_TRUE(Has(show.out, "\"account\":\"acct\",\"result\":\"deferred\",\"reply\":\"450 4.2.0 "))
      << show.out;
  EXPECT_TRUE(Has(show.out, "\"account\":\"acct\",\"result\":\"delivered\",\"reply\":\"250"))
      << show.out;
  show = Salvo({"queue", "show", "-c", serve.config(), id});
  EXPECT_EQ(Count(show.out, "acct "), 2u) << show.out;
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  auto got = sink.StopAndRead();
  ASSERT_EQ(got.count("later@example.test"), 1u);
  EXPECT_EQ(got["later@example.test"].first, 1);
}

TEST_F(QueueDeliveryTest, SuppressedAtInjectAndAtSendTimeBouncesSuppress) {
  WriteMessage();
  Sink sink(dir_, "sink", {"--fault-rcpt", "gone=550-5.1.1"});
  const std::string config = dir_.Write("salvo.toml", [&] {
    std::string t = Config(sink.port());
    ServeProcess::ReplaceAll(&t, "PORT", std::to_string(FreePort()));
    return t;
  }());
  // Without a daemon: inject opens the store itself.
  ASSERT_EQ(Salvo({"suppress", "add", "-c", config, "blocked@example.test", "--reason", "manual"})
                .exit_code,
            0);
  RunResult r = Inject(config, {"blocked@example.test", "late@example.test", "gone@example.test",
                                "ok@example.test"},
                       {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "\"suppressed\":[{\"recipient\":\"blocked@example.test\",\"reason\":\"manual\"}]"))
      << r.out;
  EXPECT_EQ(Count(r.out, "\"id\":"), 3u) << r.out;
  EXPECT_TRUE(Has(r.err, "the message(s) are delivered when it runs")) << r.err;
  // Suppressed after queueing: never sent.
  ASSERT_EQ(Salvo({"suppress", "add", "-c", config, "late@example.test", "--reason", "unsubscribe"})
                .exit_code,
            0);

  std::string text = Config(sink.port());
  ServeProcess serve(dir_, text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  ASSERT_TRUE(WaitFor([&] {
    return InState(serve.config(), "delivered") == 1 && InState(serve.config(), "bounced") == 1 &&
           InState(serve.config(), "suppressed") == 1;
  })) << serve.Log();
  RunResult check = Salvo({"suppress", "check", "-c", serve.config(), "gone@example.test"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(Has(check.out, "hard_bounce")) << check.out;
  RunResult list = Salvo({"queue", "list", "-c", serve.config(), "--state", "suppressed"});
  EXPECT_TRUE(Has(list.out, "late@example.test")) << list.out;
  EXPECT_TRUE(Has(list.out, "globally suppressed at send time")) << list.out;
  // At inject time through the daemon, per recipient.
  r = Inject(serve.config(), {"gone@example.test", "new@example.test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "suppressed gone@example.test (hard_bounce): not queued")) << r.out;
  EXPECT_EQ(QueuedIds(r.out).count("new@example.test"), 1u) << r.out;
  EXPECT_FALSE(Has(r.err, "delivered when it runs")) << r.err;
  ASSERT_TRUE(WaitFor([&] { return InState(serve.config(), "delivered") == 2; })) << serve.Log();
  // Deliveries by outcome, and the queue by state (set every 5 s).
  ASSERT_TRUE(WaitFor([&] {
    return Has(HttpDo(serve.port(), "GET", "/metrics").body,
               "salvo_queue_messages{state=\"delivered\"} 2\n");
  })) << HttpDo(serve.port(), "GET", "/metrics").body;
  const std::string m = HttpDo(serve.port(), "GET", "/metrics").body;
  EXPECT_TRUE(Has(m, "salvo_queue_messages{state=\"suppressed\"} 1\n")) << m;
  EXPECT_TRUE(Has(m, "salvo_queue_messages{state=\"bounced\"} 1\n")) << m;
  for (const std::string outcome : {"delivered", "bounced", "suppressed"})
    EXPECT_TRUE(Has(m, "salvo_messages_total{outcome=\"" + outcome + "\",campaign=\"queue\",route=\"r\""))
        << outcome << "\n" << m;
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  auto got = sink.StopAndRead();
  EXPECT_EQ(got.count("ok@example.test"), 1u);
  EXPECT_EQ(got.count("new@example.test"), 1u);
  EXPECT_EQ(got.count("late@example.test"), 0u);
  EXPECT_EQ(got.count("blocked@example.test"), 0u);
  EXPECT_EQ(got.count("gone@example.test"), 0u);  // refused at RCPT: never accepted
}

TEST_F(QueueDeliveryTest, ADsnToTheVerpAddressBouncesTheEntryAndSuppresses) {
  WriteMessage();
  Sink sink(dir_, "sink");
  std::string text = Config(sink.port());
  const std::string secret_line = "secret_file = \"" + dir_.File("tracking.key") + "\"\n";
  text.insert(text.find(secret_line) + secret_line.size(),
              "bounce_domain = \"bounces.example.test\"\n");
  ServeProcess serve(dir_, text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  RunResult r = Inject(serve.config(), {"dsn@example.test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = QueuedIds(r.out)["dsn@example.test"];
  ASSERT_TRUE(WaitFor([&] { return InState(serve.config(), "delivered") == 1; })) << serve.Log();
  // The partner accepted it; the receiving system bounces it later to the VERP address.
  TokenSigner signer("0123456789abcdef0123456789abcdef");
  std::string tag;
  signer.AppendBounceTag(id, "dsn@example.test", &tag);
  const std::string dsn = "From: MAILER-DAEMON@mx.example.org\nTo: bounces+" + tag +
                          "@bounces.example.test\nSubject: Returned mail\n"
                          "Message-ID: <b-1@mx.example.org>\n\nDelivery failed permanently.\n"
                          "Remote server said: 550 5.1.1 no such user\n";
  RunResult in = RunProcess({SalvoBin(), "bounces", "ingest", "-c", serve.config(), "-"}, dsn);
  EXPECT_EQ(in.exit_code, 0) << in.out << in.err;
  RunResult show = Salvo({"queue", "show", "-c", serve.config(), id, "--json"});
  EXPECT_TRUE(Has(show.out, "\"state\":\"bounced\"")) << show.out;
  EXPECT_TRUE(Has(show.out, "\"result\":\"bounced\"")) << show.out;
  RunResult ck = Salvo({"suppress", "check", "-c", serve.config(), "dsn@example.test"});
  EXPECT_EQ(ck.exit_code, 0) << ck.out << ck.err;
  EXPECT_TRUE(Has(ck.out, "hard_bounce")) << ck.out;
  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  EXPECT_EQ(sink.StopAndRead().count("dsn@example.test"), 1u);
}

TEST_F(QueueDeliveryTest, InjectRefusesBadInputNamingTheField) {
  WriteMessage();
  std::string t = Config(FreePort("127.0.0.1"));
  ServeProcess::ReplaceAll(&t, "PORT", "1");
  const std::string config = dir_.Write("salvo.toml", t);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"inject", "-c", config});
    return Salvo(args);
  };
  RunResult r = run({"--from", "shop@example.test", "--to", "a@example.test", "--file",
                     dir_.File("msg.eml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "--route is required: 0 routes have purpose = \"responder\"")) << r.err;
  r = run({"--from", "shop@example.test", "--to", "a@@example.test", "--file",
           dir_.File("msg.eml"), "--route", "r"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "--to \"a@@example.test\"")) << r.err;
  r = run({"--from", "shop", "--to", "a@example.test", "--file", dir_.File("msg.eml"), "--route",
           "r"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "--from \"shop\"")) << r.err;
  r = run({"--from", "shop@example.test", "--to", "a@example.test", "--file",
           dir_.File("missing.eml"), "--route", "r"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "--file cannot read")) << r.err;
  r = run({"--from", "shop@example.test", "--to", "a@example.test", "--file", dir_.File("msg.eml"),
           "--route", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "--route: no [[route]] named \"nope\"")) << r.err;
  // The only responder route is the default.
  t += "[[route]]\nname = \"resp\"\npurpose = \"responder\"\naccounts = [ { name = \"acct\" } ]\n";
  dir_.Write("salvo.toml", t);
  r = run({"--from", "shop@example.test", "--to", "a@example.test", "--file", dir_.File("msg.eml"),
           "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "{\"route\":\"resp\",\"queued\":[{\"id\":\"")) << r.out;
}

}  // namespace
}  // namespace salvo::test
