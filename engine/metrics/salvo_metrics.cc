// Registration of every salvo metric family and the label helpers (see salvo_metrics.h).
#include "engine/metrics/salvo_metrics.h"

#include <cstdio>
#include <cstdlib>

namespace salvo::metrics {

namespace {

template <typename T>
T* OrDie(absl::StatusOr<T*> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "salvo: metrics registration: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return *r;
}

FamilyOptions Bounded(std::vector<std::string> labels, size_t max_children = 2000) {
  FamilyOptions o;
  o.bounded_labels = std::move(labels);
  o.max_children = max_children;
  return o;
}

const Counter kDetached;
constexpr std::string_view kSalvoVersion = "0.1.0";  // keep in step with meson.build

}  // namespace

const Counter& MessageCounters::For(Outcome o) const {
  switch (o) {
    case Outcome::kDelivered: return delivered;
    case Outcome::kDeferred: return deferred;
    case Outcome::kBounced: return bounced;
    case Outcome::kFailed: return failed;
    case Outcome::kSuppressed: return suppressed;
    case Outcome::kNoConsent: return no_consent;
    case Outcome::kPending:
    case Outcome::kOutsideSegment: break;
  }
  return kDetached;
}

SalvoMetrics::SalvoMetrics(Registry& r) : registry_(&r) {
  const std::vector<double> latency(kSmtpLatencyBounds.begin(), kSmtpLatencyBounds.end());
  const std::vector<double> cpu(kCpuTimeBounds.begin(), kCpuTimeBounds.end());
  messages = OrDie(r.AddCounter(
      "salvo_messages_total",
      "Recipients by outcome (delivered, deferred, bounced, failed, suppressed, no_consent).",
      {"outcome", "campaign", "route", "account", "source_ip"}, Bounded({"outcome"}, 10000)));
  smtp_replies = OrDie(r.AddCounter(
      "salvo_smtp_replies_total", "SMTP replies by basic class and enhanced status class.",
      {"account", "class", "enhanced_class"}, Bounded({"class", "enhanced_class"})));
  connections_open = OrDie(r.AddGauge("salvo_connections_open", "SMTP connections open now.",
                                      {"account", "source_ip"}));
  connections_opened = OrDie(r.AddCounter("salvo_connections_opened_total",
                                          "SMTP connections opened.", {"account", "source_ip"}));
  connection_errors = OrDie(r.AddCounter(
      "salvo_connection_errors_total",
      "SMTP connection failures by kind (connect, timeout, tls, auth, protocol, closed, dns).",
      {"account", "source_ip", "kind"}, Bounded({"kind"})));
  tls_handshakes = OrDie(r.AddCounter("salvo_tls_handshakes_total", "TLS handshakes started.",
                                      {"account"}));
  tls_handshake_failures = OrDie(r.AddCounter("salvo_tls_handshake_failures_total",
                                              "TLS handshakes that failed.", {"account"}));
  auth_failures = OrDie(r.AddCounter("salvo_smtp_auth_failures_total",
                                     "SMTP AUTH attempts refused by the server.", {"account"}));
  throttle_events = OrDie(r.AddCounter(
      "salvo_throttle_events_total",
      "Sends held back by a rate or connection limit, by account and destination domain.",
      {"account", "domain"}));
  backoff_events = OrDie(r.AddCounter(
      "salvo_backoff_events_total",
      "Deferrals that scheduled a retry with backoff, by account and destination domain.",
      {"account", "domain"}));
  accounts_paused = OrDie(r.AddGauge("salvo_accounts_paused",
                                     "1 while the account is paused for the reason, else 0.",
                                     {"account", "reason"}, Bounded({"reason"})));
  queue_depth = OrDie(r.AddGauge("salvo_queue_depth", "Recipients queued in the worker.",
                                 {"worker"}));
  in_flight = OrDie(r.AddGauge("salvo_messages_in_flight",
                               "Messages handed to SMTP and not yet answered, per worker.",
                               {"worker"}));
  smtp_transaction_seconds = OrDie(r.AddHistogram(
      "salvo_smtp_transaction_seconds",
      "Time from MAIL FROM to the end-of-data reply of one SMTP transaction.", {"account"},
      latency));
  render_seconds = OrDie(r.AddHistogram("salvo_render_seconds",
                                        "CPU time to render one message.", {}, cpu));
  dkim_sign_seconds = OrDie(r.AddHistogram("salvo_dkim_sign_seconds",
                                           "CPU time to DKIM-sign one message.", {"algorithm"},
                                           cpu, Bounded({"algorithm"})));
  sent_bytes = OrDie(r.AddCounter("salvo_sent_bytes_total",
                                  "Message bytes written to SMTP servers.",
                                  {"account", "source_ip"}));
  webhook_events = OrDie(r.AddCounter(
      "salvo_webhook_events_total", "Provider feedback events accepted, by provider and class.",
      {"provider", "class"}, Bounded({"class"})));
  webhook_rejected = OrDie(r.AddCounter("salvo_webhook_rejected_total",
                                        "Webhook requests refused, by provider and reason.",
                                        {"provider", "reason"}, Bounded({"reason"})));
  clicks = OrDie(r.AddCounter("salvo_clicks_total", "Tracked link clicks.", {"campaign"}));
  opens = OrDie(r.AddCounter("salvo_opens_total", "Tracked opens.", {"campaign"}));
  unsubscribes = OrDie(r.AddCounter("salvo_unsubscribes_total",
                                    "Unsubscribes, by campaign and source.",
                                    {"campaign", "source"}, Bounded({"source"})));
  suppression_list_size = OrDie(r.AddGauge("salvo_suppression_list_size",
                                           "Entries in the global suppression list.", {}));
  queue_messages = OrDie(r.AddGauge("salvo_queue_messages",
                                    "Entries of the daemon's message queue, by state.", {"state"}));
  errors = OrDie(r.AddCounter("salvo_errors_total",
                              "Errors that did not stop the work, by component and what failed.",
                              {"component", "what"}));
  build_info = OrDie(r.AddGauge("salvo_build_info", "Always 1; the salvo version.", {"version"}));
  build_info->WithLabels({kSalvoVersion}).Set(1);
  render_seconds->WithLabels(std::span<const std::string_view>());
  suppression_list_size->WithLabels(std::span<const std::string_view>());
  Configure(MetricsConfig());
}

void SalvoMetrics::Configure(const MetricsConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  bucketers_.push_back(std::make_unique<DomainBucketer>(config.top_domains));
  bucketer_.store(bucketers_.back().get(), std::memory_order_release);
}

std::string_view SalvoMetrics::Domain(std::string_view domain) const {
  return bucketer_.load(std::memory_order_acquire)->Bucket(domain);
}

MessageCounters SalvoMetrics::Messages(std::string_view campaign, std::string_view route,
                                       std::string_view account, std::string_view source_ip) {
  MessageCounters m;
  m.delivered = messages->WithLabels({"delivered", campaign, route, account, source_ip});
  m.deferred = messages->WithLabels({"deferred", campaign, route, account, source_ip});
  m.bounced = messages->WithLabels({"bounced", campaign, route, account, source_ip});
  m.failed = messages->WithLabels({"failed", campaign, route, account, source_ip});
  m.suppressed = messages->WithLabels({"suppressed", campaign, route, account, source_ip});
  m.no_consent = messages->WithLabels({"no_consent", campaign, route, account, source_ip});
  return m;
}

SalvoMetrics& Metrics() {
  static SalvoMetrics* m = new SalvoMetrics(DefaultRegistry());
  return *m;
}

namespace {
std::mutex& HookMutex() {
  static std::mutex mu;
  return mu;
}
std::function<void()>& Hook() {
  static std::function<void()> hook;
  return hook;
}
}  // namespace

void SetScrapeHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(HookMutex());
  Hook() = std::move(hook);
}

std::string MetricsText() {
  Metrics();
  {
    std::lock_guard<std::mutex> lock(HookMutex());
    if (Hook()) Hook()();
  }
  return RenderText(DefaultRegistry());
}

std::string_view WorkerLabel(int worker) {
  static const std::vector<std::string>* labels = [] {
    auto* v = new std::vector<std::string>();
    for (int i = 0; i < kMaxWorkers; ++i) v->push_back(std::to_string(i));
    return v;
  }();
  if (worker < 0 || worker >= kMaxWorkers) return kOther;
  return (*labels)[static_cast<size_t>(worker)];
}

std::string_view ReplyClassLabel(int code) {
  switch (code / 100) {
    case 2: return code < 600 && code >= 200 ? "2xx" : "none";
    case 3: return "3xx";
    case 4: return "4xx";
    case 5: return "5xx";
    default: return "none";
  }
}

std::string_view EnhancedClassLabel(std::string_view enhanced) {
  if (enhanced.size() >= 2 && enhanced[1] == '.') {
    switch (enhanced[0]) {
      case '2': return "2";
      case '4': return "4";
      case '5': return "5";
      default: break;
    }
  }
  return "none";
}

Counter SmtpReplyCounter(SalvoMetrics& m, std::string_view account, int code,
                         std::string_view enhanced) {
  return m.smtp_replies->WithLabels({account, ReplyClassLabel(code), EnhancedClassLabel(enhanced)});
}

}  // namespace salvo::metrics
