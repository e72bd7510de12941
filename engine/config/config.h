// salvo.toml: typed, validated configuration. Unknown keys and wrong types are errors that name
// the key, the file and the line (`salvo.toml:12: unknown key "acount.name"`).
//
// Every section any module reads lives here so that one parser can reject unknown keys. When a
// feature needs a new key, add the field here and its parsing in config.cc (same section), and
// document it in README.md's config reference.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config/responder_config.h"
#include "engine/config/submission.h"

namespace salvo {

enum class TlsMode { kStartTls, kImplicit, kNone };
std::string_view TlsModeName(TlsMode m);  // "starttls" | "implicit" | "none"
bool ParseTlsMode(std::string_view s, TlsMode* out);

// Per-state SMTP client timeouts; defaults from RFC 5321 §4.5.3.2.
struct SmtpTimeouts {
  absl::Duration connect = absl::Seconds(30);
  absl::Duration greeting = absl::Minutes(5);
  absl::Duration ehlo = absl::Minutes(5);
  absl::Duration starttls = absl::Minutes(2);   // STARTTLS reply + TLS handshake
  absl::Duration auth = absl::Minutes(2);
  absl::Duration mail = absl::Minutes(5);
  absl::Duration rcpt = absl::Minutes(5);
  absl::Duration data_init = absl::Minutes(2);
  absl::Duration data_block = absl::Minutes(3);
  absl::Duration data_done = absl::Minutes(10);
  absl::Duration rset = absl::Minutes(2);
  absl::Duration quit = absl::Seconds(30);
  absl::Duration idle = absl::Seconds(60);      // an unused pooled connection is closed after this
};

// [webhooks.<provider>] for sendgrid, mailgun, ses, postmark, sparkpost, mailjet, brevo, and an
// [[account]]'s `webhook = { provider = "...", ... }` (same keys plus provider).
struct WebhookConfig {
  std::string provider;          // [[account]] webhook only (the section name otherwise)
  std::string signing_key_env;   // mailgun
  std::string signing_key_file;  // mailgun
  std::string public_key_file;   // sendgrid (ECDSA PEM)
  std::string public_key;        // sendgrid, base64 DER as the provider shows it
  std::string cert_file;         // ses (SNS signing certificate)
  std::vector<std::string> topic_arns;  // ses: the only TopicArns accepted (required with cert_file)
  std::string basic_auth_user;
  std::string basic_auth_password_env;
  std::string basic_auth_password_file;
  bool allow_unsigned = false;   // accept posts without verification (warned at every start)

  bool operator==(const WebhookConfig&) const = default;
};

// [[account]] — one SMTP submission account (or sub-account) at a provider.
struct AccountConfig {
  std::string name;
  std::string host;
  uint16_t port = 587;
  TlsMode tls = TlsMode::kStartTls;
  bool tls_verify = true;
  std::string ca_file;                 // optional, resolved relative to the config file
  std::string username;                // empty: no AUTH
  std::string password_env;            // name of an env var holding the password / API key
  std::string password_file;           // or a file holding it (resolved relative to the config)
  uint32_t max_connections = 20;
  uint32_t messages_per_connection = 1000;
  std::vector<std::string> source_ips;  // optional local addresses to bind
  std::string ehlo_name;                // default: the machine's host name
  double rate_per_second = 0;           // 0 = unlimited
  uint64_t daily_limit = 0;             // 0 = unlimited
  bool chunking = true;                 // use BDAT when the server offers CHUNKING
  bool pipelining = true;               // use PIPELINING when offered
  bool allow_plaintext_auth = false;    // username with tls = "none" (warned at every start)
  std::optional<WebhookConfig> webhook;  // POST /webhooks/{provider}/{name} verifies with this
  // The secret itself is read by the runtime (shard/account_secret.h), never by engine/.

  bool operator==(const AccountConfig&) const = default;
};

struct RouteAccount {
  std::string name;
  uint32_t weight = 1;
};

// [[route]] — which accounts a campaign's list goes out through.
struct RouteConfig {
  std::string name;
  std::vector<std::string> lists;
  std::string purpose = "bulk";  // bulk | responder
  bool is_default = false;       // TOML key: default
  std::vector<RouteAccount> accounts;
};

// [[throttle]] — per destination domain limits (per account and source IP).
struct ThrottleConfig {
  std::vector<std::string> domains;
  uint32_t max_connections = 0;  // 0 = no domain-specific cap
  double rate_per_second = 0;    // 0 = unlimited
};

// [tracking]
struct TrackingConfig {
  std::string base_url;            // e.g. https://click.example.com (no trailing slash kept)
  std::string secret_file;         // HMAC key for link, open and unsubscribe tokens
  std::string unsubscribe_mailto;  // optional second List-Unsubscribe URI
  std::string bounce_domain;       // VERP domain; default: the From domain
  std::vector<std::string> previous_secret_files;  // rotated-out keys: verify, never sign
  absl::Duration token_max_age = absl::ZeroDuration();  // click tokens older: expired (0: never)
  std::string expired_url;         // where an expired click goes ("" : a plain page)
  // Double opt-in confirm links older: expired, the page offers a new one (0: never).
  absl::Duration confirm_max_age = absl::Hours(24 * 30);
  std::string cname_target;        // optional: preflight checks base_url's host is a CNAME to it
  // Loaded by LoadConfig (engine/config/tracking_keys.h): secret_file's key, and the keys of
  // previous_secret_files and of the key ring file next to secret_file.
  std::string secret;
  std::vector<std::string> previous_secrets;
};

// [[dkim]]
struct DkimConfig {
  std::string domain;
  std::string selector;
  std::string key_file;  // RSA >= 2048 or Ed25519 PEM (resolved relative to the config)
};

// [http] — the daemon's HTTP listener (tracking, unsubscribe, webhooks, /metrics, /healthz).
// With tls_listen set, `listen` (plain HTTP; "" for none) answers only /healthz and /metrics
// unless plain_tracking is true (then also /c/, /o/, /u/).
struct HttpConfig {
  std::string listen = "127.0.0.1:8025";
  uint32_t threads = 4;
  uint64_t max_body_bytes = 1 << 20;
  absl::Duration timeout = absl::Seconds(30);  // an idle (or trickling) connection is closed
  std::string tls_listen;                      // HTTPS listener, e.g. "0.0.0.0:443"
  std::string tls_cert_file;                   // PEM chain; re-read on SIGHUP
  std::string tls_key_file;                    // PEM key; re-read on SIGHUP
  bool plain_tracking = false;
  uint32_t max_connections_per_ip = 64;        // per listener; 0 = no limit
};

// [metrics]
struct MetricsConfig {
  std::string listen;                   // e.g. 127.0.0.1:9464; empty: no listener for `salvo send`
  std::vector<std::string> top_domains  // destination domains reported by name; others: "other"
      = {"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com"};
};

// [sending] — campaign runner policy.
struct SendingConfig {
  absl::Duration retry_for = absl::Hours(24);       // deferrals become final after this
  absl::Duration retry_base = absl::Seconds(60);    // first backoff; doubles, with jitter
  absl::Duration retry_max = absl::Hours(1);        // backoff cap
  uint32_t batch_size = 512;                        // members scanned per store read
  // In salvo serve, a run waits in itself for retries due within this long; when only later
  // ones are left it ends, the campaign is `waiting`, and the daemon's calendar goes on then.
  absl::Duration hold_retries = absl::Seconds(30);
  // When caps keep a campaign from its whole segment today: recipients who opened or clicked
  // in the last engaged_days days go first (0: off, key order).
  uint32_t engaged_days = 30;
  // The SMTP workers' completion batching (shard/ring_worker.h, RingLoop::SetCompletionBatch): a
  // worker sleeps until completion_batch completions are in or completion_wait has passed (then
  // until the next one), so a slow receiver's replies wake it in groups. Linux 6.12+; 1 (the
  // default, see README "completion batching") or "0s": one wake-up per completion.
  uint32_t completion_batch = 1;
  absl::Duration completion_wait = absl::Microseconds(250);
};

// [[warmup]] — a day-by-day cap for a new account or source IP (engine/policy/warmup.h).
struct WarmupConfig {
  std::string account;    // exactly one of account / source_ip
  std::string source_ip;
  std::string start;      // "YYYY-MM-DD": UTC day 1
  int64_t start_day = 0;  // unix day of start (set by validation)
  std::string schedule;   // "standard" (the default when daily is empty)
  std::vector<uint64_t> daily;  // explicit caps for day 1, 2, ...; no cap after the last
  double max_bounce_rate = 0.05;      // over the last hour; 0: off
  double max_complaint_rate = 0.003;  // over the last hour; 0: off
  uint32_t min_sample = 100;          // messages sent in the last hour before the guard acts
  int line = 0;                       // of the [[warmup]] in the file (messages)
};

// [queue] — the daemon's durable message queue (store/queue_store.h).
struct QueueConfig {
  absl::Duration keep = absl::Hours(24 * 7);  // finished messages are deleted after this
};

// [dns] — the resolver of `salvo preflight` (c-ares).
struct DnsConfig {
  std::vector<std::string> servers;  // "127.0.0.1:5353"; empty: /etc/resolv.conf
  absl::Duration timeout = absl::Seconds(2);  // per try
  uint32_t tries = 2;
};

// [preflight] — `salvo preflight` thresholds and options.
struct PreflightConfig {
  std::string rspamd_url;         // e.g. http://127.0.0.1:11333: also score the sample there
  double warn_score = 5;          // content score at or over this warns
  double fail_score = 10;         // ... fails
  absl::Duration consent_max_age = absl::Hours(24 * 730);  // older consent warns
  std::string physical_address;   // when set, the body must contain this line
  uint32_t mx_sample = 200;       // recipient domains whose MX is checked (most frequent first)
};

// [store] — RocksDB memory (store/store.h StoreOptions, same defaults). One LRU cache holds the
// data, index and filter blocks, and a WriteBufferManager charges every memtable to it: RocksDB's
// memory stays near block_cache (memtables flush early when they pass `memtables`). The defaults
// keep a 10 M-recipient send under 256 MB of RSS (perf/scale.sh).
struct StoreConfig {
  uint64_t block_cache = 96ull << 20;        // blocks + the memtables charged to it
  uint64_t memtables = 64ull << 20;          // all memtables together (WriteBufferManager)
  uint64_t write_buffer_size = 32ull << 20;  // one memtable of recipients/members; progress a
                                             // quarter of it, the other column families half
  uint32_t max_write_buffers = 3;            // memtables per column family (1 active + flushing)
};

struct Config {
  std::string path;       // the config file, as given
  std::string base_dir;   // directory of the config file; relative paths resolve against it
  std::string data_dir = "data";  // resolved to an absolute path by LoadConfig
  uint32_t workers = 0;   // 0 = one per core
  SmtpTimeouts smtp_timeouts;
  std::vector<AccountConfig> accounts;
  std::vector<RouteConfig> routes;
  std::vector<ThrottleConfig> throttles;
  std::optional<TrackingConfig> tracking;
  std::vector<DkimConfig> dkim;
  HttpConfig http;
  MetricsConfig metrics;
  std::map<std::string, WebhookConfig> webhooks;  // provider name -> config
  SendingConfig sending;
  QueueConfig queue;
  std::vector<WarmupConfig> warmups;
  std::vector<ResponderConfig> responders;  // [[responder]] (engine/config/responder_config.h)
  std::vector<DeliveryConfig> deliveries;   // [[delivery]]
  std::optional<SubmissionConfig> submission;  // [submission]: the SMTP submission listener
  DnsConfig dns;
  PreflightConfig preflight;
  StoreConfig store;

  const AccountConfig* FindAccount(std::string_view name) const;
  const RouteConfig* FindRoute(std::string_view name) const;
  // The [[warmup]] of an account / a source IP, or nullptr.
  const WarmupConfig* FindWarmup(std::string_view account, std::string_view source_ip) const;
  // Resolves `p` against base_dir unless it is absolute or empty.
  std::string Resolve(const std::string& p) const;
};

// Settings that weaken security on purpose (allow_unsigned, allow_plaintext_auth): one line
// each, for the warning programs print at every start (`webhooks` false: accounts only, for
// programs that serve no webhooks).
std::vector<std::string> SecurityWarnings(const Config& config, bool webhooks = true);

// Parses and validates a salvo.toml file. Errors name the file, line and key.
[[nodiscard]] absl::StatusOr<Config> LoadConfig(const std::string& path);
// Same, from text (tests). `path` is used in messages and for relative paths.
[[nodiscard]]
absl::StatusOr<Config> ParseConfig(std::string_view toml_text, const std::string& path);

}  // namespace salvo
