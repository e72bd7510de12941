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
#include <map>
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
#include "engine/links/key_ring_slot.h"
#include "engine/links/token.h"
#include "store/event_store.h"
#include "store/link_store.h"
#include "store/store.h"
#include "store/suppression_store.h"
#include "store/webhook_nonce_store.h"
#include "tools/salvo/bounce_tag_resolver.h"
#include "tools/salvo/event_batcher.h"
#include "tools/salvo/http_reply.h"
#include "tools/salvo/webhook_auth.h"

namespace salvo {

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
  // `keys`: the daemon's tracking key ring, which it reloads on SIGHUP (it outlives the
  // service); null: a ring of the [tracking] keys of `config`, fixed for the service's life.
  [[nodiscard]]
  static absl::StatusOr<std::unique_ptr<FeedbackService>> Create(const Config& config, Store* store,
                                                                 bool webhook_auth = true,
                                                                 const KeyRingSlot* keys = nullptr);

  // Routes one HTTP request: /c/, /o/, /u/, /webhooks/{provider}[/{account}], /healthz, /metrics.
  HttpResponse Handle(const HttpRequest& req);

  // Applies classified events (webhooks, DSN, ARF): suppression for hard bounces, complaints and
  // unsubscribes (source = provider), each event exactly once.
  // `account`: the [[account]] whose webhook URL the events came by ("" otherwise): counted
  // for it in salvo_account_webhook_events_total.
  [[nodiscard]] absl::Status Apply(const std::vector<FeedbackEvent>& events, std::string_view kind,
                     ApplyCounts* counts, std::string_view account = "");

  // The verifier for salvo's VERP / X-Salvo-ID tags (nullptr-safe when no tracking secret).
  BounceTagVerifier TagVerifier() const;

  // Providers whose /webhooks/{provider} refuses every post (no verification configured and
  // no allow_unsigned): for the start-up notice.
  std::vector<std::string> ClosedProviders() const;
  bool tracking_enabled() const { return keys_->Get() != nullptr; }

  // Resolves tags (VERP, X-Salvo-ID, mailto unsubscribe); null without a tracking secret.
  BounceTagResolver* tags() const { return tags_.get(); }

 private:
  struct AccountHook {
    WebhookProvider provider;
    WebhookAuth auth;
  };

  FeedbackService(const Config& config, Store* store);
  HttpResponse Click(std::string_view token);
  // A click token older than [tracking] token_max_age, and what such a click gets: a redirect
  // to expired_url, or a plain page.
  bool Expired(const TokenClaims& claims) const;
  HttpResponse ExpiredClick() const;
  HttpResponse Open(std::string_view token);
  HttpResponse Unsubscribe(const HttpRequest& req, std::string_view token);
  // `account`: "" for /webhooks/{provider}, else the [[account]] of /webhooks/{provider}/{account}.
  HttpResponse Webhook(const HttpRequest& req, std::string_view provider_name,
                       std::string_view account);
  // A hard bounce of a queued message (its tag names the entry): the entry becomes bounced.
  void MarkQueuedBounced(const FeedbackEvent& ev);
  HttpResponse Reject(std::string_view provider, std::string_view reason_label, int status,
                      std::string_view message);

  const Config& config_;
  Store* store_;
  EventStore events_;
  LinkStore links_;
  KeyRingSlot own_keys_;                     // without a daemon's slot: config's keys
  const KeyRingSlot* keys_ = &own_keys_;     // null ring: no [tracking] secret
  std::unique_ptr<BounceTagResolver> tags_;  // set when tracking is configured
  std::unique_ptr<EventBatcher> clicks_;     // click / open events; set with tags_; declared
                                             // after events_ so it stops (and flushes) first
  WebhookAuth auth_[kWebhookProviderCount];            // /webhooks/{provider}
  std::map<std::string, AccountHook> account_hooks_;  // /webhooks/{provider}/{account}
  WebhookNonceStore nonces_;                          // Mailgun tokens already used
  size_t max_body_;
  std::vector<std::string> warnings_;                 // SecurityWarnings: also on /healthz
};

}  // namespace salvo
