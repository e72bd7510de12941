// Feedback service request handling. See feedback_service.h.
#include "tools/salvo/feedback_service.h"

#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/clock.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/metrics/salvo_metrics.h"
#include "store/queue_store.h"

namespace salvo {
namespace {

// A 1x1 transparent GIF.
constexpr unsigned char kGif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

constexpr size_t kMaxTokenBytes = 1024;
constexpr size_t kMaxUnsubscribeBody = 4096;

[[nodiscard]] absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  return ReadFile(path, 64 * 1024, "key file");
}

std::string TrimNl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

[[nodiscard]] absl::StatusOr<std::string> SecretFrom(std::string_view what, const std::string& env,
                                       const std::string& file) {
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (!v || !*v)
      return absl::FailedPreconditionError(
          absl::StrCat(Av(what), ": environment variable ", env, " is not set"));
    return std::string(v);
  }
  if (!file.empty()) {
    auto s = ReadSmallFile(file);
    if (!s.ok()) return absl::FailedPreconditionError(absl::StrCat(Av(what), ": ", s.status().message()));
    return TrimNl(*s);
  }
  return std::string();
}

bool ConstantEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body.push_back('\n');
  return r;
}

HttpResponse Html(int status, std::string_view title, std::string_view inner) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = absl::StrCat("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", Av(title),
                        "</title><meta name=\"robots\" content=\"noindex\"></head>\n<body>", Av(inner),
                        "</body></html>\n");
  r.headers.emplace_back("Cache-Control", "no-store");
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
      max_body_(config.http.max_body_bytes) {}

absl::StatusOr<std::unique_ptr<FeedbackService>> FeedbackService::Create(const Config& config,
                                                                        Store* store,
                                                                        bool webhook_auth) {
  std::unique_ptr<FeedbackService> s(new FeedbackService(config, store));
  if (config.tracking && !config.tracking->secret.empty()) {
    s->signer_ = std::make_unique<TokenSigner>(config.tracking->secret);
    s->tags_ = std::make_unique<BounceTagResolver>(store, s->signer_.get());
    s->clicks_ = std::make_unique<EventBatcher>(&s->events_);
  }
  for (const auto& [name, w] : config.webhooks) {
    if (!webhook_auth) break;
    WebhookProvider p;
    if (!ParseWebhookProvider(name, &p))
      return absl::InvalidArgumentError(absl::StrCat("[webhooks.", name, "]: unknown provider"));
    ProviderAuth& a = s->auth_[static_cast<int>(p)];
    const std::string what = absl::StrCat("[webhooks.", name, "]");
    if (!w.signing_key_env.empty() || !w.signing_key_file.empty()) {
      if (p != WebhookProvider::kMailgun)
        return absl::InvalidArgumentError(absl::StrCat(what, ": signing_key_* is for mailgun only"));
      ASSIGN_OR_RETURN(a.mailgun_key, SecretFrom(what, w.signing_key_env, w.signing_key_file));
      a.configured = true;
    }
    if (!w.public_key.empty() || !w.public_key_file.empty()) {
      if (p != WebhookProvider::kSendGrid)
        return absl::InvalidArgumentError(absl::StrCat(what, ": public_key* is for sendgrid only"));
      std::string text = w.public_key;
      if (text.empty()) {
        auto f = ReadSmallFile(w.public_key_file);
        if (!f.ok()) return absl::FailedPreconditionError(absl::StrCat(what, " public_key_file: ", f.status().message()));
        text = *f;
      }
      auto v = SendGridVerifier::Create(text);
      if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", v.status().message()));
      a.sendgrid = *v;
      a.configured = true;
    }
    if (!w.cert_file.empty()) {
      if (p != WebhookProvider::kSes)
        return absl::InvalidArgumentError(absl::StrCat(what, ": cert_file is for ses only"));
      auto f = ReadSmallFile(w.cert_file);
      if (!f.ok()) return absl::FailedPreconditionError(absl::StrCat(what, " cert_file: ", f.status().message()));
      auto v = SnsVerifier::Create(*f);
      if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat(what, " cert_file: ", v.status().message()));
      a.sns = *v;
      a.configured = true;
    }
    if (!w.basic_auth_user.empty()) {
      a.basic_user = w.basic_auth_user;
      ASSIGN_OR_RETURN(a.basic_password, SecretFrom(what, w.basic_auth_password_env,
                                                    w.basic_auth_password_file));
      a.configured = true;
    }
  }
  return s;
}

std::vector<std::string> FeedbackService::UnauthenticatedProviders() const {
  std::vector<std::string> out;
  for (int i = 0; i < kWebhookProviderCount; ++i)
    if (!auth_[i].configured) out.emplace_back(WebhookProviderName(static_cast<WebhookProvider>(i)));
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
                                    ApplyCounts* counts) {
  // Chunks keep each RocksDB write batch (and the time the apply lock is held) bounded.
  constexpr size_t kChunk = 4096;
  std::vector<StoredEvent> stored;
  std::vector<SuppressionEntry> entries;
  std::vector<const SuppressionEntry*> supp;
  std::vector<bool> applied;
  std::map<std::pair<std::string, FeedbackClass>, uint64_t> by_class;
  std::map<std::string, uint64_t> unsub_by_campaign;
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
      if (ev.klass == FeedbackClass::kUnsubscribe) ++unsub_by_campaign[ev.campaign_id];
    }
  }
  auto& m = metrics::Metrics();
  for (const auto& [k, v] : by_class)
    m.webhook_events->WithLabels({k.first, FeedbackClassName(k.second)}).Add(v);
  for (const auto& [c, v] : unsub_by_campaign) m.unsubscribes->WithLabels({c, "webhook"}).Add(v);
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
  if (path == "/healthz") return Text(200, "ok");
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
  if (auto t = tail("/webhooks/")) return Webhook(req, *t);
  return Text(404, "not found");
}

HttpResponse FeedbackService::Click(std::string_view token) {
  if (!signer_ || token.size() > kMaxTokenBytes) return NotFound();
  auto d = signer_->Verify(token);
  if (!d.ok() || d->kind != TokenKind::kClick) return NotFound();
  auto url = links_.Get(d->campaign_id, d->link_index);
  if (!url.ok()) return Text(503, "store unavailable");
  if (!url->has_value() || HasLineBreak(**url)) return NotFound();
  StoredEvent e;
  e.kind = "click";
  e.source = "tracking";
  e.campaign_id = d->campaign_id;
  e.address = d->address_key;
  e.link_index = d->link_index;
  e.detail = SanitizeForLog(**url, 1024);
  if (!clicks_->Add(std::move(e))) return Text(503, "store unavailable");
  metrics::Metrics().clicks->WithLabels({d->campaign_id}).Inc();
  HttpResponse r;
  r.status = 302;
  r.headers.emplace_back("Location", **url);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.content_type = "text/html; charset=utf-8";
  r.body = absl::StrCat("<a href=\"", HtmlEscape(**url), "\">continue</a>\n");
  return r;
}

HttpResponse FeedbackService::Open(std::string_view token) {
  if (!signer_ || token.size() > kMaxTokenBytes) return NotFound();
  auto d = signer_->Verify(token);
  if (!d.ok() || d->kind != TokenKind::kOpen) return NotFound();
  StoredEvent e;
  e.kind = "open";
  e.source = "tracking";
  e.campaign_id = d->campaign_id;
  e.address = d->address_key;
  if (!clicks_->Add(std::move(e))) return Text(503, "store unavailable");
  metrics::Metrics().opens->WithLabels({d->campaign_id}).Inc();
  HttpResponse r;
  r.content_type = "image/gif";
  r.body.assign(reinterpret_cast<const char*>(kGif), sizeof kGif);
  r.headers.emplace_back("Cache-Control", "no-store, private");
  return r;
}

HttpResponse FeedbackService::Unsubscribe(const HttpRequest& req, std::string_view token) {
  if (!signer_ || token.size() > kMaxTokenBytes) return NotFound();
  auto d = signer_->Verify(token);
  if (!d.ok() || d->kind != TokenKind::kUnsubscribe) return NotFound();
  // The token is URL-safe base64: it can be put into the page as it is.
  for (char c : token)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return NotFound();
  if (req.method == "GET" || req.method == "HEAD") {
    // No unsubscribe on GET: mail scanners prefetch links. A button POSTs the RFC 8058 body.
    return Html(200, "Unsubscribe",
                absl::StrCat("<h1>Unsubscribe</h1><p>Stop all mail to <b>", HtmlEscape(d->address_key),
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
  e.event_id = absl::StrCat(d->campaign_id, ":", d->address_key);
  e.campaign_id = d->campaign_id;
  e.address = d->address_key;
  e.klass = "unsubscribe";
  SuppressionEntry s;
  s.key = d->address_key;
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
              absl::StrCat("<h1>Unsubscribed</h1><p><b>", HtmlEscape(d->address_key),
                           "</b> will receive no more mail from us.</p>"));
}

HttpResponse FeedbackService::Reject(std::string_view provider, std::string_view reason_label,
                                     int status, std::string_view message) {
  metrics::Metrics().webhook_rejected->WithLabels({provider, reason_label}).Inc();
  HttpResponse r = Text(status, std::string(message));
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"salvo webhooks\"");
  return r;
}

HttpResponse FeedbackService::Webhook(const HttpRequest& req, std::string_view provider_name) {
  WebhookProvider p;
  if (!ParseWebhookProvider(provider_name, &p))
    return Reject("unknown", "provider", 404, "unknown webhook provider");
  const std::string_view pname = WebhookProviderName(p);
  if (req.method != "POST") return Reject(pname, "method", 405, "method not allowed: use POST");
  if (req.body_too_large || req.body.size() > max_body_)
    return Reject(pname, "size", 413, "body too large");
  std::string ct_buf;
  std::string_view ct = Lower(req.header("Content-Type"), &ct_buf);
  const bool json = ct.substr(0, 16) == "application/json";
  const bool sns_text = p == WebhookProvider::kSes && ct.substr(0, 10) == "text/plain";
  if (!json && !sns_text)
    return Reject(pname, "content_type", 415, "unsupported content type: expected application/json");
  const ProviderAuth& a = auth_[static_cast<int>(p)];
  if (!a.basic_user.empty()) {
    std::string_view h = req.header("Authorization");
    std::string decoded;
    bool ok = h.size() > 6 && h.size() < 1024 && absl::EqualsIgnoreCase(Av(h.substr(0, 6)), "Basic ") &&
              absl::Base64Unescape(Av(h.substr(6)), &decoded);
    if (!ok || !ConstantEq(decoded, absl::StrCat(a.basic_user, ":", a.basic_password)))
      return Reject(pname, "auth", 401, "authentication required");
  }
  if (a.sendgrid) {
    absl::Status st = a.sendgrid->Verify(req.header("X-Twilio-Email-Event-Webhook-Timestamp"),
                                         req.body,
                                         req.header("X-Twilio-Email-Event-Webhook-Signature"));
    if (!st.ok()) return Reject(pname, "signature", 401, "bad or missing signature");
  }
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
  if (!a.mailgun_key.empty()) {
    if (!payload->mailgun_signature || !VerifyMailgunSignature(a.mailgun_key, *payload->mailgun_signature))
      return Reject(pname, "signature", 401, "bad or missing signature");
  }
  if (a.sns) {
    if (!payload->sns || !a.sns->Verify(*payload->sns).ok())
      return Reject(pname, "signature", 401, "bad or missing signature");
  }
  if (!payload->note.empty()) std::fprintf(stderr, "salvo serve: %s\n", payload->note.c_str());
  ApplyCounts counts;
  absl::Status st = Apply(payload->events, "webhook", &counts);
  if (!st.ok()) {
    std::fprintf(stderr, "salvo serve: %s webhook: %s\n", std::string(pname).c_str(),
                 std::string(st.message()).c_str());
    return Text(503, "store unavailable; retry later");
  }
  HttpResponse r;
  r.content_type = "application/json";
  r.body = absl::StrCat("{\"events\":", counts.events, ",\"applied\":", counts.applied,
                        ",\"duplicates\":", counts.duplicates, ",\"suppressed\":", counts.suppressed,
                        "}\n");
  return r;
}

}  // namespace salvo
