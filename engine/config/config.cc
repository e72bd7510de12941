// salvo.toml parser. toml++ is used header-only with exceptions off so errors stay values.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "engine/config/config.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <set>
#include <toml++/toml.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "engine/base/enum_names.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/config/duration.h"
#include "engine/config/responder_config.h"
#include "engine/config/submission.h"
#include "engine/config/table_reader.h"
#include "engine/config/tracking_keys.h"
#include "engine/policy/warmup.h"

namespace salvo {
namespace {

// [dns] and [preflight] (salvo preflight).
void ReadDnsAndPreflight(TableReader& r, Config* c) {
  r.WithTable("dns", [&](TableReader& dr) {
    dr.StrList("servers", &c->dns.servers);
    dr.Dur("timeout", &c->dns.timeout);
    dr.UInt("tries", &c->dns.tries);
    if (c->dns.tries == 0 || c->dns.timeout <= absl::ZeroDuration())
      dr.Error(dr.table(), "timeout", "timeout and tries must be above zero");
  });
  r.WithTable("preflight", [&](TableReader& pr) {
    pr.Str("rspamd_url", &c->preflight.rspamd_url);
    pr.Double("warn_score", &c->preflight.warn_score);
    pr.Double("fail_score", &c->preflight.fail_score);
    pr.Dur("consent_max_age", &c->preflight.consent_max_age);
    pr.Str("physical_address", &c->preflight.physical_address);
    pr.UInt("mx_sample", &c->preflight.mx_sample);
    if (c->preflight.warn_score > c->preflight.fail_score)
      pr.Error(pr.table(), "warn_score", "must not be above fail_score");
    if (!c->preflight.rspamd_url.empty() && !absl::StartsWith(c->preflight.rspamd_url, "http://"))
      pr.Error(pr.table(), "rspamd_url", "must start with http://");
  });
}

// [store]: RocksDB memory, with bounds that name the key.
void ReadStore(TableReader& r, StoreConfig* c) {
  r.WithTable("store", [&](TableReader& sr) {
    sr.Bytes("block_cache", &c->block_cache);
    sr.Bytes("memtables", &c->memtables);
    sr.Bytes("write_buffer_size", &c->write_buffer_size);
    sr.UInt("max_write_buffers", &c->max_write_buffers);
    if (!sr.ok()) return;
    constexpr uint64_t kMB = 1 << 20;
    if (c->block_cache < 8 * kMB || c->block_cache > (64ull << 30))
      sr.Error(sr.table(), "block_cache", "must be between 8MB and 64GB");
    else if (c->write_buffer_size < kMB || c->write_buffer_size > (4ull << 30))
      sr.Error(sr.table(), "write_buffer_size", "must be between 1MB and 4GB");
    else if (c->max_write_buffers < 2 || c->max_write_buffers > 16)
      sr.Error(sr.table(), "max_write_buffers", "must be between 2 and 16");
    else if (c->memtables < c->write_buffer_size)
      sr.Error(sr.table(), "memtables", "must be at least write_buffer_size");
    else if (c->memtables > c->block_cache)
      sr.Error(sr.table(), "memtables",
               "must not be above block_cache (memtables are charged to the block cache)");
  });
}

void ReadTimeouts(TableReader& r, SmtpTimeouts* o) {
  r.Dur("connect", &o->connect);
  r.Dur("greeting", &o->greeting);
  r.Dur("ehlo", &o->ehlo);
  r.Dur("starttls", &o->starttls);
  r.Dur("auth", &o->auth);
  r.Dur("mail", &o->mail);
  r.Dur("rcpt", &o->rcpt);
  r.Dur("data_init", &o->data_init);
  r.Dur("data_block", &o->data_block);
  r.Dur("data_done", &o->data_done);
  r.Dur("rset", &o->rset);
  r.Dur("quit", &o->quit);
  r.Dur("idle", &o->idle);
}

// [webhooks.<provider>] or an [[account]]'s webhook table; relative files resolve against `c`.
void ReadWebhook(TableReader& wr, const Config& c, bool with_provider, WebhookConfig* w) {
  if (with_provider) wr.Str("provider", &w->provider);
  wr.Str("signing_key_env", &w->signing_key_env);
  wr.Str("signing_key_file", &w->signing_key_file);
  wr.Str("public_key_file", &w->public_key_file);
  wr.Str("public_key", &w->public_key);
  wr.Str("cert_file", &w->cert_file);
  wr.StrList("topic_arns", &w->topic_arns);
  wr.Str("basic_auth_user", &w->basic_auth_user);
  wr.Str("basic_auth_password_env", &w->basic_auth_password_env);
  wr.Str("basic_auth_password_file", &w->basic_auth_password_file);
  wr.Bool("allow_unsigned", &w->allow_unsigned);
  wr.Finish();
  w->signing_key_file = c.Resolve(w->signing_key_file);
  w->public_key_file = c.Resolve(w->public_key_file);
  w->cert_file = c.Resolve(w->cert_file);
  w->basic_auth_password_file = c.Resolve(w->basic_auth_password_file);
  if (!w->cert_file.empty() && w->topic_arns.empty())
    wr.TableError(absl::StrCat(
        wr.prefix(), ": cert_file needs topic_arns = [...] (the SNS topics whose messages are "
        "accepted)"));
}

void ReadAccount(TableReader& r, const Config& config, AccountConfig* a) {
  r.Str("name", &a->name);
  r.Str("host", &a->host);
  r.UInt("port", &a->port);
  std::string tls = "starttls";
  r.Str("tls", &tls);
  if (r.ok() && !ParseTlsMode(tls, &a->tls))
    r.Error(*r.table().get("tls"), "tls", "must be starttls, implicit or none");
  r.Bool("tls_verify", &a->tls_verify);
  r.Str("ca_file", &a->ca_file);
  r.Str("username", &a->username);
  r.Str("password_env", &a->password_env);
  r.Str("password_file", &a->password_file);
  r.UInt("max_connections", &a->max_connections);
  r.UInt("messages_per_connection", &a->messages_per_connection);
  r.StrList("source_ips", &a->source_ips);
  r.Str("ehlo_name", &a->ehlo_name);
  r.Double("rate_per_second", &a->rate_per_second);
  r.UInt("daily_limit", &a->daily_limit);
  r.Bool("chunking", &a->chunking);
  r.Bool("pipelining", &a->pipelining);
  r.Bool("allow_plaintext_auth", &a->allow_plaintext_auth);
  if (const toml::table* w = r.Table("webhook")) {
    TableReader wr = r.Nested(*w, "webhook");
    ReadWebhook(wr, config, /*with_provider=*/true, &a->webhook.emplace());
  }
  r.Finish();
  if (a->name.empty() || a->host.empty()) r.TableError("[[account]] needs name and host");
  // A password in clear on the wire is refused unless the operator says so.
  if (!a->username.empty() && a->tls == TlsMode::kNone && !a->allow_plaintext_auth)
    r.TableError(absl::StrCat(
        "account \"", a->name,
        "\": username with tls = \"none\" would send the password in clear; use starttls or "
        "implicit, or set allow_plaintext_auth = true"));
  if (r.ok() && a->max_connections == 0) a->max_connections = 1;
  if (r.ok() && a->messages_per_connection == 0) a->messages_per_connection = 1;
}

void ReadRoute(TableReader& r, RouteConfig* ro) {
  r.Str("name", &ro->name);
  r.StrList("lists", &ro->lists);
  r.Str("purpose", &ro->purpose);
  r.Bool("default", &ro->is_default);
  if (const toml::array* accs = r.Array("accounts")) {
    for (const auto& e : *accs) {
      const toml::table* at = e.as_table();
      if (!at) {
        r.Error(e, "accounts", "entries must be tables like { name = \"sg\", weight = 1 }");
        break;
      }
      RouteAccount ra;
      TableReader ar = r.Nested(*at, "accounts");
      ar.Str("name", &ra.name);
      ar.UInt("weight", &ra.weight);
      ar.Finish();
      ro->accounts.push_back(ra);
    }
  }
  r.Finish();
  if (r.ok() && ro->purpose != "bulk" && ro->purpose != "responder")
    r.Error(*r.table().get("purpose"), "purpose", "must be bulk or responder");
  if (ro->name.empty()) r.TableError("[[route]] needs a name");
}

[[nodiscard]] absl::Status Validate(const Config& c) {
  std::set<std::string> names;
  for (const auto& a : c.accounts) {
    if (!names.insert(a.name).second)
      return absl::InvalidArgumentError(absl::StrCat(c.path, ": account \"", a.name,
                                                     "\" is defined twice"));
  }
  int defaults = 0;
  std::set<std::string> route_names;
  for (const auto& r : c.routes) {
    if (!route_names.insert(r.name).second)
      return absl::InvalidArgumentError(
          absl::StrCat(c.path, ": route \"", r.name, "\" is defined twice"));
    if (r.is_default) ++defaults;
    if (r.accounts.empty())
      return absl::InvalidArgumentError(
          absl::StrCat(c.path, ": route \"", r.name, "\" has no accounts"));
    for (const auto& ra : r.accounts) {
      if (!c.FindAccount(ra.name))
        return absl::InvalidArgumentError(absl::StrCat(
            c.path, ": route \"", r.name, "\" names account \"", ra.name,
            "\", which no [[account]] defines"));
      if (ra.weight == 0)
        return absl::InvalidArgumentError(absl::StrCat(
            c.path, ": route \"", r.name, "\": account \"", ra.name, "\" has weight 0"));
    }
  }
  if (defaults > 1)
    return absl::InvalidArgumentError(absl::StrCat(c.path, ": more than one default route"));
  if (c.sending.completion_wait > absl::Milliseconds(1))
    return absl::InvalidArgumentError(absl::StrCat(
        c.path, ": [sending] completion_wait must be at most 1ms (it delays replies)"));
  static const std::set<std::string> kProviders = {"sendgrid", "mailgun", "ses", "postmark",
                                                   "sparkpost", "mailjet", "brevo"};
  for (const auto& a : c.accounts) {
    if (a.webhook && !kProviders.count(a.webhook->provider))
      return absl::InvalidArgumentError(absl::StrCat(
          c.path, ": account \"", a.name, "\": webhook provider \"", a.webhook->provider,
          "\" is not one of ", absl::StrJoin(kProviders, ", ")));
  }
  for (const auto& [p, w] : c.webhooks) {
    if (!kProviders.count(p))
      return absl::InvalidArgumentError(absl::StrCat(
          c.path, ": unknown webhook provider \"", p, "\" (known: ",
          absl::StrJoin(kProviders, ", "), ")"));
  }
  return absl::OkStatus();
}

// [[warmup]]: the keys; the checks against accounts and dates are ValidateWarmup's.
void ReadWarmup(TableReader& r, Config* c) {
  WarmupConfig w;
  w.line = static_cast<int>(r.table().source().begin.line);
  r.Str("account", &w.account);
  r.Str("source_ip", &w.source_ip);
  r.Str("start", &w.start);
  r.Str("schedule", &w.schedule);
  if (const toml::array* a = r.Array("daily")) {
    for (const auto& e : *a) {
      auto v = e.value<int64_t>();
      if (!e.is_integer() || !v || *v <= 0) {
        r.Error(e, "daily", "must be a list of positive integers (messages per day)");
        break;
      }
      w.daily.push_back(static_cast<uint64_t>(*v));
    }
  }
  r.Double("max_bounce_rate", &w.max_bounce_rate);
  r.Double("max_complaint_rate", &w.max_complaint_rate);
  r.UInt("min_sample", &w.min_sample);
  c->warmups.push_back(std::move(w));
}

}  // namespace

namespace {
constexpr EnumName<TlsMode> kTlsModes[] = {
    {TlsMode::kStartTls, "starttls"}, {TlsMode::kImplicit, "implicit"}, {TlsMode::kNone, "none"}};
static_assert(std::size(kTlsModes) == static_cast<size_t>(TlsMode::kNone) + 1);
}  // namespace

std::string_view TlsModeName(TlsMode m) { return NameIn(kTlsModes, m, "?"); }

bool ParseTlsMode(std::string_view s, TlsMode* out) { return ValueIn(kTlsModes, s, out); }

std::vector<std::string> SecurityWarnings(const Config& c, bool webhooks) {
  std::vector<std::string> out;
  for (const auto& [p, w] : c.webhooks)
    if (webhooks && w.allow_unsigned)
      out.push_back(absl::StrCat("[webhooks.", p, "] allow_unsigned = true: /webhooks/", p,
                                 " accepts posts nobody verified"));
  for (const auto& a : c.accounts) {
    if (webhooks && a.webhook && a.webhook->allow_unsigned)
      out.push_back(absl::StrCat("account \"", a.name, "\" webhook allow_unsigned = true: /webhooks/",
                                 a.webhook->provider, "/", a.name, " accepts posts nobody verified"));
    if (a.allow_plaintext_auth && !a.username.empty() && a.tls == TlsMode::kNone)
      out.push_back(absl::StrCat("account \"", a.name,
                                 "\" allow_plaintext_auth = true: its password goes in clear"));
  }
  return out;
}

const AccountConfig* Config::FindAccount(std::string_view name) const {
  for (const auto& a : accounts)
    if (a.name == name) return &a;
  return nullptr;
}

const RouteConfig* Config::FindRoute(std::string_view name) const {
  for (const auto& r : routes)
    if (r.name == name) return &r;
  return nullptr;
}

const WarmupConfig* Config::FindWarmup(std::string_view account,
                                      std::string_view source_ip) const {
  for (const auto& w : warmups)
    if ((!account.empty() && w.account == account) ||
        (!source_ip.empty() && w.source_ip == source_ip))
      return &w;
  return nullptr;
}

std::string Config::Resolve(const std::string& p) const {
  if (p.empty() || p[0] == '/') return p;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

[[nodiscard]] absl::StatusOr<Config> ParseConfig(std::string_view text, const std::string& path) {
  toml::parse_result res = toml::parse(text, path);
  if (!res) {
    const auto& e = res.error();
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.source().begin.line, ": ", Av(e.description())));
  }
  const toml::table& root = res.table();
  Config c;
  c.path = path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  c.base_dir = abs.parent_path().string();
  absl::Status st;
  TableReader r(root, "", path, &st);
  r.Str("data_dir", &c.data_dir);
  r.UInt("workers", &c.workers);

  r.WithTable("smtp", [&](TableReader& sr) {
    sr.WithTable("timeouts", [&](TableReader& tr) { ReadTimeouts(tr, &c.smtp_timeouts); });
  });
  r.ForEachTable("account", [&](TableReader& ar) {
    AccountConfig a;
    ReadAccount(ar, c, &a);
    a.ca_file = c.Resolve(a.ca_file);
    a.password_file = c.Resolve(a.password_file);
    c.accounts.push_back(std::move(a));
  });
  r.ForEachTable("route", [&](TableReader& rr) {
    RouteConfig ro;
    ReadRoute(rr, &ro);
    c.routes.push_back(std::move(ro));
  });
  r.ForEachTable("throttle", [&](TableReader& tr) {
    ThrottleConfig th;
    tr.StrList("domains", &th.domains);
    tr.UInt("max_connections", &th.max_connections);
    tr.Double("rate_per_second", &th.rate_per_second);
    c.throttles.push_back(std::move(th));
  });
  r.WithTable("tracking", [&](TableReader& tr) {
    TrackingConfig& tc = c.tracking.emplace();
    tr.Str("base_url", &tc.base_url);
    tr.Str("secret_file", &tc.secret_file);
    tr.Str("unsubscribe_mailto", &tc.unsubscribe_mailto);
    tr.Str("bounce_domain", &tc.bounce_domain);
    tr.StrList("previous_secret_files", &tc.previous_secret_files);
    tr.Dur("token_max_age", &tc.token_max_age);
    tr.Dur("confirm_max_age", &tc.confirm_max_age);
    tr.Str("expired_url", &tc.expired_url);
    tr.Str("cname_target", &tc.cname_target);
    tr.Finish();
    for (std::string& f : tc.previous_secret_files) f = c.Resolve(f);
    if (st.ok() && !tc.expired_url.empty() && !absl::StartsWith(tc.expired_url, "https://") &&
        !absl::StartsWith(tc.expired_url, "http://"))
      tr.Error(tr.table(), "expired_url", "must start with https:// or http://");
    if (st.ok() && HasLineBreak(tc.expired_url)) tr.Error(tr.table(), "expired_url", "has a line break");
    while (!tc.base_url.empty() && tc.base_url.back() == '/') tc.base_url.pop_back();
    tc.secret_file = c.Resolve(tc.secret_file);
    if (!absl::StartsWith(tc.base_url, "https://") && !absl::StartsWith(tc.base_url, "http://"))
      tr.Error(tr.table(), "base_url", "must start with https:// or http://");
  });
  r.ForEachTable("dkim", [&](TableReader& dr) {
    DkimConfig d;
    dr.Str("domain", &d.domain);
    dr.Str("selector", &d.selector);
    dr.Str("key_file", &d.key_file);
    dr.Finish();
    d.key_file = c.Resolve(d.key_file);
    if (d.domain.empty() || d.selector.empty() || d.key_file.empty())
      dr.TableError("[[dkim]] needs domain, selector and key_file");
    c.dkim.push_back(std::move(d));
  });
  r.WithTable("http", [&](TableReader& hr) {
    hr.Str("listen", &c.http.listen);
    hr.UInt("threads", &c.http.threads);
    hr.UInt("max_body_bytes", &c.http.max_body_bytes);
    hr.Dur("timeout", &c.http.timeout);
    hr.Str("tls_listen", &c.http.tls_listen);
    hr.Str("tls_cert_file", &c.http.tls_cert_file);
    hr.Str("tls_key_file", &c.http.tls_key_file);
    hr.Bool("plain_tracking", &c.http.plain_tracking);
    hr.UInt("max_connections_per_ip", &c.http.max_connections_per_ip);
    c.http.tls_cert_file = c.Resolve(c.http.tls_cert_file);
    c.http.tls_key_file = c.Resolve(c.http.tls_key_file);
    if (!c.http.tls_listen.empty() && (c.http.tls_cert_file.empty() || c.http.tls_key_file.empty()))
      hr.Error(hr.table(), "tls_listen", "needs tls_cert_file and tls_key_file");
  });
  r.WithTable("metrics", [&](TableReader& mr) {
    mr.Str("listen", &c.metrics.listen);
    mr.StrList("top_domains", &c.metrics.top_domains);
  });
  if (const toml::table* t = r.Table("webhooks")) {
    for (const auto& [k, v] : *t) {
      if (!st.ok()) break;
      const toml::table* pt = v.as_table();
      std::string provider(k.str());
      if (!pt) {
        st = absl::InvalidArgumentError(absl::StrCat(path, ":", v.source().begin.line,
                                                     ": \"webhooks.", provider, "\" must be a table"));
        break;
      }
      WebhookConfig w;
      TableReader wr = r.Nested(*pt, "webhooks." + provider);
      ReadWebhook(wr, c, /*with_provider=*/false, &w);
      c.webhooks[provider] = std::move(w);
    }
  }
  r.WithTable("sending", [&](TableReader& sr) {
    sr.Dur("retry_for", &c.sending.retry_for);
    sr.Dur("retry_base", &c.sending.retry_base);
    sr.Dur("retry_max", &c.sending.retry_max);
    sr.Dur("hold_retries", &c.sending.hold_retries);
    sr.UInt("batch_size", &c.sending.batch_size);
    sr.UInt("engaged_days", &c.sending.engaged_days);
    sr.UInt("completion_batch", &c.sending.completion_batch);
    sr.Dur("completion_wait", &c.sending.completion_wait);
  });
  r.WithTable("queue", [&](TableReader& qr) { qr.Dur("keep", &c.queue.keep); });
  r.ForEachTable("warmup", [&](TableReader& wr) { ReadWarmup(wr, &c); });
  ParseResponderSections(&r, &c);
  r.WithTable("submission", [&](TableReader& sr) { ReadSubmission(sr, c, &c.submission); });
  ReadDnsAndPreflight(r, &c);
  ReadStore(r, &c.store);
  r.Finish();
  RETURN_IF_ERROR(st);
  c.data_dir = c.Resolve(c.data_dir);
  RETURN_IF_ERROR(Validate(c));
  for (WarmupConfig& w : c.warmups) RETURN_IF_ERROR(ValidateWarmup(c, &w));
  RETURN_IF_ERROR(ValidateResponders(c));
  return c;
}

[[nodiscard]] absl::StatusOr<Config> LoadConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4u << 20, "config file"));
  ASSIGN_OR_RETURN(Config c, ParseConfig(text, path));
  RETURN_IF_ERROR(LoadResponderTemplates(&c));
  if (c.tracking) {
    absl::Status keys = LoadTrackingKeys(&*c.tracking);
    if (!keys.ok())
      return absl::FailedPreconditionError(absl::StrCat(path, ": [tracking] ", keys.message()));
  }
  return c;
}

}  // namespace salvo
