// `salvo queue list|show|retry|cancel|sweep` and `salvo api-key create|list|revoke` end to end
// (tools/salvo/cmd_queue.cc, cmd_api_key.cc): on the store directly, then through a running
// `salvo serve` (the commands are forwarded over its admin socket: the data_dir is locked).
// Messages are queued with the store API (the inject API and leads come later).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "store/api_key_store.h"
#include "store/queue_store.h"
#include "tests/integration/feedback_http.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using test::ServeProcess;

constexpr char kConfig[] = R"(data_dir = "DATA"
[http]
listen = "127.0.0.1:PORT"
threads = 2
[[account]]
name = "tx"
host = "127.0.0.1"
[[route]]
name = "transactional"
purpose = "responder"
accounts = [ { name = "tx" } ]
[queue]
keep = "1d"
)";

constexpr int64_t kSec = 1'000'000;

test::RunResult Salvo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {test::SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::RunProcess(argv, "", std::chrono::seconds(60));
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class QueueCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string c = kConfig;
    ServeProcess::ReplaceAll(&c, "DATA", dir_.File("data"));
    ServeProcess::ReplaceAll(&c, "PORT", "1");
    config_ = dir_.Write("salvo.toml", c);
  }
  // Runs `salvo queue COMMAND -c CONFIG ARGS...` (args: COMMAND ARGS...); expects exit code `code`
  // and `part` in what it printed (stdout for 0, else stderr).
  void ExpectQueue(std::vector<std::string> args, int code, const std::string& part) {
    args.insert(args.begin() + 1, {"-c", config_});
    args.insert(args.begin(), "queue");
    auto r = Salvo(args);
    EXPECT_EQ(r.exit_code, code) << r.out << r.err;
    EXPECT_TRUE(Has(code == 0 ? r.out : r.err, part)) << r.out << r.err;
  }
  std::unique_ptr<Store> Open() {
    auto s = Store::Open({dir_.File("data")});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Queues: ann (delivered), bob (deferred with a 451), carol (queued), dave (queued, bulk).
  void Fill() {
    auto store = Open();
    ASSERT_TRUE(store);
    QueueStore q(store.get());
    NewMessage m;
    m.route = "transactional";
    m.sender = "bounces@example.com";
    m.recipients = {"ann@example.com", "bob@example.org", "carol@example.net"};
    m.body = "From: shop@example.com\r\nSubject: Your order\r\n\r\nThanks\r\n";
    m.origin = "api-key:shop";
    NewMessage bulk = m;
    bulk.route = "bulk";
    bulk.recipients = {"dave@example.com"};
    auto ids = q.Enqueue({m, bulk});
    ASSERT_TRUE(ids.ok()) << ids.status();
    ids_ = *ids;
    const int64_t now = absl::ToUnixMicros(absl::Now());
    auto taken = q.TakeDue(now + kSec, 2);  // ann and bob
    ASSERT_TRUE(taken.ok());
    ASSERT_EQ(taken->size(), 2u);
    ASSERT_TRUE(q.RecordAttempt(ids_[0], {now, "tx", "250 2.0.0 queued as 1234", QueueState::kDelivered}).ok());
    ASSERT_TRUE(q.RecordAttempt(ids_[1], {now, "tx", "451 4.7.1 greylisted", QueueState::kDeferred},
                                now + 3600 * kSec).ok());
  }
  QueueState StateOf(const std::string& id) {
    auto store = Open();
    auto e = QueueStore(store.get()).Get(id);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? e->state : QueueState::kQueued;
  }

  test::TempDir dir_;
  std::string config_;
  std::vector<std::string> ids_;
};

TEST_F(QueueCliTest, ListShowRetryCancelOnTheStore) {
  Fill();
  auto r = Salvo({"queue", "list", "-c", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, ids_[0] + "  delivered   transactional     ann@example.com")) << r.out;
  EXPECT_TRUE(Has(r.out, "250 2.0.0 queued as 1234")) << r.out;
  EXPECT_TRUE(Has(r.out, ids_[1] + "  deferred")) << r.out;
  EXPECT_TRUE(Has(r.out, "451 4.7.1 greylisted")) << r.out;
  EXPECT_TRUE(Has(r.out, "dave@example.com")) << r.out;

  r = Salvo({"queue", "list", "-c", config_, "--state", "queued", "--route", "transactional",
             "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "{\"messages\":[{\"id\":\"" + ids_[2] + "\",\"state\":\"queued\"")) << r.out;
  EXPECT_FALSE(Has(r.out, "dave@")) << r.out;
  EXPECT_TRUE(Has(r.out, "\"next_after\":null}")) << r.out;

  r = Salvo({"queue", "list", "-c", config_, "--limit", "2"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Has(r.out, "more: --after " + ids_[1])) << r.out;
  r = Salvo({"queue", "list", "-c", config_, "--after", ids_[1], "--json"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_FALSE(Has(r.out, ids_[1])) << r.out;
  EXPECT_TRUE(Has(r.out, ids_[2]) && Has(r.out, ids_[3])) << r.out;

  r = Salvo({"queue", "list", "-c", config_, "--state", "sent"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "unknown queue state \"sent\" (known: queued, in_flight")) << r.err;

  r = Salvo({"queue", "show", "-c", config_, ids_[1]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "state      deferred since ")) << r.out;
  EXPECT_TRUE(Has(r.out, "next attempt")) << r.out;
  EXPECT_TRUE(Has(r.out, "from       bounces@example.com")) << r.out;
  EXPECT_TRUE(Has(r.out, "origin     api-key:shop")) << r.out;
  EXPECT_TRUE(Has(r.out, "3 recipients")) << r.out;
  EXPECT_TRUE(Has(r.out, "tx                deferred    451 4.7.1 greylisted")) << r.out;
  r = Salvo({"queue", "show", "-c", config_, ids_[0], "--json"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Has(r.out, "\"history\":[{\"at\":\"")) << r.out;
  EXPECT_TRUE(Has(r.out, "\"account\":\"tx\",\"result\":\"delivered\",\"reply\":\"250 2.0.0 queued as 1234\"}]"))
      << r.out;
  r = Salvo({"queue", "show", "-c", config_, "ffffffffffffffff"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Has(r.err, "no queued message \"ffffffffffffffff\"")) << r.err;
  r = Salvo({"queue", "show", "-c", config_, "12; rm"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Has(r.err, "invalid message id \"12; rm\"")) << r.err;

  // retry: the deferred message is due now; a delivered one cannot be retried.
  ExpectQueue({"retry", ids_[1]}, 0, "message " + ids_[1] + ": queued for now\n");
  EXPECT_EQ(StateOf(ids_[1]), QueueState::kQueued);
  ExpectQueue({"retry", ids_[0]}, 1,
              "message " + ids_[0] + " is delivered: only queued or deferred");
  ExpectQueue({"retry"}, 2, "");
  ExpectQueue({"retry", "--deferred"}, 0, "0 deferred messages queued for now\n");

  // cancel
  ExpectQueue({"cancel", ids_[2]}, 0, "message " + ids_[2] + ": cancelled\n");
  EXPECT_EQ(StateOf(ids_[2]), QueueState::kCancelled);
  ExpectQueue({"cancel", ids_[2]}, 1, "message " + ids_[2] + " is cancelled");

  // sweep keeps what finished less than [queue] keep (1 day) ago.
  r = Salvo({"queue", "sweep", "-c", config_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 finished messages older than 1d deleted\n");
}

TEST_F(QueueCliTest, ApiKeysAreShownOnceAndVerifyByHash) {
  auto r = Salvo({"api-key", "create", "-c", config_, "--name", "shop", "--scopes",
                  "messages,submission", "--route", "transactional"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), 6u + 64u + 1u) << r.out;
  const std::string key = r.out.substr(0, r.out.size() - 1);
  EXPECT_TRUE(Has(r.err, "it is not shown again")) << r.err;

  r = Salvo({"api-key", "create", "-c", config_, "--name", "x", "--scopes", "leads,admin"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "unknown scope \"admin\" (known: leads, messages, submission)")) << r.err;
  r = Salvo({"api-key", "create", "-c", config_, "--name", "x", "--scopes", "leads", "--route", "bulk"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "unknown route \"bulk\"")) << r.err;
  r = Salvo({"api-key", "create", "-c", config_, "--name", "shop", "--scopes", "leads"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Has(r.err, "api key \"shop\" already exists")) << r.err;

  r = Salvo({"api-key", "list", "-c", config_});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Has(r.out, "shop                     messages,submission        transactional")) << r.out;
  EXPECT_FALSE(Has(r.out, key.substr(6, 12))) << "the key is never listed";
  r = Salvo({"api-key", "list", "-c", config_, "--json"});
  EXPECT_TRUE(Has(r.out, "{\"api_keys\":[{\"name\":\"shop\",\"scopes\":\"messages,submission\","
                         "\"route\":\"transactional\",\"created\":\""))
      << r.out;
  {
    auto store = Open();
    auto k = ApiKeyStore(store.get()).Verify(key);
    ASSERT_TRUE(k.ok()) << k.status();
    EXPECT_EQ(k->name, "shop");
    EXPECT_EQ(k->scopes, kScopeMessages | kScopeSubmission);
  }
  r = Salvo({"api-key", "revoke", "-c", config_, "shop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Salvo({"api-key", "revoke", "-c", config_, "shop"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Has(r.err, "no api key \"shop\"")) << r.err;
  auto store = Open();
  EXPECT_FALSE(ApiKeyStore(store.get()).Verify(key).ok());
}

TEST_F(QueueCliTest, CommandsAreForwardedToTheDaemon) {
  Fill();
  ServeProcess serve(dir_, kConfig);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const std::string cfg = serve.config();

  auto r = Salvo({"queue", "list", "-c", cfg, "--state", "deferred"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, ids_[1] + "  deferred")) << r.out;
  r = Salvo({"queue", "cancel", "-c", cfg, ids_[1]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Salvo({"queue", "cancel", "-c", cfg, ids_[0]});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Has(r.err, "is delivered")) << r.err;
  r = Salvo({"queue", "show", "-c", cfg, ids_[1], "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "\"state\":\"cancelled\"")) << r.out;
  r = Salvo({"api-key", "create", "-c", cfg, "--name", "leads-form", "--scopes", "leads"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string key = r.out.substr(0, r.out.size() - 1);
  r = Salvo({"api-key", "list", "-c", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "leads-form")) << r.out;

  ASSERT_EQ(serve.Stop(), 0) << serve.Log();
  EXPECT_EQ(StateOf(ids_[1]), QueueState::kCancelled);
  auto store = Open();
  auto k = ApiKeyStore(store.get()).Verify(key);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->name, "leads-form");
}

}  // namespace
}  // namespace salvo
