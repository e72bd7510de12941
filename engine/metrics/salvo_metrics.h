// Every salvo metric family, declared in one place (names are a contract with dashboards and
// alerts: extend, never rename). Conventions: salvo_ prefix, _total on counters, base units
// (seconds, bytes). No I/O.
//
// How code gets at them:
//   - The process-wide instance is metrics::Metrics() (families registered on first call in
//     DefaultRegistry(); thread-safe). The campaign runner and the daemon use it directly.
//   - Worker index: the shard runtime calls metrics::SetThreadWorker(i) (engine/metrics/
//     registry.h) at the start of worker thread i (0..N-1); every other thread keeps the shared
//     slot. Updates are then lock-free and never share cache lines between workers.
//   - Resolve handles once, update many times:
//       auto& m = metrics::Metrics();
//       metrics::MessageCounters mc = m.Messages(campaign, route, account, source_ip);  // lock
//       mc.For(Outcome::kDelivered).Inc();                                              // no lock
//       metrics::Counter bytes = m.sent_bytes->WithLabels({account, source_ip});
//       bytes.Add(n);
//       m.smtp_transaction_seconds->WithLabels({account}).Observe(0.012);
//       m.throttle_events->WithLabels({account, m.Domain(rcpt_domain)}).Inc();
//   - /metrics and the metrics file serve metrics::MetricsText() with Content-Type
//     metrics::kContentType (engine/metrics/exposition.h).
//   - At startup, `salvo send` / `salvo serve` call Metrics().Configure(config.metrics) so that
//     Domain() uses [metrics] top_domains.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/types.h"
#include "engine/config/config.h"
#include "engine/metrics/exposition.h"
#include "engine/metrics/labels.h"
#include "engine/metrics/registry.h"

namespace salvo::metrics {

// Bucket bounds (seconds).
inline constexpr std::array<double, 14> kSmtpLatencyBounds = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
inline constexpr std::array<double, 12> kCpuTimeBounds = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1};

// Handles of salvo_messages_total for one (campaign, route, account, source_ip): one counter per
// outcome in the contract (delivered, deferred, bounced, failed, suppressed, no_consent).
struct MessageCounters {
  Counter delivered, deferred, bounced, failed, suppressed, no_consent;
  // The counter for `o`; a detached counter for kPending and kOutsideSegment.
  const Counter& For(Outcome o) const;
};

class SalvoMetrics {
 public:
  // Registers every family in `registry` (aborts on a registration error: the names are
  // constants, so that is a bug caught by the unit tests).
  explicit SalvoMetrics(Registry& registry);

  // Sets the domain top list ([metrics] top_domains). Call before workers start; safe anyway
  // (earlier lists stay alive so views returned by Domain() never dangle).
  void Configure(const MetricsConfig& config);
  // `domain` when it is in the top list, else "other" (case-insensitive). Lock-free.
  std::string_view Domain(std::string_view domain) const;

  // salvo_messages_total handles for one sending context (takes the registry lock 6 times).
  MessageCounters Messages(std::string_view campaign, std::string_view route,
                           std::string_view account, std::string_view source_ip);

  Registry& registry() const { return *registry_; }

  // --- families (never null) ---
  // Final (or current, for deferred) outcome of each recipient.
  // salvo_messages_total{outcome, campaign, route, account, source_ip}
  CounterFamily* messages;
  // SMTP replies that decided a recipient or a connection step.
  // salvo_smtp_replies_total{account, class="2xx|3xx|4xx|5xx|none", enhanced_class="2|4|5|none"}
  CounterFamily* smtp_replies;
  // salvo_connections_open{account, source_ip}  (gauge: Inc on connect, Dec on close)
  GaugeFamily* connections_open;
  // salvo_connections_opened_total{account, source_ip}
  CounterFamily* connections_opened;
  // salvo_connection_errors_total{account, source_ip, kind="connect|timeout|tls|auth|protocol|closed|dns"}
  CounterFamily* connection_errors;
  // salvo_tls_handshakes_total{account} (started) / salvo_tls_handshake_failures_total{account}
  CounterFamily* tls_handshakes;
  CounterFamily* tls_handshake_failures;
  // salvo_smtp_auth_failures_total{account}
  CounterFamily* auth_failures;
  // A send held back by a rate or connection limit: salvo_throttle_events_total{account, domain}
  CounterFamily* throttle_events;
  // A deferral that scheduled a retry with backoff: salvo_backoff_events_total{account, domain}
  CounterFamily* backoff_events;
  // 1 while an account is paused for `reason` (auth, rate_limited, daily_limit, errors, manual),
  // 0 after: salvo_accounts_paused{account, reason}
  GaugeFamily* accounts_paused;
  // Per worker: recipients waiting / messages on the wire. salvo_queue_depth{worker},
  // salvo_messages_in_flight{worker}   (worker label: WorkerLabel(i); Set by the owning worker)
  GaugeFamily* queue_depth;
  GaugeFamily* in_flight;
  // MAIL FROM to the end-of-data reply: salvo_smtp_transaction_seconds{account}
  HistogramFamily* smtp_transaction_seconds;
  // Rendering one message: salvo_render_seconds{}
  HistogramFamily* render_seconds;
  // DKIM signing one message: salvo_dkim_sign_seconds{algorithm="rsa-sha256|ed25519-sha256"}
  HistogramFamily* dkim_sign_seconds;
  // Message bytes written to SMTP servers: salvo_sent_bytes_total{account, source_ip}
  CounterFamily* sent_bytes;
  // Feedback events accepted: salvo_webhook_events_total{provider, class} (class:
  // FeedbackClassName: hard_bounce, soft_bounce, complaint, unsubscribe, ignore)
  CounterFamily* webhook_events;
  // Webhook requests refused: salvo_webhook_rejected_total{provider, reason="signature|parse|size|auth"}
  CounterFamily* webhook_rejected;
  // salvo_clicks_total{campaign}, salvo_opens_total{campaign},
  // salvo_unsubscribes_total{campaign, source="one_click|link|mailto|webhook|cli"}
  CounterFamily* clicks;
  CounterFamily* opens;
  CounterFamily* unsubscribes;
  // Entries in the global suppression list: salvo_suppression_list_size{}
  GaugeFamily* suppression_list_size;
  // Entries of salvo serve's durable queue by state (queued, in_flight, deferred, delivered, ...):
  // salvo_queue_messages{state}, set by the delivery loop every 5 s
  GaugeFamily* queue_messages;
  // Errors that did not stop the work (each also said once on stderr with its context), e.g. a
  // status file that cannot be written: salvo_errors_total{component="runner", what}
  CounterFamily* errors;
  // Always 1: salvo_build_info{version}
  GaugeFamily* build_info;

 private:
  Registry* registry_;
  std::mutex mu_;  // Configure
  std::vector<std::unique_ptr<DomainBucketer>> bucketers_;  // all ever configured
  std::atomic<const DomainBucketer*> bucketer_{nullptr};
};

// The process-wide instance over DefaultRegistry(), created on first use.
SalvoMetrics& Metrics();

// What GET /metrics serves: the exposition text of DefaultRegistry() (with every salvo family).
std::string MetricsText();
// Called at the start of every MetricsText() (gauges read from elsewhere, e.g. the suppression
// list size from the store). nullptr clears it; set and clear it while no scrape can run
// concurrently with the owner's teardown (the daemon clears it before closing its store).
void SetScrapeHook(std::function<void()> hook);

// Label values.
std::string_view WorkerLabel(int worker);                    // "0".."63", else "other"
std::string_view ReplyClassLabel(int code);                  // 250 -> "2xx"; 0/invalid -> "none"
std::string_view EnhancedClassLabel(std::string_view enhanced);  // "5.1.1" -> "5"; else "none"
// smtp_replies->WithLabels({account, ReplyClassLabel(code), EnhancedClassLabel(enhanced)})
Counter SmtpReplyCounter(SalvoMetrics& m, std::string_view account, int code,
                         std::string_view enhanced);

}  // namespace salvo::metrics
