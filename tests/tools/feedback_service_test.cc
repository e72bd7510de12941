// tools/salvo/feedback_service.h in-process, on a store in a temporary data_dir, with the
// fixtures of tests/fixtures/ (MANIFEST.tsv gives the expected class of every recipient).
// Checked: every webhook fixture through Handle() suppresses exactly the hard bounces,
// complaints and unsubscribes (reason, source = provider) and a redelivery applies nothing;
// DSN / ARF reports through Apply() do the same; refused requests (unknown provider, method,
// content type, size, malformed JSON, Basic auth, Mailgun HMAC and SendGrid ECDSA signatures)
// get their status and change nothing; the tracking endpoints redirect only to the campaign's
// link table, serve the pixel, and unsubscribe on the RFC 8058 POST only; Create() refuses
// keys for the wrong provider and names a missing environment variable. Closed by default: a
// provider without verification refuses every post unless allow_unsigned; Mailgun tokens pass
// once (also after a restart) and signed timestamps only within 15 minutes (SendGrid too); an
// account's URL verifies with that account's key.
#include "tools/salvo/feedback_service.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "tests/engine/feedback/fixture_keys.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/config/tracking_keys.h"
#include "engine/feedback/report_parser.h"
#include "engine/links/token.h"
#include "store/event_store.h"
#include "store/link_store.h"
#include "store/recipient_store.h"
#include "store/suppression_store.h"
#include "tests/engine/feedback/manifest.h"
#include "tests/store/store_fixture.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using test::kMailgunKey;
using test::kSendGridKey;
constexpr char kSecret[] = "tracking-secret-for-the-unit-test";

std::string Fixture(const std::string& rel) {
  return test::ReadFile(test::FixturesDir() + "/" + rel);
}

// A request with the given headers (names matched case-insensitively).
struct Request {
  std::string method = "POST";
  std::string path;
  std::map<std::string, std::string> headers = {{"content-type", "application/json"}};
  std::string body;
  bool body_too_large = false;

  HttpRequest Get() const {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.body_too_large = body_too_large;
    r.header = [this](std::string_view name) -> std::string_view {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = headers.find(lower);
      return it == headers.end() ? std::string_view() : std::string_view(it->second);
    };
    return r;
  }
};

class FeedbackServiceTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    config_.http.max_body_bytes = 65536;
    TrackingConfig t;
    t.base_url = "https://t.example.com";
    t.secret = kSecret;
    config_.tracking = t;
    config_.webhooks["mailgun"].signing_key_file =
        dir_.Write("mailgun.key", std::string(kMailgunKey) + "\n");
    config_.webhooks["postmark"].basic_auth_user = "hook";
    config_.webhooks["postmark"].basic_auth_password_file = dir_.Write("postmark.pw", "s3cret\n");
    // The fixtures of these providers carry no signature: their sections accept that, so the
    // classification tests post them as they are (closed-by-default: ClosedByDefault below).
    for (const char* p : {"sendgrid", "ses", "sparkpost", "mailjet", "brevo"})
      config_.webhooks[p].allow_unsigned = true;
  }
  void Create() {
    auto s = FeedbackService::Create(config_, store_.get());
    ASSERT_TRUE(s.ok()) << s.status();
    service_ = std::move(*s);
  }
  HttpResponse Do(const Request& r) { return service_->Handle(r.Get()); }
  // Tokens name recipients by id: the service resolves them through the stored recipients.
  void StoreRecipients(const std::vector<std::string>& addresses) {
    std::vector<Recipient> batch;
    for (const std::string& a : addresses) {
      auto n = NormalizeAddress(a);
      ASSERT_TRUE(n.ok());
      Recipient r;
      r.address = n->address;
      r.key = n->key;
      batch.push_back(r);
    }
    ASSERT_TRUE(RecipientStore(store_.get()).Upsert("test", batch).ok());
  }
  static std::string Token(TokenPurpose p, const std::string& campaign, const std::string& address,
                           uint32_t link = 0, const std::string& secret = kSecret) {
    TokenClaims c;
    c.purpose = p;
    c.campaign_id = campaign;
    c.recipient_id = RecipientId(address);
    c.link_index = link;
    c.issued_at = NowUnixSeconds();
    return TokenKeyRing(secret).Issue(c);
  }
  HttpResponse Post(const std::string& provider, const std::string& body) {
    Request r;
    r.path = "/webhooks/" + provider;
    r.body = body;
    // Basic hook:s3cret
    if (provider == "postmark") r.headers["authorization"] = "Basic aG9vazpzM2NyZXQ=";
    if (provider == "mailgun") r.body = FreshMailgun(body);
    return Do(r);
  }
  // A Mailgun fixture as Mailgun would deliver it now: current timestamp, a token never used.
  std::string FreshMailgun(const std::string& body) {
    return test::ResignMailgun(body, NowUnixSeconds(), absl::StrCat("token-", ++tokens_));
  }
  std::optional<SuppressionEntry> Suppressed(const std::string& address) {
    auto n = NormalizeAddress(address);
    if (!n.ok()) return std::nullopt;
    auto e = SuppressionStore(store_.get()).Check(n->key);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : std::nullopt;
  }
  uint64_t SuppressionCount() {
    auto n = SuppressionStore(store_.get()).Count();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }
  // Expects every recipient of `row` to be suppressed exactly when its class says so.
  void ExpectSuppression(const test::ManifestRow& row, const std::string& source) {
    for (size_t i = 0; i < row.recipients.size(); ++i) {
      if (row.recipients[i] == "-") continue;
      SCOPED_TRACE(row.path + " " + row.recipients[i]);
      FeedbackClass c;
      ASSERT_TRUE(ParseFeedbackClass(row.classes[i], &c));
      auto e = Suppressed(row.recipients[i]);
      if (Suppresses(c)) {
        ASSERT_TRUE(e.has_value());
        EXPECT_EQ(SuppressionReasonName(e->reason), row.classes[i]);
        EXPECT_EQ(e->source, source);
      } else {
        EXPECT_FALSE(e.has_value()) << row.classes[i] << " must not suppress";
      }
    }
  }

  Config config_;
  std::unique_ptr<FeedbackService> service_;
  int tokens_ = 0;
};

TEST_F(FeedbackServiceTest, EveryWebhookFixtureSuppressesExactlyWhatItShouldOnce) {
  Create();
  int posted = 0;
  for (const test::ManifestRow& row : test::ReadManifest()) {
    if (row.provider == "dsn" || row.provider == "arf") continue;
    SCOPED_TRACE(row.path);
    const std::string provider = row.provider == "amazon_ses" ? "ses" : row.provider;
    const std::string body = Fixture(row.path);
    HttpResponse r = Post(row.provider, body);  // "amazon_ses" is accepted as an alias
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    const size_t events = row.recipients.size();
    size_t suppressing = 0;
    for (const std::string& c : row.classes) {
      FeedbackClass k;
      ASSERT_TRUE(ParseFeedbackClass(c, &k));
      if (Suppresses(k)) ++suppressing;
    }
    EXPECT_EQ(r.body, absl::StrCat("{\"events\":", events, ",\"applied\":", events,
                                   ",\"duplicates\":0,\"suppressed\":", suppressing, "}\n"));
    // Delivered again: nothing new.
    HttpResponse again = Post(provider, body);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.body, absl::StrCat("{\"events\":", events, ",\"applied\":0,\"duplicates\":",
                                       events, ",\"suppressed\":0}\n"));
    ExpectSuppression(row, provider);
    ++posted;
  }
  EXPECT_GE(posted, 40);
}

TEST_F(FeedbackServiceTest, DsnAndArfReportsThroughApply) {
  Create();
  for (const test::ManifestRow& row : test::ReadManifest()) {
    if (row.provider != "dsn" && row.provider != "arf") continue;
    SCOPED_TRACE(row.path);
    auto report = ParseReport(Fixture(row.path), service_->TagVerifier());
    ASSERT_TRUE(report.ok()) << report.status();
    ApplyCounts counts;
    ASSERT_TRUE(service_->Apply(report->events, row.provider, &counts).ok());
    EXPECT_EQ(counts.events, row.recipients.size());
    EXPECT_EQ(counts.applied, row.recipients.size());
    EXPECT_EQ(counts.duplicates, 0u);
    ExpectSuppression(row, row.provider);
    ApplyCounts again;
    ASSERT_TRUE(service_->Apply(report->events, row.provider, &again).ok());
    EXPECT_EQ(again.applied, 0u);
    EXPECT_EQ(again.duplicates, row.recipients.size());
    EXPECT_EQ(again.suppressed, 0u);
  }
}

TEST_F(FeedbackServiceTest, UnusableRecipientIsRecordedNotSuppressed) {
  Create();
  FeedbackEvent bad;
  bad.provider = "dsn";
  bad.event_id = "e1";
  bad.recipient = "not an address";
  bad.klass = FeedbackClass::kHardBounce;
  FeedbackEvent good = bad;
  good.event_id = "e2";
  good.recipient = "Zed@Example.COM";
  ApplyCounts counts;
  ASSERT_TRUE(service_->Apply({bad, good}, "dsn", &counts).ok());
  EXPECT_EQ(counts.events, 2u);
  EXPECT_EQ(counts.applied, 2u);
  EXPECT_EQ(counts.unusable, 1u);
  EXPECT_EQ(counts.suppressed, 1u);
  EXPECT_EQ(SuppressionCount(), 1u);
  auto e = Suppressed("zed@example.com");  // normalized: domain lower-cased
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->reason, SuppressionReason::kHardBounce);
  EXPECT_TRUE(absl::StartsWith(e->detail, "e2")) << e->detail;
}

TEST_F(FeedbackServiceTest, RefusedRequestsChangeNothing) {
  Create();
  const std::string bounce = Fixture("webhooks/sendgrid/bounce_hard_invalid_address.json");
  auto status_of = [&](Request r) { return Do(r).status; };
  Request base;
  base.path = "/webhooks/sendgrid";
  base.body = bounce;

  Request r = base;
  r.path = "/webhooks/nosuchprovider";
  EXPECT_EQ(status_of(r), 404);
  r = base;
  r.method = "GET";
  EXPECT_EQ(status_of(r), 405);
  r = base;
  r.headers["content-type"] = "text/html";
  EXPECT_EQ(status_of(r), 415);
  r = base;
  r.body_too_large = true;
  EXPECT_EQ(status_of(r), 413);
  r = base;
  r.body = std::string(65537, ' ');  // over [http] max_body_bytes
  EXPECT_EQ(status_of(r), 413);
  r = base;
  r.body = "[{\"event\": \"bounce\", ";
  EXPECT_EQ(status_of(r), 400);
  // Basic auth configured for postmark: absent or wrong -> 401 with a challenge.
  r = base;
  r.path = "/webhooks/postmark";
  r.body = Fixture("webhooks/postmark/bounce_hardbounce.json");
  HttpResponse unauth = Do(r);
  EXPECT_EQ(unauth.status, 401);
  ASSERT_EQ(unauth.headers.size(), 1u);
  EXPECT_EQ(unauth.headers[0].first, "WWW-Authenticate");
  r.headers["authorization"] = "Basic aG9vazp3cm9uZw==";  // hook:wrong
  EXPECT_EQ(status_of(r), 401);
  // Mailgun with a changed token: the HMAC no longer matches.
  std::string mailgun = Fixture("webhooks/mailgun/failed_permanent_bounce_signed.json");
  const size_t tok = mailgun.find("b73a75bf4ebfbb6089ed4427f499ac4e85c04d6db01ae2fb43");
  ASSERT_NE(tok, std::string::npos);
  mailgun[tok] = 'c';
  r = base;
  r.path = "/webhooks/mailgun";
  r.body = mailgun;
  EXPECT_EQ(status_of(r), 401);

  EXPECT_EQ(SuppressionCount(), 0u);
  bool any_event = false;
  ASSERT_TRUE(EventStore(store_.get()).ForEach([&](const StoredEvent&) {
    any_event = true;
    return false;
  }).ok());
  EXPECT_FALSE(any_event);

  // The same requests done right are applied.
  r.body = FreshMailgun(Fixture("webhooks/mailgun/failed_permanent_bounce_signed.json"));
  EXPECT_EQ(status_of(r), 200);
  r.path = "/webhooks/postmark";
  r.body = Fixture("webhooks/postmark/bounce_hardbounce.json");
  r.headers["authorization"] = "Basic aG9vazpzM2NyZXQ=";
  EXPECT_EQ(status_of(r), 200);
  EXPECT_EQ(SuppressionCount(), 2u);
}

TEST_F(FeedbackServiceTest, SendGridSignatureIsVerifiedOverTheRawBody) {
  config_.webhooks["sendgrid"].public_key = kSendGridKey;
  Create();
  // The SDK vector was signed in 2020: the service's clock reads that time (+ 1 min).
  ShiftedClock then(SystemClock(), absl::FromUnixSeconds(test::kSendGridVectorTime + 60));
  SetProcessClock(&then);
  Request r;
  r.path = "/webhooks/sendgrid";
  r.body = Fixture("webhooks/sendgrid/signed_dropped_bounced_address.json");
  for (absl::string_view line :
       absl::StrSplit(Fixture("webhooks/sendgrid/signed_dropped_bounced_address.headers"), '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  Request tampered = r;
  tampered.body.insert(tampered.body.size() - 2, " ");  // same JSON, different bytes
  EXPECT_EQ(Do(tampered).status, 401);
  Request unsigned_post = r;
  unsigned_post.headers.erase("x-twilio-email-event-webhook-signature");
  EXPECT_EQ(Do(unsigned_post).status, 401);
  EXPECT_FALSE(Suppressed("hello@world.com").has_value());
  HttpResponse ok = Do(r);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(Suppressed("hello@world.com").has_value());
  // 20 minutes later the same signed post is stale.
  ShiftedClock later(SystemClock(), absl::FromUnixSeconds(test::kSendGridVectorTime + 20 * 60));
  SetProcessClock(&later);
  HttpResponse stale = Do(r);
  SetProcessClock(nullptr);
  EXPECT_EQ(stale.status, 401) << stale.body;
  EXPECT_TRUE(absl::StrContains(stale.body, "timestamp")) << stale.body;
}

TEST_F(FeedbackServiceTest, ClosedByDefault) {
  config_.webhooks.clear();
  config_.webhooks["mailgun"].signing_key_file = dir_.Write("mailgun.key", std::string(kMailgunKey));
  Create();
  EXPECT_EQ(service_->ClosedProviders(),
            (std::vector<std::string>{"sendgrid", "ses", "postmark", "sparkpost", "mailjet", "brevo"}));
  for (const test::ManifestRow& row : test::ReadManifest()) {
    if (row.provider == "dsn" || row.provider == "arf" || row.provider == "mailgun") continue;
    SCOPED_TRACE(row.path);
    HttpResponse r = Post(row.provider, Fixture(row.path));
    EXPECT_EQ(r.status, 401) << r.body;
  }
  EXPECT_EQ(SuppressionCount(), 0u);
  // allow_unsigned opens one provider, and says so on /healthz.
  config_.webhooks["brevo"].allow_unsigned = true;
  Create();
  EXPECT_EQ(Post("brevo", Fixture("webhooks/brevo/hard_bounce.json")).status, 200);
  EXPECT_EQ(Post("sparkpost", Fixture("webhooks/sparkpost/spam_complaint.json")).status, 401);
  Request h;
  h.method = "GET";
  h.path = "/healthz";
  HttpResponse health = Do(h);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body,
            "ok\nwarning: [webhooks.brevo] allow_unsigned = true: /webhooks/brevo accepts posts "
            "nobody verified\n");
}

TEST_F(FeedbackServiceTest, MailgunTokenOnceAndTimestampWithinFifteenMinutes) {
  Create();
  const std::string fixture = Fixture("webhooks/mailgun/complained.json");
  const int64_t now = NowUnixSeconds();
  Request r;
  r.path = "/webhooks/mailgun";
  r.body = test::ResignMailgun(fixture, now, "tok-once");
  EXPECT_EQ(Do(r).status, 200);
  HttpResponse replay = Do(r);
  EXPECT_EQ(replay.status, 401) << "same token again";
  EXPECT_EQ(replay.body, "token already used\n");
  // A token from another post replayed with other event data: the signature still matches
  // (Mailgun signs timestamp + token only), the token does not pass twice.
  std::string other = test::ResignMailgun(Fixture("webhooks/mailgun/unsubscribed.json"), now, "tok-once");
  r.body = other;
  EXPECT_EQ(Do(r).status, 401);
  r.body = test::ResignMailgun(fixture, now - 20 * 60, "tok-old");
  EXPECT_EQ(Do(r).status, 401) << "20 minutes old";
  r.body = test::ResignMailgun(fixture, now + 20 * 60, "tok-future");
  EXPECT_EQ(Do(r).status, 401) << "20 minutes ahead";
  r.body = test::ResignMailgun(fixture, now - 10 * 60, "tok-recent");
  EXPECT_EQ(Do(r).status, 200) << "10 minutes old: within the window";
  // The claim is in the store: a new service (a restart) still refuses the token.
  Create();
  r.body = test::ResignMailgun(fixture, now, "tok-once");
  EXPECT_EQ(Do(r).status, 401);
}

TEST_F(FeedbackServiceTest, AccountWebhookUrlVerifiesWithTheAccountsOwnKey) {
  for (const char* name : {"bulk", "responder"}) {
    AccountConfig a;
    a.name = name;
    a.host = "smtp.example.net";
    a.webhook.emplace();
    a.webhook->provider = "mailgun";
    a.webhook->signing_key_file = dir_.Write(std::string(name) + ".key", std::string("key-of-") + name);
    config_.accounts.push_back(a);
  }
  Create();
  const std::string fixture = Fixture("webhooks/mailgun/complained.json");
  const int64_t now = NowUnixSeconds();
  Request r;
  r.path = "/webhooks/mailgun/bulk";
  r.body = test::ResignMailgun(fixture, now, "t1", "key-of-responder");
  EXPECT_EQ(Do(r).status, 401) << "the other account's key";
  r.body = test::ResignMailgun(fixture, now, "t2", kMailgunKey);
  EXPECT_EQ(Do(r).status, 401) << "the provider section's key";
  r.body = test::ResignMailgun(fixture, now, "t3", "key-of-bulk");
  HttpResponse ok = Do(r);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(absl::StrContains(ok.body, "\"account\":\"bulk\"")) << ok.body;
  r.path = "/webhooks/sendgrid/bulk";  // bulk's webhook is a mailgun one
  EXPECT_EQ(Do(r).status, 404);
  r.path = "/webhooks/mailgun/nosuch";
  EXPECT_EQ(Do(r).status, 404);
  r.path = "/webhooks/mailgun/bulk/x";
  EXPECT_EQ(Do(r).status, 404);
  EXPECT_EQ(SuppressionCount(), 1u);
}

TEST_F(FeedbackServiceTest, ClickRedirectsOnlyToTheCampaignsLinkTable) {
  ASSERT_TRUE(LinkStore(store_.get()).Put("spring", {"https://shop.example.com/a?b=1&c=<2>"}).ok());
  StoreRecipients({"Ann@example.com"});
  Create();
  Request r;
  r.method = "GET";
  r.path = "/c/" + Token(TokenPurpose::kClick, "spring", "ann@example.com");
  HttpResponse res = Do(r);
  EXPECT_EQ(res.status, 302);
  ASSERT_FALSE(res.headers.empty());
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{
                                "Location", "https://shop.example.com/a?b=1&c=<2>"}));
  EXPECT_TRUE(absl::StrContains(res.body, "&amp;c=&lt;2&gt;")) << res.body;  // escaped in HTML

  // not in the table
  r.path = "/c/" + Token(TokenPurpose::kClick, "spring", "ann@example.com", 1);
  EXPECT_EQ(Do(r).status, 404);
  // not signed by us
  r.path = "/c/" + Token(TokenPurpose::kClick, "spring", "ann@example.com", 0, "another-secret");
  EXPECT_EQ(Do(r).status, 404);
  const std::string open = Token(TokenPurpose::kOpen, "spring", "ann@example.com");
  r.path = "/c/" + open;  // right signature, wrong purpose
  EXPECT_EQ(Do(r).status, 404);
  r.path = "/c/" + std::string(2000, 'A');
  EXPECT_EQ(Do(r).status, 404);
  r.method = "POST";
  r.path = "/c/" + Token(TokenPurpose::kClick, "spring", "ann@example.com");
  EXPECT_EQ(Do(r).status, 405);

  // The pixel.
  r.method = "GET";
  r.path = "/o/" + open;
  HttpResponse pixel = Do(r);
  EXPECT_EQ(pixel.status, 200);
  EXPECT_EQ(pixel.content_type, "image/gif");
  EXPECT_TRUE(absl::StartsWith(pixel.body, "GIF89a"));

  // Clicks and opens are written by the batcher; all of them once the service stops.
  service_.reset();
  std::vector<std::string> kinds;
  ASSERT_TRUE(EventStore(store_.get()).ForEach([&](const StoredEvent& e) {
    kinds.push_back(e.kind + " " + e.campaign_id + " " + e.address);
    return true;
  }).ok());
  // The address comes from the store (the token has only its id): the stored key.
  EXPECT_EQ(kinds, (std::vector<std::string>{"click spring ann@example.com",
                                             "open spring ann@example.com"}));
}

TEST_F(FeedbackServiceTest, UnsubscribeOnlyOnTheOneClickPost) {
  StoreRecipients({"bob@example.net"});
  Create();
  Request r;
  r.method = "GET";
  // A recipient who is not in the store: the token is authentic but names nobody.
  r.path = "/u/" + Token(TokenPurpose::kUnsubscribe, "spring", "nobody@example.net");
  EXPECT_EQ(Do(r).status, 404);
  r.path = "/u/" + Token(TokenPurpose::kUnsubscribe, "spring", "bob@example.net");
  HttpResponse page = Do(r);
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(absl::StrContains(page.body, "<form method=\"post\"")) << page.body;
  EXPECT_FALSE(Suppressed("bob@example.net").has_value());  // a GET (link scanner) changes nothing

  r.method = "POST";
  r.body = "something=else";
  EXPECT_EQ(Do(r).status, 400);
  r.body = std::string(5000, 'x');
  EXPECT_EQ(Do(r).status, 413);
  EXPECT_FALSE(Suppressed("bob@example.net").has_value());

  r.body = "List-Unsubscribe=One-Click";
  EXPECT_EQ(Do(r).status, 200);
  auto e = Suppressed("bob@example.net");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->reason, SuppressionReason::kUnsubscribe);
  EXPECT_EQ(e->source, "one-click");
  EXPECT_EQ(Do(r).status, 200);  // again: still fine, applied once
  auto seen = EventStore(store_.get()).Seen("one-click", "spring:bob@example.net");
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(*seen);
}

TEST_F(FeedbackServiceTest, OtherPaths) {
  Create();
  Request r;
  r.method = "GET";
  r.path = "/healthz";
  HttpResponse h = Do(r);
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(absl::StartsWith(h.body, "ok\nwarning: [webhooks.brevo] allow_unsigned")) << h.body;
  r.path = "/nothing/here";
  EXPECT_EQ(Do(r).status, 404);
  r.path = "/c/a/b";  // a token never has a slash
  EXPECT_EQ(Do(r).status, 404);
  r.path = "/metrics";
  EXPECT_TRUE(absl::StrContains(Do(r).body, "# TYPE")) << "exposition text";
}

TEST_F(FeedbackServiceTest, WithoutTrackingSecretTrackingLinksAreNotFound) {
  config_.tracking.reset();
  Create();
  EXPECT_FALSE(service_->tracking_enabled());
  EXPECT_TRUE(service_->TagVerifier() == nullptr);
  Request r;
  r.method = "GET";
  r.path = "/c/" + Token(TokenPurpose::kClick, "spring", "ann@example.com");
  EXPECT_EQ(Do(r).status, 404);
}

TEST_F(FeedbackServiceTest, CreateRefusesMisplacedKeysAndNamesMissingSecrets) {
  Config c = config_;
  c.webhooks["brevo"].signing_key_file = dir_.Write("k", "x");
  auto s = FeedbackService::Create(c, store_.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "[webhooks.brevo]: signing_key_* is for mailgun only");

  c = config_;
  c.webhooks["mailgun"].public_key = kSendGridKey;
  s = FeedbackService::Create(c, store_.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "[webhooks.mailgun]: public_key* is for sendgrid only");

  c = config_;
  c.webhooks["nosuch"];
  s = FeedbackService::Create(c, store_.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "[webhooks.nosuch]: unknown provider");

  c = config_;
  c.webhooks["mailgun"] = WebhookConfig();
  c.webhooks["mailgun"].signing_key_env = "SALVO_TEST_UNSET_MAILGUN_KEY";
  unsetenv("SALVO_TEST_UNSET_MAILGUN_KEY");
  s = FeedbackService::Create(c, store_.get());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status()));
  EXPECT_EQ(s.status().message(),
            "[webhooks.mailgun]: environment variable SALVO_TEST_UNSET_MAILGUN_KEY is not set");
  // `salvo bounces ingest` needs no webhook keys: they are not even read.
  s = FeedbackService::Create(c, store_.get(), /*webhook_auth=*/false);
  EXPECT_TRUE(s.ok()) << s.status();
}

}  // namespace
}  // namespace salvo
