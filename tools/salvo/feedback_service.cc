// Feedback service request handling. See feedback_service.h.
#include "tools/salvo/feedback_service.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/metrics/salvo_metrics.h"
#include "shard/account_state.h"
#include "store/queue_store.h"
#include "store/account_store.h"

namespace salvo {
namespace {

// A 1x1 transparent GIF.
constexpr unsigned char kGif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

constexpr size_t kMaxTokenBytes = 1024;
constexpr size_t kMaxUnsubscribeBody = 4096;

// A 302 to a URL from the campaign's link table or the config, never one from the request.
HttpResponse Redirect(std::string_view url) {
  HttpResponse r;
  r.status = 302;
  r.headers.emplace_back("Location", std::string(url));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.content_type = "text/html; charset=utf-8";
  r.body = absl::StrCat("<a href=\"", HtmlEscape(url), "\">continue</a>\n");
  return r;
}

HttpResponse NotFound() {
  return Html(404, "Not found", "<h1>Not found</h1><p>This link is not valid.</p>");
}

std::string_view Lower(std::string_view s, std::string* buf) {
  buf->assign(s.data(), s.size());
  for (char& c : *buf) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return *buf;
}

SuppressionReason ReasonFor(FeedbackClass c) {
  switch (c) {
    case FeedbackClass::kHardBounce: return SuppressionReason::kHardBounce;
    case FeedbackClass::kComplaint: return SuppressionReason::kComplaint;
    default: return SuppressionReason::kUnsubscribe;
  }
}

}  // namespace

FeedbackService::FeedbackService(const Config& config, Store* store)
    : config_(config), store_(store), events_(store), links_(store),
      nonces_(store), max_body_(config.http.max_body_bytes),
      warnings_(SecurityWarnings(config)) {}

absl::StatusOr<std::unique_ptr<FeedbackService>> FeedbackService::Create(const Config& config,
                                                                        Store* store,
                                                                        bool webhook_auth,
                                                                        const KeyRingSlot* keys) {
  std::unique_ptr<FeedbackService> s(new FeedbackService(config, store));
  if (keys != nullptr) {
    s->keys_ = keys;
  } else if (config.tracking) {
    s->own_keys_.Set(KeyRingSlot::MakeRing(config.tracking->secret, config.tracking->previous_secrets));
  }
  if (s->keys_->Get() != nullptr) {
    s->tags_ = std::make_unique<BounceTagResolver>(store, s->keys_);
    BounceTagResolver* tags = s->tags_.get();
    s->clicks_ = std::make_unique<EventBatcher>(
        &s->events_, [tags](uint64_t id, const std::string& campaign) {
          return tags->AddressFor(id, campaign);
        });
  }
  if (!webhook_auth) return s;
  for (const auto& [name, w] : config.webhooks) {
    WebhookProvider p;
    if (!ParseWebhookProvider(name, &p))
      return absl::InvalidArgumentError(absl::StrCat("[webhooks.", name, "]: unknown provider"));
    ASSIGN_OR_RETURN(s->auth_[static_cast<int>(p)],
                     LoadWebhookAuth(p, w, absl::StrCat("[webhooks.", name, "]")));
  }
  for (const AccountConfig& a : config.accounts) {
    if (!a.webhook) continue;
    AccountHook hook;
    if (!ParseWebhookProvider(a.webhook->provider, &hook.provider))
      return absl::InvalidArgumentError(
          absl::StrCat("account \"", a.name, "\" webhook: unknown provider"));
    ASSIGN_OR_RETURN(hook.auth, LoadWebhookAuth(hook.provider, *a.webhook,
                                                absl::StrCat("account \"", a.name, "\" webhook")));
    s->account_hooks_.emplace(a.name, std::move(hook));
  }
  return s;
}

std::vector<std::string> FeedbackService::ClosedProviders() const {
  std::vector<std::string> out;
  for (int i = 0; i < kWebhookProviderCount; ++i)
    if (!auth_[i].verified && !auth_[i].allow_unsigned)
      out.emplace_back(WebhookProviderName(static_cast<WebhookProvider>(i)));
  return out;
}

BounceTagVerifier FeedbackService::TagVerifier() const {
  if (!tags_) return nullptr;
  BounceTagResolver* tags = tags_.get();
  return [tags](std::string_view tag, std::string* campaign, std::string* address) {
    return tags->Resolve(tag, campaign, address);
  };
}

absl::Status FeedbackService::Apply(const std::vector<FeedbackEvent>& events, std::string_view kind,
                                    ApplyCounts* counts, std::string_view account) {
  // Chunks keep each RocksDB write batch (and the time the apply lock is held) bounded.
  constexpr size_t kChunk = 4096;
  std::vector<StoredEvent> stored;
  std::vector<SuppressionEntry> entries;
  std::vector<const SuppressionEntry*> supp;
  std::vector<bool> applied;
  std::map<std::pair<std::string, FeedbackClass>, uint64_t> by_class;
  std::map<std::pair<std::string, std::string>, uint64_t> unsub_by_campaign;  // (campaign, source)
  const uint64_t applied_before = counts->applied;
  for (size_t start = 0; start < events.size(); start += kChunk) {
    const size_t n = std::min(kChunk, events.size() - start);
    stored.assign(n, StoredEvent());
    entries.assign(n, SuppressionEntry());
    supp.assign(n, nullptr);
    for (size_t j = 0; j < n; ++j) {
      const FeedbackEvent& ev = events[start + j];
      ++counts->events;
      StoredEvent& se = stored[j];
      se.kind = std::string(kind);
      se.source = ev.provider;
      se.event_id = ev.event_id;
      se.campaign_id = ev.campaign_id;
      se.address = ev.recipient;
      se.klass = std::string(FeedbackClassName(ev.klass));
      se.detail = ev.reason;
      if (!Suppresses(ev.klass)) continue;
      auto addr = NormalizeAddress(ev.recipient);
      if (!addr.ok()) {
        ++counts->unusable;
        continue;
      }
      SuppressionEntry& entry = entries[j];
      entry.key = addr->key;
      entry.reason = ReasonFor(ev.klass);
      entry.source = ev.provider;
      entry.detail = SanitizeForLog(absl::StrCat(ev.event_id, "; ", ev.reason), 1024);
      supp[j] = &entry;
    }
    RETURN_IF_ERROR(events_.ApplyBatch(stored, supp, &applied));
    for (size_t j = 0; j < n; ++j) {
      const FeedbackEvent& ev = events[start + j];
      if (!applied[j]) {
        ++counts->duplicates;
        continue;
      }
      ++counts->applied;
      if (supp[j]) ++counts->suppressed;
      if (ev.klass == FeedbackClass::kHardBounce) MarkQueuedBounced(ev);
      ++by_class[{ev.provider, ev.klass}];
      // source: "webhook", or the provider ("mailto") of an unsubscribe mail.
      if (ev.klass == FeedbackClass::kUnsubscribe)
        ++unsub_by_campaign[{ev.campaign_id, kind == "webhook" ? "webhook" : ev.provider}];
      // A complaint counts against the warm-up of the account that sent the message.
      if (ev.klass == FeedbackClass::kComplaint && supp[j])
        RETURN_IF_ERROR(AccountStates::Process().OnComplaint(store_, ev.campaign_id,
                                                             supp[j]->key, NowUnixMicros()));
    }
  }
  auto& m = metrics::Metrics();
  for (const auto& [k, v] : by_class) {
    m.webhook_events->WithLabels({k.first, FeedbackClassName(k.second)}).Add(v);
    if (!account.empty())
      m.account_webhook_events->WithLabels({account, k.first, FeedbackClassName(k.second)}).Add(v);
  }
  for (const auto& [k, v] : unsub_by_campaign) m.unsubscribes->WithLabels({k.first, k.second}).Add(v);
  // The account's own count (`salvo account list`): the events are applied already, so a failure
  // here is logged, not answered with a 503 that would only bring duplicates.
  if (!account.empty() && counts->applied > applied_before) {
    absl::Status st = AccountStore(store_).AddWebhookEvents(account, counts->applied - applied_before);
    if (!st.ok())
      std::fprintf(stderr, "salvo serve: account %s webhook count: %s\n", std::string(account).c_str(),
                   std::string(st.message()).c_str());
  }
  return absl::OkStatus();
}

void FeedbackService::MarkQueuedBounced(const FeedbackEvent& ev) {
  // A queue entry's id is 16 lowercase hex digits (store/queue_store.h); campaigns' ids that look
  // the same simply are not found in the queue.
  if (ev.campaign_id.size() != 16 ||
      ev.campaign_id.find_first_not_of("0123456789abcdef") != std::string::npos)
    return;
  QueueAttempt report;
  report.at_us = NowUnixMicros();
  report.account = ev.provider;
  report.reply = absl::StrCat(ev.event_id, "; ", ev.reason);
  absl::Status st = QueueStore(store_).RecordBounceReport(ev.campaign_id, report);
  if (!st.ok() && !absl::IsNotFound(st))
    std::fprintf(stderr, "salvo: queue message %s: %s\n", ev.campaign_id.c_str(),
                 std::string(st.message()).c_str());
}

HttpResponse FeedbackService::Handle(const HttpRequest& req) {
  const std::string_view path = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  auto tail = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix) {
      std::string_view t = path.substr(prefix.size());
      if (t.find('/') != std::string_view::npos) return std::nullopt;
      return t;
    }
    return std::nullopt;
  };
  if (path == "/healthz") {
    // Still 200: a weakened setting is the operator's choice, but it stays visible.
    std::string body = "ok";
    for (const std::string& w : warnings_) absl::StrAppend(&body, "\nwarning: ", w);
    return Text(200, std::move(body));
  }
  if (path == "/metrics") {
    HttpResponse r;
    r.content_type = std::string(metrics::kContentType);
    r.body = metrics::MetricsText();
    return r;
  }
  if (req.body_too_large && path.rfind("/webhooks/", 0) != 0) return Text(413, "body too large");
  if (auto t = tail("/c/")) return get ? Click(*t) : Text(405, "method not allowed");
  if (auto t = tail("/o/")) return get ? Open(*t) : Text(405, "method not allowed");
  if (auto t = tail("/u/")) return Unsubscribe(req, *t);
  if (absl::StartsWith(Av(path), "/webhooks/")) {
    // /webhooks/{provider} or /webhooks/{provider}/{account}
    std::string_view rest = path.substr(10);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return Webhook(req, rest, "");
    std::string_view account = rest.substr(slash + 1);
    if (account.empty() || account.find('/') != std::string_view::npos) return Text(404, "not found");
    return Webhook(req, rest.substr(0, slash), account);
  }
  return Text(404, "not found");
}

HttpResponse FeedbackService::Click(std::string_view token) {
  std::shared_ptr<const TokenKeyRing> keys = keys_->Get();
  if (!keys || token.size() > kMaxTokenBytes) return NotFound();
  auto d = keys->Verify(token, TokenPurpose::kClick);
  if (!d.ok()) return NotFound();
  if (Expired(*d)) return ExpiredClick();
  auto url = links_.Get(d->campaign_id, d->link_index);
  if (!url.ok()) return Text(503, "store unavailable");
  if (!url->has_value() || HasLineBreak(**url)) return NotFound();
  StoredEvent e;
  e.kind = "click";
  e.source = "tracking";
  e.campaign_id = d->campaign_id;
  e.link_index = d->link_index;
  e.detail = SanitizeForLog(**url, 1024);
  if (!clicks_->Add(std::move(e), d->recipient_id)) return Text(503, "store unavailable");
  metrics::Metrics().clicks->WithLabels({d->campaign_id}).Inc();
  return Redirect(**url);
}

HttpResponse FeedbackService::Open(std::string_view token) {
  std::shared_ptr<const TokenKeyRing> keys = keys_->Get();
  if (!keys || token.size() > kMaxTokenBytes) return NotFound();
  auto d = keys->Verify(token, TokenPurpose::kOpen);
  if (!d.ok()) return NotFound();
  StoredEvent e;
  e.kind = "open";
  e.source = "tracking";
  e.campaign_id = d->campaign_id;
  if (!clicks_->Add(std::move(e), d->recipient_id)) return Text(503, "store unavailable");
  metrics::Metrics().opens->WithLabels({d->campaign_id}).Inc();
  HttpResponse r;
  r.content_type = "image/gif";
  r.body.assign(reinterpret_cast<const char*>(kGif), sizeof kGif);
  r.headers.emplace_back("Cache-Control", "no-store, private");
  return r;
}

HttpResponse FeedbackService::Unsubscribe(const HttpRequest& req, std::string_view token) {
  std::shared_ptr<const TokenKeyRing> keys = keys_->Get();
  if (!keys || token.size() > kMaxTokenBytes) return NotFound();
  auto d = keys->Verify(token, TokenPurpose::kUnsubscribe);
  if (!d.ok()) return NotFound();
  // The token is URL-safe base64: it can be put into the page as it is.
  for (char c : token)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return NotFound();
  // The token names the recipient by id: the store knows the address (a preview's recipient
  // that was never stored names nobody).
  const std::string address = tags_->AddressFor(d->recipient_id, d->campaign_id);
  if (address.empty()) return NotFound();
  if (req.method == "GET" || req.method == "HEAD") {
    // No unsubscribe on GET: mail scanners prefetch links. A button POSTs the RFC 8058 body.
    return Html(200, "Unsubscribe",
                absl::StrCat("<h1>Unsubscribe</h1><p>Stop all mail to <b>", HtmlEscape(address),
                             "</b>?</p><form method=\"post\" action=\"/u/", Av(token),
                             "\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
                             "value=\"One-Click\"><input type=\"hidden\" name=\"via\" "
                             "value=\"page\"><button type=\"submit\">Unsubscribe</button>"
                             "</form>"));
  }
  if (req.method != "POST") return Text(405, "method not allowed");
  if (req.body.size() > kMaxUnsubscribeBody) return Text(413, "body too large");
  if (req.body.find("List-Unsubscribe=One-Click") == std::string_view::npos)
    return Text(400, "expected body List-Unsubscribe=One-Click");
  StoredEvent e;
  e.kind = "unsubscribe";
  e.source = "one-click";
  e.event_id = absl::StrCat(d->campaign_id, ":", address);
  e.campaign_id = d->campaign_id;
  e.address = address;
  e.klass = "unsubscribe";
  SuppressionEntry s;
  s.key = address;
  s.reason = SuppressionReason::kUnsubscribe;
  s.source = "one-click";
  s.detail = SanitizeForLog(absl::StrCat("campaign ", d->campaign_id), 512);
  auto applied = events_.ApplyOnce(e, &s);  // suppressed before the 200 is sent
  if (!applied.ok()) return Text(503, "store unavailable; try again");
  // The page's button (a person who followed the link) sends via=page; a mail client's RFC 8058
  // one-click POST does not.
  const bool via_page = req.body.find("via=page") != std::string_view::npos;
  if (*applied) {
    metrics::Metrics()
        .unsubscribes->WithLabels({d->campaign_id, via_page ? "link" : "one_click"})
        .Inc();
  }
  return Html(200, "Unsubscribed",
              absl::StrCat("<h1>Unsubscribed</h1><p><b>", HtmlEscape(address),
                           "</b> will receive no more mail from us.</p>"));
}

bool FeedbackService::Expired(const TokenClaims& c) const {
  const absl::Duration max_age = config_.tracking ? config_.tracking->token_max_age
                                                  : absl::ZeroDuration();
  // issued_at 0: a token from before key ids, whose age is unknown: it stays valid.
  if (max_age <= absl::ZeroDuration() || c.issued_at == 0) return false;
  return ProcessClock().Now() - absl::FromUnixSeconds(c.issued_at) > max_age;
}

HttpResponse FeedbackService::ExpiredClick() const {
  const std::string& to = config_.tracking->expired_url;
  if (to.empty())
    return Html(410, "Link expired", "<h1>Link expired</h1><p>This link has expired.</p>");
  return Redirect(to);
}

HttpResponse FeedbackService::Reject(std::string_view provider, std::string_view reason_label,
                                     int status, std::string_view message) {
  metrics::Metrics().webhook_rejected->WithLabels({provider, reason_label}).Inc();
  HttpResponse r = Text(status, std::string(message));
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"salvo webhooks\"");
  return r;
}

HttpResponse FeedbackService::Webhook(const HttpRequest& req, std::string_view provider_name,
                                      std::string_view account) {
  WebhookProvider p;
  if (!ParseWebhookProvider(provider_name, &p))
    return Reject("unknown", "provider", 404, "unknown webhook provider");
  const std::string_view pname = WebhookProviderName(p);
  const WebhookAuth* auth = &auth_[static_cast<int>(p)];
  if (!account.empty()) {
    auto it = account_hooks_.find(std::string(account));
    if (it == account_hooks_.end() || it->second.provider != p)
      return Reject(pname, "account", 404, "no such account webhook");
    auth = &it->second.auth;
  }
  const WebhookAuth& a = *auth;
  if (req.method != "POST") return Reject(pname, "method", 405, "method not allowed: use POST");
  if (req.body_too_large || req.body.size() > max_body_)
    return Reject(pname, "size", 413, "body too large");
  std::string ct_buf;
  std::string_view ct = Lower(req.header("Content-Type"), &ct_buf);
  const bool json = ct.substr(0, 16) == "application/json";
  const bool sns_text = p == WebhookProvider::kSes && ct.substr(0, 10) == "text/plain";
  if (!json && !sns_text)
    return Reject(pname, "content_type", 415, "unsupported content type: expected application/json");
  const absl::Time now = ProcessClock().Now();
  if (auto refused = CheckBeforeParse(a, req, now))
    return Reject(pname, refused->reason, refused->status, refused->message);
  thread_local std::unique_ptr<WebhookParser> parser;
  thread_local size_t parser_max = 0;
  if (!parser || parser_max != max_body_) {
    parser = std::make_unique<WebhookParser>(max_body_);
    parser_max = max_body_;
  }
  auto payload = parser->Parse(p, req.body);
  if (!payload.ok()) {
    const bool size = payload.status().code() == absl::StatusCode::kOutOfRange;
    return Reject(pname, size ? "size" : "parse", size ? 413 : 400,
                  SanitizeForLog(Sv(payload.status().message()), 300));
  }
  if (auto refused = CheckAfterParse(a, *payload, now))
    return Reject(pname, refused->reason, refused->status, refused->message);
  // Mailgun's signature covers timestamp and token only: a token is good for one post.
  std::string nonce_scope;
  if (!a.mailgun_key.empty()) {
    nonce_scope = absl::StrCat(Av(pname), "/", Av(account));
    const MailgunSignature& sig = *payload->mailgun_signature;
    int64_t ts = 0;
    (void)absl::SimpleAtoi(Av(sig.timestamp), &ts);  // CheckAfterParse: fresh, so it parsed
    auto fresh = nonces_.Claim(nonce_scope, sig.token, absl::ToUnixSeconds(now),
                               ts + absl::ToInt64Seconds(kWebhookMaxSkew));
    if (!fresh.ok()) return Text(503, "store unavailable; retry later");
    if (!*fresh) return Reject(pname, "replay", 401, "token already used");
  }
  if (!payload->note.empty()) std::fprintf(stderr, "salvo serve: %s\n", payload->note.c_str());
  ApplyCounts counts;
  absl::Status st = Apply(payload->events, "webhook", &counts, account);
  if (!st.ok()) {
    if (!nonce_scope.empty())
      (void)nonces_.Release(nonce_scope, payload->mailgun_signature->token);  // the retry must pass
    std::fprintf(stderr, "salvo serve: %s webhook: %s\n", std::string(pname).c_str(),
                 std::string(st.message()).c_str());
    return Text(503, "store unavailable; retry later");
  }
  HttpResponse r;
  r.content_type = "application/json";
  r.body = absl::StrCat("{\"events\":", counts.events, ",\"applied\":", counts.applied,
                        ",\"duplicates\":", counts.duplicates, ",\"suppressed\":", counts.suppressed,
                        account.empty() ? "" : ",\"account\":", account.empty() ? "" : JsonString(account),
                        "}\n");
  return r;
}

}  // namespace salvo
