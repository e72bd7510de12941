// POST /api/v1/lists/{list}/leads end to end against a running `salvo serve`
// (tools/salvo/api_leads.cc, responders.cc): authentication and limits, 1,000 leads (20
// suppressed beforehand, 50 without consent, 10 invalid) queueing exactly the expected
// responder and delivery messages, re-posting queueing nothing, Idempotency-Key, and the double
// opt-in flow (confirm page, consent recorded, after = "confirmed" responder queued, an
// unconfirmed lead skipped by a broadcast through salvo-sink), and an expired confirm link
// (older than confirm_max_age, 30 days by default) that offers and sends a new one.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/links/token.h"
#include "store/queue_store.h"
#include "store/recipient_store.h"
#include "tests/integration/api_fixture.h"

namespace salvo {
namespace {

using test::Bearer;
using test::Has;
using test::HttpDo;
using test::ServeProcess;
using test::TempDir;

std::string LeadJson(int i) {
  std::string email = i % 100 == 7 ? absl::StrCat("lead", i, "@@x.test")  // invalid
                                   : absl::StrCat("lead", i, "@leads.test");
  std::string j = absl::StrCat("{\"email\":\"", email, "\",\"first_name\":\"L", i,
                               "\",\"country\":\"DK\"");
  if (i % 20 != 3)  // 50 without consent
    absl::StrAppend(&j, ",\"opted_in_at\":\"2026-11-01T10:00:00Z\",\"consent_source\":\"form\"");
  return j + "}";
}

class ApiLeadsTest : public ::testing::Test {
 protected:
  void Start(uint64_t max_body = 1 << 20) {
    serve_ = std::make_unique<ServeProcess>(
        dir_, test::ApiConfig(dir_, tx_sink_.port(), sink_.port(), max_body));
    ASSERT_TRUE(serve_->ready()) << serve_->Log();
    config_ = serve_->config();
  }
  test::HttpReply Post(const std::string& path, const std::string& body, const std::string& key,
                       std::vector<std::pair<std::string, std::string>> extra = {}) {
    auto h = Bearer(key);
    h.insert(h.end(), extra.begin(), extra.end());
    return HttpDo(serve_->port(), "POST", path, body, h);
  }

  TempDir dir_;
  test::Sink sink_{dir_, "bulk"};      // the bulk route (broadcasts)
  test::Sink tx_sink_{dir_, "tx"};     // the responder route (queued mail, the delivery loop)
  std::unique_ptr<ServeProcess> serve_;
  std::string config_;
};

TEST_F(ApiLeadsTest, RefusesWithoutKeyScopeOrWithBadBodiesAndQueuesNothing) {
  Start(/*max_body=*/64 * 1024);
  const std::string leads_key = test::CreateKey(config_, "crm", "leads");
  const std::string msg_key = test::CreateKey(config_, "shop", "messages");
  const std::string lead = LeadJson(1);
  const std::string path = "/api/v1/lists/dk-leads/leads";

  auto r = HttpDo(serve_->port(), "POST", path, lead);
  EXPECT_EQ(r.status, 401) << r.body;
  r = Post(path, lead, "salvo_0000000000000000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_FALSE(Has(r.body, "salvo_0000")) << "the key is never echoed";
  r = Post(path, lead, msg_key);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(Has(r.body, "leads")) << r.body;
  r = Post(path, std::string(70 * 1024, ' ') + lead, leads_key);
  EXPECT_EQ(r.status, 413) << r.body;
  r = Post(path, "{\"email\": ", leads_key);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Has(r.body, "body: malformed JSON")) << r.body;
  r = Post(path, "[]", leads_key);
  EXPECT_EQ(r.status, 400) << r.body;
  r = Post("/api/v1/messages", "{\"content\": 5, \"recipients\": []}", msg_key);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Has(r.body, "content")) << r.body;
  r = Post("/api/v1/messages", "{\"content\":\"x\",\"recipients\":[{\"email\":3}]}", msg_key);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(Has(r.body, "recipients[0].email")) << r.body;
  r = HttpDo(serve_->port(), "GET", path, "", Bearer(leads_key));
  EXPECT_EQ(r.status, 405) << r.body;

  EXPECT_TRUE(test::QueueList(config_).empty());
  auto lists = test::Salvo({"lists", "-c", config_, "--json"});
  EXPECT_FALSE(Has(lists.out, "dk-leads")) << lists.out;
}

TEST_F(ApiLeadsTest, ThousandLeadsQueueExactlyTheExpectedMessagesOnce) {
  // 20 suppressed beforehand (i % 50 == 11), through the store before the daemon starts.
  std::set<std::string> suppressed;
  {
    std::vector<std::string> args = {"suppress", "add", "-c", "", "--reason", "manual"};
    for (int i = 11; i < 1000; i += 50) {
      suppressed.insert(absl::StrCat("lead", i, "@leads.test"));
      args.push_back(absl::StrCat("lead", i, "@leads.test"));
    }
    Start();
    args[3] = config_;
    auto r = test::Salvo(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string key = test::CreateKey(config_, "crm", "leads");
  const std::string path = "/api/v1/lists/dk-leads/leads";
  std::set<std::string> valid, with_consent;
  std::set<int> invalid;
  for (int i = 0; i < 1000; ++i) {
    if (i % 100 == 7) {
      invalid.insert(i);
      continue;
    }
    std::string a = absl::StrCat("lead", i, "@leads.test");
    valid.insert(a);
    if (i % 20 != 3) with_consent.insert(a);
  }
  // Leads 0..99 one by one, then arrays of 300.
  std::set<int> rejected_index;
  int queued = 0;
  auto post = [&](int from, int to, bool array) {
    std::string body = array ? "[" : "";
    for (int i = from; i < to; ++i) absl::StrAppend(&body, i > from ? "," : "", LeadJson(i));
    if (array) body += "]";
    auto r = Post(path, body, key);
    EXPECT_EQ(r.status, 202) << r.body;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(r.body).get(doc)) return ADD_FAILURE() << r.body;
    for (simdjson::dom::element e : doc["rejected"].get_array()) {
      int64_t idx = e["index"].get_int64().value_unsafe();
      std::string_view err = e["error"].get_string().value_unsafe();
      EXPECT_TRUE(Has(std::string(err), "invalid address")) << err;
      EXPECT_TRUE(Has(std::string(err), "@@x.test")) << err;
      rejected_index.insert(from + static_cast<int>(idx));
    }
    queued += static_cast<int>(doc["queued"].get_array().size());
  };
  for (int i = 0; i < 100; ++i) post(i, i + 1, false);
  for (int i = 100; i < 1000; i += 300) post(i, i + 300, true);
  EXPECT_EQ(rejected_index, invalid);

  auto expect_queue = [&] {
    auto by = test::ByOrigin(test::QueueList(config_));
    std::set<std::string> welcome, offer;
    for (const auto& [a, n] : by["responder:dk-welcome"]) {
      EXPECT_EQ(n, 1) << a;
      welcome.insert(a);
    }
    for (const auto& [a, n] : by["responder:dk-offer"]) {
      EXPECT_EQ(n, 1) << a;
      offer.insert(a);
    }
    std::set<std::string> want_welcome, want_offer;
    for (const std::string& a : valid)
      if (!suppressed.count(a)) want_welcome.insert(a);
    for (const std::string& a : want_welcome)
      if (with_consent.count(a)) want_offer.insert(a);
    EXPECT_EQ(welcome.size(), 970u);
    EXPECT_EQ(offer.size(), 920u);
    EXPECT_EQ(welcome, want_welcome);
    EXPECT_EQ(offer, want_offer);
    ASSERT_EQ(by["delivery:buyer-notify"].size(), 1u);
    EXPECT_EQ(by["delivery:buyer-notify"]["buyer@acme.example"], 990);
    EXPECT_EQ(by.size(), 3u);
  };
  expect_queue();
  EXPECT_EQ(queued, 970 + 920 + 990);

  // Posting the same leads again updates them and queues nothing.
  queued = 0;
  rejected_index.clear();
  for (int i = 0; i < 1000; i += 300) post(i, std::min(i + 300, 1000), true);
  EXPECT_EQ(queued, 0);
  expect_queue();
  auto lists = test::Salvo({"lists", "-c", config_, "--json"});
  EXPECT_TRUE(Has(lists.out, "\"members\":990")) << lists.out;

  // Idempotency-Key: the second post with the same key replays the first reply.
  const std::string fresh = "{\"email\":\"late@leads.test\",\"country\":\"DK\"}";
  auto a = Post(path, fresh, key, {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(a.status, 202) << a.body;
  EXPECT_TRUE(Has(a.body, "dk-welcome")) << a.body;
  auto b = Post(path, fresh, key, {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(b.status, 202);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(b.headers["idempotent-replayed"], "true");

  // The delivery loop sends what is due through the responder route: every welcome and buyer
  // notification exactly once (the offers wait 2 days); nothing goes through the bulk route.
  ASSERT_TRUE(test::WaitDelivered(config_, 970 + 990 + 2)) << serve_->Log();
  ASSERT_EQ(serve_->Stop(), 0);
  auto got = tx_sink_.StopAndRead();
  std::set<std::string> welcomed = {"late@leads.test"};
  for (const std::string& a : valid)
    if (!suppressed.count(a)) welcomed.insert(a);
  EXPECT_EQ(got.size(), welcomed.size() + 1);
  int wrong = 0;
  for (const auto& [addr, v] : got) {
    if (addr == "buyer@acme.example") EXPECT_EQ(v.first, 991);
    else if (!welcomed.count(addr) || v.first != 1) ++wrong;
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_TRUE(sink_.StopAndRead().empty());
}

TEST_F(ApiLeadsTest, DoubleOptInRecordsConsentAndQueuesAfterConfirmed) {
  Start();
  const std::string key = test::CreateKey(config_, "crm", "leads");
  const std::string path = "/api/v1/lists/doi-leads/leads";
  // Posted consent is not taken on a double opt-in list.
  auto r = Post(path,
                "[{\"email\":\"Ann@Doi.test\",\"first_name\":\"Ann\","
                "\"opted_in_at\":\"2026-11-01T10:00:00Z\"},"
                "{\"email\":\"bob@doi.test\",\"first_name\":\"Bob\"}]",
                key);
  ASSERT_EQ(r.status, 202) << r.body;
  auto by = test::ByOrigin(test::QueueList(config_));
  EXPECT_EQ(by["responder:doi-ask"].size(), 2u);
  EXPECT_EQ(by.size(), 1u) << "nothing but the confirmation requests";

  // The queued request carries the confirm URL (QP soft breaks removed).
  ASSERT_TRUE(test::WaitDelivered(config_, 2)) << serve_->Log();
  ASSERT_EQ(serve_->Stop(), 0);
  std::string body;
  {
    auto store = Store::Open({dir_.File("data")});
    ASSERT_TRUE(store.ok()) << store.status();
    QueueStore q(store->get());
    auto list = q.List({});
    ASSERT_TRUE(list.ok());
    for (const QueueEntry& e : *list)
      if (e.recipient == "Ann@doi.test") body = q.GetBody(e.body_id).value_or("");
    auto ann = RecipientStore(store->get()).Get("ann@doi.test");
    ASSERT_TRUE(ann.ok() && ann->has_value());
    EXPECT_FALSE((*ann)->HasConsent());
  }
  EXPECT_EQ(body.find("X-Salvo-ID"), std::string::npos) << "tagged by the delivery loop";
  EXPECT_EQ(body.find("DKIM-Signature"), std::string::npos);
  body = absl::StrReplaceAll(body, {{"=\r\n", ""}});
  // The token carries the list and the lead's opaque id, signed now (engine/links/token.h).
  const std::string token = test::TokenAfter(body, "https://click.example.test/confirm/");
  ASSERT_GT(token.size(), 20u) << body;
  TokenKeyRing ring("0123456789abcdef0123456789abcdef");
  auto claims = ring.Verify(token, TokenPurpose::kConfirm);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->campaign_id, "doi-leads");
  EXPECT_EQ(claims->recipient_id, RecipientId("ann@doi.test"));
  EXPECT_EQ(body.find("ann%40doi.test"), std::string::npos);

  serve_ = std::make_unique<ServeProcess>(dir_,
                                          test::ApiConfig(dir_, tx_sink_.port(), sink_.port()));
  ASSERT_TRUE(serve_->ready()) << serve_->Log();
  auto page = HttpDo(serve_->port(), "GET", "/confirm/" + token);
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(Has(page.body, "method=\"post\"")) << page.body;
  EXPECT_TRUE(test::QueueList(config_).size() == 2u) << "a GET changes nothing";
  auto bad = HttpDo(serve_->port(), "POST", "/confirm/" + token.substr(0, token.size() - 2) + "AA");
  EXPECT_EQ(bad.status, 404);
  auto ok = HttpDo(serve_->port(), "POST", "/confirm/" + token);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(Has(ok.body, "confirmed")) << ok.body;
  auto again = HttpDo(serve_->port(), "POST", "/confirm/" + token);
  EXPECT_EQ(again.status, 200);
  by = test::ByOrigin(test::QueueList(config_));
  ASSERT_EQ(by["responder:doi-welcome"].size(), 1u);
  EXPECT_EQ(by["responder:doi-welcome"]["Ann@doi.test"], 1);
  ASSERT_TRUE(test::WaitDelivered(config_, 3)) << serve_->Log();

  // A broadcast to the list reaches the confirmed lead only.
  const std::string campaign = test::CampaignFile(dir_, "doi-news", "doi-leads");
  auto send = test::Salvo({"send", "--skip-preflight", "-c", config_, "--campaign", campaign, "--json"});
  EXPECT_EQ(send.exit_code, 0) << send.err << send.out;
  serve_->Stop();
  auto got = sink_.StopAndRead();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.begin()->first, "Ann@doi.test");
  EXPECT_EQ(got.begin()->second.first, 1);
  auto tx = tx_sink_.StopAndRead();  // confirmation requests to both, the welcome to Ann
  ASSERT_EQ(tx.size(), 2u);
  EXPECT_EQ(tx["Ann@doi.test"].first, 2);
  EXPECT_EQ(tx["bob@doi.test"].first, 1);
  auto store = Store::Open({dir_.File("data")});
  ASSERT_TRUE(store.ok());
  auto ann = RecipientStore(store->get()).Get("ann@doi.test");
  ASSERT_TRUE(ann.ok() && ann->has_value());
  EXPECT_EQ((*ann)->consent.source, "double_opt_in");
  EXPECT_EQ((*ann)->consent.ip, "127.0.0.1");
}

TEST_F(ApiLeadsTest, ExpiredConfirmLinkOffersANewOne) {
  Start();
  const std::string key = test::CreateKey(config_, "crm", "leads");
  auto r = Post("/api/v1/lists/doi-leads/leads", "[{\"email\":\"carl@doi.test\"}]", key);
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(serve_->Stop(), 0);
  // The confirm tokens of the queued doi-ask messages, oldest first.
  auto tokens = [&] {
    std::vector<std::string> out;
    auto store = Store::Open({dir_.File("data")});
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return out;
    QueueStore q(store->get());
    auto list = q.List({});
    EXPECT_TRUE(list.ok());
    if (!list.ok()) return out;
    for (const QueueEntry& e : *list) {
      if (e.origin != "responder:doi-ask") continue;
      const std::string body =
          absl::StrReplaceAll(q.GetBody(e.body_id).value_or(""), {{"=\r\n", ""}});
      out.push_back(test::TokenAfter(body, "https://click.example.test/confirm/"));
    }
    return out;
  };
  const std::vector<std::string> first = tokens();
  ASSERT_EQ(first.size(), 1u);
  auto days_on = [](int days) {
    return std::map<std::string, std::string>{
        {"SALVO_FAKE_NOW", absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(24 * days),
                                            absl::UTCTimeZone())}};
  };
  const std::string text = test::ApiConfig(dir_, tx_sink_.port(), sink_.port());

  // One request to /confirm/TOKEN: its status and a phrase of its page.
  auto expect_page = [](int port, const char* method, const std::string& token, int status,
                        const std::string& phrase) {
    auto r = HttpDo(port, method, "/confirm/" + token);
    EXPECT_EQ(r.status, status) << method << " " << r.body;
    EXPECT_TRUE(Has(r.body, phrase)) << method << " " << r.body;
  };

  // 29 days on the link still confirms (the page asks); 31 days on it has expired.
  {
    ServeProcess s(dir_, text, days_on(29));
    ASSERT_TRUE(s.ready()) << s.Log();
    expect_page(s.port(), "GET", first[0], 200, ">Confirm<");
  }
  {
    ServeProcess s(dir_, text, days_on(31));
    ASSERT_TRUE(s.ready()) << s.Log();
    expect_page(s.port(), "GET", first[0], 410, "Send me a new link");
    expect_page(s.port(), "POST", first[0], 200, "New link sent");
    // Clicking again within the hour says the same and queues nothing more (checked below).
    expect_page(s.port(), "POST", first[0], 200, "New link sent");
    ASSERT_EQ(s.Stop(), 0);
  }
  // One new link, not two. (The old entry may have been swept meanwhile: the clock jumped past
  // [queue] keep.)
  std::vector<std::string> now_queued = tokens();
  std::erase(now_queued, first[0]);
  ASSERT_EQ(now_queued.size(), 1u);
  const std::string fresh = now_queued[0];
  {
    // The new link confirms; the old one then says so.
    ServeProcess s(dir_, text, days_on(32));
    ASSERT_TRUE(s.ready()) << s.Log();
    expect_page(s.port(), "POST", fresh, 200, "your address is confirmed");
    expect_page(s.port(), "POST", first[0], 200, "already confirmed");
    ASSERT_EQ(s.Stop(), 0);
  }
  for (const std::string& t : tokens())
    EXPECT_TRUE(t == first[0] || t == fresh) << "confirming queued no third request";
  auto store = Store::Open({dir_.File("data")});
  ASSERT_TRUE(store.ok());
  auto carl = RecipientStore(store->get()).Get("carl@doi.test");
  ASSERT_TRUE(carl.ok() && carl->has_value());
  EXPECT_EQ((*carl)->consent.source, "double_opt_in");
}

}  // namespace
}  // namespace salvo
