// POST /api/v1/messages (the inject API, tools/salvo/api_messages.cc) against a running
// `salvo serve`: structured content personalized per recipient, raw content queued as given
// (CRLF), suppressed and invalid recipients reported and not queued, the key's route forced,
// Idempotency-Key.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "store/queue_store.h"
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

}  // namespace
}  // namespace salvo
