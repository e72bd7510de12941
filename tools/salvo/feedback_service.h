// The feedback service behind `salvo serve`'s HTTP endpoints and `salvo bounces ingest`: verifies
// tracking tokens and webhook signatures, parses with engine/feedback, and applies events to the
// store (events + idempotency markers, global suppression). Independent of the HTTP library: a
// request comes in as method, path, headers and body and leaves as status, headers and body.
// Trust: everything in a request is hostile; nothing is applied before the whole body parsed and
// its signature (when configured) verified, and a redirect only ever goes to a URL from the
// campaign's link table, never to one taken from the request.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/feedback/feedback_event.h"
#include "engine/feedback/report_parser.h"
#include "engine/feedback/webhook_parser.h"
#include "engine/feedback/webhook_signature.h"
#include "engine/links/token.h"
#include "store/event_store.h"
#include "store/link_store.h"
#include "store/store.h"
#include "store/suppression_store.h"
#include "tools/salvo/bounce_tag_resolver.h"
#include "tools/salvo/event_batcher.h"

namespace salvo {

struct HttpRequest {
  std::string_view method;
  std::string_view path;  // without the query string
  std::function<std::string_view(std::string_view name)> header;  // "" when absent
  std::string_view body;
  bool body_too_large = false;  // the body was refused unread (over [http] max_body_bytes)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, ...)
};

// What applying a batch of events did.
struct ApplyCounts {
  uint64_t events = 0;      // events in the input
  uint64_t applied = 0;     // new events recorded
  uint64_t duplicates = 0;  // seen before: nothing changed
  uint64_t suppressed = 0;  // new suppression entries written
  uint64_t unusable = 0;    // recipient missing or not a valid address (recorded, not suppressed)
};

class FeedbackService {
 public:
  // Loads webhook keys (env / files) and the tracking secret. Errors name the provider and key.
  // `webhook_auth` false: skip [webhooks.*] keys (salvo bounces ingest needs none).
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<FeedbackService>> Create(const Config& config, Store* store,
                                                                 bool webhook_auth = true);

  // Routes one HTTP request: /c/, /o/, /u/, /webhooks/{provider}, /healthz, /metrics.
  HttpResponse Handle(const HttpRequest& req);

  // Applies classified events (webhooks, DSN, ARF): suppression for hard bounces, complaints and
  // unsubscribes (source = provider), each event exactly once.
  [[nodiscard]] absl::Status Apply(const std::vector<FeedbackEvent>& events, std::string_view kind,
                     ApplyCounts* counts);

  // The verifier for salvo's VERP / X-Salvo-ID tags (nullptr-safe when no tracking secret).
  BounceTagVerifier TagVerifier() const;

  // One line per provider that accepts unauthenticated posts (for the start-up warning).
  std::vector<std::string> UnauthenticatedProviders() const;
  bool tracking_enabled() const { return signer_ != nullptr; }

 private:
  struct ProviderAuth {
    bool configured = false;
    std::string mailgun_key;
    std::optional<SendGridVerifier> sendgrid;
    std::optional<SnsVerifier> sns;
    std::string basic_user, basic_password;
  };

  FeedbackService(const Config& config, Store* store);
  HttpResponse Click(std::string_view token);
  HttpResponse Open(std::string_view token);
  HttpResponse Unsubscribe(const HttpRequest& req, std::string_view token);
  HttpResponse Webhook(const HttpRequest& req, std::string_view provider_name);
  // A hard bounce of a queued message (its tag names the entry): the entry becomes bounced.
  void MarkQueuedBounced(const FeedbackEvent& ev);
  HttpResponse Reject(std::string_view provider, std::string_view reason_label, int status,
                      std::string_view message);

  const Config& config_;
  Store* store_;
  EventStore events_;
  LinkStore links_;
  std::unique_ptr<TokenSigner> signer_;
  std::unique_ptr<BounceTagResolver> tags_;  // set with signer_
  std::unique_ptr<EventBatcher> clicks_;     // click / open events; set with signer_; declared
                                             // after events_ so it stops (and flushes) first
  ProviderAuth auth_[kWebhookProviderCount];
  size_t max_body_;
};

}  // namespace salvo
