// POST /api/v1/messages (the inject API, tools/salvo/api_messages.cc) against a running
// `salvo serve`: structured content personalized per recipient, raw content queued as given
// (CRLF), suppressed and invalid recipients reported and not queued, the key's route forced,
// Idempotency-Key. Requests with the same tracked links share one link table, and their clicks
// redirect.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "store/link_store.h"
#include "store/queue_store.h"
#include "store/store_internals.h"
#include "tests/integration/api_fixture.h"

namespace salvo {
namespace {

using test::Bearer;
using test::Has;
using test::HttpDo;
using test::ServeProcess;
using test::TempDir;

TEST(ApiMessagesTest, InjectsStructuredAndRawMessages) {
  TempDir dir;
  test::Sink sink(dir, "bulk");
  test::Sink tx_sink(dir, "tx");
  auto serve = std::make_unique<ServeProcess>(dir, test::ApiConfig(dir, tx_sink.port(), sink.port()));
  ASSERT_TRUE(serve->ready()) << serve->Log();
  const std::string config = serve->config();
  ASSERT_EQ(test::Salvo({"suppress", "add", "-c", config, "--reason", "manual", "gone@shop.test"})
                .exit_code,
            0);
  const std::string key = test::CreateKey(config, "shop", "messages", "transactional");
  const std::string any_route = test::CreateKey(config, "ops", "messages");

  const std::string structured = R"({
    "envelope_sender": "bounces@shop.test",
    "content": {"from": "Shop <orders@shop.test>", "subject": "Order {{order}}",
                "html_body": "<p>Hi {{name|there}}, order {{order}}</p><a href=\"https://shop.test/o\">view</a>",
                "headers": {"X-Order": "42"}},
    "recipients": [{"email": "ann@shop.test", "substitutions": {"name": "Ann", "order": 42}},
                   {"email": "gone@shop.test"},
                   {"email": "bad@@shop.test"},
                   {"email": "bob@shop.test", "substitutions": {"name": "Bob", "order": "43"}}],
    "track": true})";
  auto r = HttpDo(serve->port(), "POST", "/api/v1/messages", structured, Bearer(key));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(test::JsonInt(r.body, "success_count"), 2) << r.body;
  EXPECT_EQ(test::JsonInt(r.body, "fail_count"), 2) << r.body;
  EXPECT_TRUE(Has(r.body, "\"failed_recipients\":[\"bad@@shop.test\",\"gone@shop.test\"]")) << r.body;
  EXPECT_TRUE(Has(r.body, "gone@shop.test: suppressed")) << r.body;

  // The key's route is forced: another one is refused.
  auto wrong = HttpDo(serve->port(), "POST", "/api/v1/messages",
                      R"({"content":"Subject: x\n\nhi\n","recipients":[{"email":"c@shop.test"}],"route":"r"})",
                      Bearer(key));
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  auto no_route = HttpDo(serve->port(), "POST", "/api/v1/messages",
                         R"({"content":"Subject: x\n\nhi\n","recipients":[{"email":"c@shop.test"}]})",
                         Bearer(any_route));
  EXPECT_EQ(no_route.status, 400) << no_route.body;
  EXPECT_TRUE(Has(no_route.body, "route")) << no_route.body;

  // Raw content, once with an Idempotency-Key sent twice.
  const std::string raw =
      R"({"envelope_sender":"bounces@shop.test","content":"From: ops@shop.test\nSubject: Raw\n\nline1\nline2\n",)"
      R"("recipients":[{"email":"carol@shop.test"},{"email":"dave@shop.test"}],"route":"transactional"})";
  auto h = Bearer(any_route);
  h.push_back({"Idempotency-Key", "raw-1"});
  auto a = HttpDo(serve->port(), "POST", "/api/v1/messages", raw, h);
  ASSERT_EQ(a.status, 202) << a.body;
  EXPECT_EQ(test::JsonInt(a.body, "success_count"), 2) << a.body;
  auto b = HttpDo(serve->port(), "POST", "/api/v1/messages", raw, h);
  EXPECT_EQ(b.body, a.body);

  auto by = test::ByOrigin(test::QueueList(config));
  EXPECT_EQ(by.size(), 2u);
  EXPECT_EQ(by["api-key:shop"].size(), 2u);
  EXPECT_EQ(by["api-key:shop"]["ann@shop.test"], 1);
  EXPECT_EQ(by["api-key:shop"]["bob@shop.test"], 1);
  EXPECT_EQ(by["api-key:ops"].size(), 2u);
  EXPECT_EQ(by["api-key:ops"]["carol@shop.test"], 1);

  // Delivered through the key's route by the delivery loop, once each; nothing on the bulk route.
  ASSERT_TRUE(test::WaitDelivered(config, 4)) << serve->Log();
  ASSERT_EQ(serve->Stop(), 0);
  auto got = tx_sink.StopAndRead();
  EXPECT_EQ(got.size(), 4u);
  for (const char* a : {"ann@shop.test", "bob@shop.test", "carol@shop.test", "dave@shop.test"})
    EXPECT_EQ(got[a].first, 1) << a;
  EXPECT_TRUE(sink.StopAndRead().empty());
  auto store = Store::Open({dir.File("data")});
  ASSERT_TRUE(store.ok());
  QueueStore q(store->get());
  auto list = q.List({});
  ASSERT_TRUE(list.ok());
  for (const QueueEntry& e : *list) {
    std::string body = q.GetBody(e.body_id).value_or("");
    EXPECT_EQ(e.route, "transactional");
    EXPECT_EQ(e.sender, "bounces@shop.test");
    if (e.recipient == "ann@shop.test") {
      EXPECT_TRUE(Has(body, "Subject: Order 42\r\n")) << body;
      EXPECT_TRUE(Has(absl::StrReplaceAll(body, {{"=\r\n", ""}, {"=20", " "}}), "Hi Ann, order 42")) << body;
      EXPECT_TRUE(Has(body, "X-Order: 42\r\n")) << body;
      EXPECT_TRUE(Has(body, "List-Unsubscribe: <https://click.example.test/u/")) << body;
      EXPECT_TRUE(Has(body, "https://click.example.test/c/")) << "tracked link";
      EXPECT_FALSE(Has(body, "X-Salvo-ID"));
    } else if (e.recipient == "carol@shop.test") {
      EXPECT_EQ(body, "From: ops@shop.test\r\nSubject: Raw\r\n\r\nline1\r\nline2\r\n");
    }
  }
}

TEST(ApiMessagesTest, RequestsWithTheSameLinksShareOneLinkTable) {
  TempDir dir;
  test::Sink sink(dir, "bulk");
  test::Sink tx_sink(dir, "tx");
  auto serve =
      std::make_unique<ServeProcess>(dir, test::ApiConfig(dir, tx_sink.port(), sink.port()));
  ASSERT_TRUE(serve->ready()) << serve->Log();
  const std::string config = serve->config();
  const std::string key = test::CreateKey(config, "shop", "messages", "transactional");
  auto post = [&](const std::string& to, const std::string& html) {
    const std::string req = absl::StrCat(
        R"({"content": {"from": "Shop <orders@shop.test>", "subject": "Hi", "html_body": ")", html,
        R"("}, "recipients": [{"email": ")", to, R"("}], "track": true})");
    auto r = HttpDo(serve->port(), "POST", "/api/v1/messages", req, Bearer(key));
    EXPECT_EQ(r.status, 202) << r.body;
  };
  // ann and bob: other texts, the same link; carol: another link.
  post("ann@shop.test", R"(<p>Hi Ann</p><a href='https://shop.test/o'>view</a>)");
  post("bob@shop.test", R"(<p>Dear Bob, your order</p><a href='https://shop.test/o'>here</a>)");
  post("carol@shop.test", R"(<p>Hi Carol</p><a href='https://shop.test/p'>view</a>)");
  ASSERT_TRUE(test::WaitDelivered(config, 3)) << serve->Log();
  EXPECT_EQ(tx_sink.StopAndRead().size(), 3u);
  ASSERT_EQ(serve->Stop(), 0);

  // Two tables in the store, each stamped; the Message-IDs name them.
  auto store = Store::Open({dir.File("data")});
  ASSERT_TRUE(store.ok());
  std::map<std::string, std::string> body_of;
  {
    QueueStore q(store->get());
    auto list = q.List({});
    ASSERT_TRUE(list.ok());
    for (const QueueEntry& e : *list)
      body_of[e.recipient] = test::Unqp(q.GetBody(e.body_id).value_or(""));
  }
  ASSERT_EQ(body_of.size(), 3u);
  std::map<std::string, std::string> table_of;
  for (const auto& [rcpt, msg] : body_of) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(msg, m, std::regex("Message-ID: <[^>]*\\.(api-[0-9a-f]{32})@")))
        << msg;
    table_of[rcpt] = m[1];
  }
  EXPECT_EQ(table_of["ann@shop.test"], table_of["bob@shop.test"]);
  EXPECT_NE(table_of["ann@shop.test"], table_of["carol@shop.test"]);
  std::set<std::string> tables;
  int stamps = 0;
  std::unique_ptr<rocksdb::Iterator> it(DbOf(store->get())->NewIterator(
      rocksdb::ReadOptions(), CfOf(store->get(), Cf::kCampaigns)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string k = it->key().ToString();
    if (k.rfind(std::string("links\0api.", 10), 0) == 0) tables.insert(k.substr(6, k.size() - 11));
    if (k.rfind(std::string("linkstamp\0api.", 14), 0) == 0) ++stamps;
  }
  EXPECT_EQ(tables.size(), 2u);
  EXPECT_EQ(stamps, 2);
  for (const std::string& t : tables) {
    std::string msgid_form = t;
    msgid_form[3] = '-';  // "api." -> "api-" in Message-IDs
    EXPECT_TRUE(msgid_form == table_of["ann@shop.test"] ||
                msgid_form == table_of["carol@shop.test"])
        << t;
  }
  it.reset();
  store->reset();

  // Each click redirects to its own link.
  serve = std::make_unique<ServeProcess>(dir, test::ApiConfig(dir, tx_sink.port(), sink.port()));
  ASSERT_TRUE(serve->ready()) << serve->Log();
  for (const auto& [rcpt, where] :
       std::map<std::string, std::string>{{"ann@shop.test", "https://shop.test/o"},
                                          {"bob@shop.test", "https://shop.test/o"},
                                          {"carol@shop.test", "https://shop.test/p"}}) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(body_of[rcpt], m, std::regex("/c/([A-Za-z0-9_-]+)")))
        << body_of[rcpt];
    auto r = HttpDo(serve->port(), "GET", "/c/" + m[1].str());
    EXPECT_EQ(r.status, 302) << rcpt << " " << r.body;
    EXPECT_EQ(r.headers["location"], where) << rcpt;
  }
  ASSERT_EQ(serve->Stop(), 0);

  // 32 days on, with token_max_age = "30d", every token naming them has expired: the daemon's
  // sweep deletes both tables.
  std::string text = test::ApiConfig(dir, tx_sink.port(), sink.port());
  ServeProcess::ReplaceAll(&text, "[tracking]\n", "[tracking]\ntoken_max_age = \"30d\"\n");
  const std::string later = absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(24 * 32),
                                             absl::UTCTimeZone());
  ServeProcess swept(dir, text, {{"SALVO_FAKE_NOW", later}});
  ASSERT_TRUE(swept.ready()) << swept.Log();
  EXPECT_TRUE(swept.WaitForLog("queue: deleted 2 link tables", std::chrono::seconds(30)))
      << swept.Log();
  ASSERT_EQ(swept.Stop(), 0);
  auto reopened = Store::Open({dir.File("data")});
  ASSERT_TRUE(reopened.ok());
  std::unique_ptr<rocksdb::Iterator> after(DbOf(reopened->get())->NewIterator(
      rocksdb::ReadOptions(), CfOf(reopened->get(), Cf::kCampaigns)));
  for (after->SeekToFirst(); after->Valid(); after->Next())  // no table entry and no stamp left
    EXPECT_EQ(after->key().ToString().find("api."), std::string::npos) << after->key().ToString();
}

}  // namespace
}  // namespace salvo
