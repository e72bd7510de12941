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

namespace salvo {
namespace {

// Reads the keys of one TOML table, remembering which it consumed, so that Finish() can reject
// the ones nobody asked for. The first error wins; later calls become no-ops.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, const std::string& file,
              absl::Status* status)
      : t_(t), prefix_(std::move(prefix)), file_(file), status_(status) {}

  void Str(const char* key, std::string* out) {
    if (auto* n = Get(key)) {
      if (auto v = n->value<std::string>()) *out = *v;
      else Fail(*n, key, "a string");
    }
  }
  void Bool(const char* key, bool* out) {
    if (auto* n = Get(key)) {
      if (auto v = n->value<bool>()) *out = *v;
      else Fail(*n, key, "true or false");
    }
  }
  template <typename T>
  void UInt(const char* key, T* out) {
    if (auto* n = Get(key)) {
      auto v = n->value<int64_t>();
      if (v && *v >= 0 && static_cast<uint64_t>(*v) <= std::numeric_limits<T>::max() &&
          n->is_integer()) {
        *out = static_cast<T>(*v);
      } else {
        Fail(*n, key, "a non-negative integer in range");
      }
    }
  }
  void Double(const char* key, double* out) {
    if (auto* n = Get(key)) {
      if (n->is_integer() || n->is_floating_point()) {
        double v = n->value<double>().value_or(-1);
        if (v >= 0) *out = v;
        else Fail(*n, key, "a non-negative number");
      } else {
        Fail(*n, key, "a number");
      }
    }
  }
  void Dur(const char* key, absl::Duration* out) {
    if (auto* n = Get(key)) {
      if (n->is_integer()) {
        int64_t s = n->value<int64_t>().value_or(-1);
        if (s >= 0) *out = absl::Seconds(s);
        else Fail(*n, key, "a duration");
      } else if (auto v = n->value<std::string>()) {
        auto d = ParseConfigDuration(*v);
        if (d.ok()) *out = *d;
        else Error(*n, key, std::string(d.status().message()));
      } else {
        Fail(*n, key, "a duration such as \"30s\" or \"24h\"");
      }
    }
  }
  void StrList(const char* key, std::vector<std::string>* out) {
    if (auto* n = Get(key)) {
      const toml::array* a = n->as_array();
      if (!a) return Fail(*n, key, "an array of strings");
      out->clear();
      for (const auto& e : *a) {
        if (auto v = e.value<std::string>()) out->push_back(*v);
        else return Fail(e, key, "an array of strings");
      }
    }
  }
  const toml::table* Table(const char* key) {
    if (auto* n = Get(key)) {
      if (auto* t = n->as_table()) return t;
      Fail(*n, key, "a table");
    }
    return nullptr;
  }
  const toml::array* Array(const char* key) {
    if (auto* n = Get(key)) {
      if (auto* a = n->as_array()) return a;
      Fail(*n, key, "an array");
    }
    return nullptr;
  }
  // Calls fn(table) for each table of the array `key` ([[key]] sections), stopping at the first
  // error; items that are not tables are skipped.
  template <typename Fn>
  void ForEachTable(const char* key, Fn fn) {
    const toml::array* a = Array(key);
    if (a == nullptr) return;
    for (const auto& e : *a) {
      if (!status_->ok()) break;
      if (const toml::table* t = e.as_table()) fn(*t);
    }
  }

  // Rejects keys that no reader call consumed.
  void Finish() {
    for (const auto& [k, v] : t_) {
      if (!seen_.count(std::string(k.str()))) {
        SetError(v, absl::StrCat("unknown key \"", Name(std::string(k.str())), "\""));
        return;
      }
    }
  }

  std::string Name(const std::string& key) const {
    return prefix_.empty() ? key : absl::StrCat(prefix_, ".", key);
  }
  void Error(const toml::node& n, const char* key, const std::string& what) {
    SetError(n, absl::StrCat("\"", Name(key), "\": ", what));
  }

 private:
  const toml::node* Get(const char* key) {
    seen_.insert(key);
    if (!status_->ok()) return nullptr;
    return t_.get(key);
  }
  void Fail(const toml::node& n, const char* key, const char* expected) {
    SetError(n, absl::StrCat("\"", Name(key), "\" must be ", expected));
  }
  void SetError(const toml::node& n, const std::string& msg) {
    if (!status_->ok()) return;
    *status_ = absl::InvalidArgumentError(
        absl::StrCat(file_, ":", n.source().begin.line, ": ", msg));
  }

  const toml::table& t_;
  std::string prefix_;
  const std::string& file_;
  absl::Status* status_;
  std::set<std::string> seen_;
};

// [dns] and [preflight] (salvo preflight).
void ParseDnsAndPreflight(TableReader& r, const std::string& path, absl::Status* st, Config* c) {
  if (const toml::table* t = r.Table("dns")) {
    TableReader dr(*t, "dns", path, st);
    dr.StrList("servers", &c->dns.servers);
    dr.Dur("timeout", &c->dns.timeout);
    dr.UInt("tries", &c->dns.tries);
    dr.Finish();
    if (st->ok() && (c->dns.tries == 0 || c->dns.timeout <= absl::ZeroDuration()))
      dr.Error(*t, "timeout", "timeout and tries must be above zero");
  }
  if (const toml::table* t = r.Table("preflight")) {
    TableReader pr(*t, "preflight", path, st);
    pr.Str("rspamd_url", &c->preflight.rspamd_url);
    pr.Double("warn_score", &c->preflight.warn_score);
    pr.Double("fail_score", &c->preflight.fail_score);
    pr.Dur("consent_max_age", &c->preflight.consent_max_age);
    pr.Str("physical_address", &c->preflight.physical_address);
    pr.UInt("mx_sample", &c->preflight.mx_sample);
    pr.Finish();
    if (st->ok() && c->preflight.warn_score > c->preflight.fail_score)
      pr.Error(*t, "warn_score", "must not be above fail_score");
    if (st->ok() && !c->preflight.rspamd_url.empty() &&
        !absl::StartsWith(c->preflight.rspamd_url, "http://"))
      pr.Error(*t, "rspamd_url", "must start with http://");
  }
}

void ParseTimeouts(const toml::table& t, const std::string& file, absl::Status* st,
                   SmtpTimeouts* o) {
  TableReader r(t, "smtp.timeouts", file, st);
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
  r.Finish();
}

void ParseAccount(const toml::table& t, const std::string& file, absl::Status* st,
                  AccountConfig* a) {
  TableReader r(t, "account", file, st);
  r.Str("name", &a->name);
  r.Str("host", &a->host);
  r.UInt("port", &a->port);
  std::string tls = "starttls";
  r.Str("tls", &tls);
  if (st->ok() && !ParseTlsMode(tls, &a->tls))
    r.Error(*t.get("tls"), "tls", "must be starttls, implicit or none");
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
  r.Finish();
  if (st->ok() && (a->name.empty() || a->host.empty()))
    *st = absl::InvalidArgumentError(absl::StrCat(file, ":", t.source().begin.line,
                                                  ": [[account]] needs name and host"));
  if (st->ok() && a->max_connections == 0) a->max_connections = 1;
  if (st->ok() && a->messages_per_connection == 0) a->messages_per_connection = 1;
}

void ParseRoute(const toml::table& t, const std::string& file, absl::Status* st, RouteConfig* ro) {
  TableReader r(t, "route", file, st);
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
      TableReader ar(*at, "route.accounts", file, st);
      ar.Str("name", &ra.name);
      ar.UInt("weight", &ra.weight);
      ar.Finish();
      ro->accounts.push_back(ra);
    }
  }
  r.Finish();
  if (st->ok() && ro->purpose != "bulk" && ro->purpose != "responder")
    r.Error(*t.get("purpose"), "purpose", "must be bulk or responder");
  if (st->ok() && ro->name.empty())
    *st = absl::InvalidArgumentError(
        absl::StrCat(file, ":", t.source().begin.line, ": [[route]] needs a name"));
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
  static const std::set<std::string> kProviders = {"sendgrid", "mailgun", "ses", "postmark",
                                                   "sparkpost", "mailjet", "brevo"};
  for (const auto& [p, w] : c.webhooks) {
    if (!kProviders.count(p))
      return absl::InvalidArgumentError(absl::StrCat(
          c.path, ": unknown webhook provider \"", p, "\" (known: ",
          absl::StrJoin(kProviders, ", "), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {
constexpr EnumName<TlsMode> kTlsModes[] = {
    {TlsMode::kStartTls, "starttls"}, {TlsMode::kImplicit, "implicit"}, {TlsMode::kNone, "none"}};
static_assert(std::size(kTlsModes) == static_cast<size_t>(TlsMode::kNone) + 1);
}  // namespace

std::string_view TlsModeName(TlsMode m) { return NameIn(kTlsModes, m, "?"); }

bool ParseTlsMode(std::string_view s, TlsMode* out) { return ValueIn(kTlsModes, s, out); }

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

  if (const toml::table* smtp = r.Table("smtp")) {
    TableReader sr(*smtp, "smtp", path, &st);
    if (const toml::table* to = sr.Table("timeouts")) ParseTimeouts(*to, path, &st, &c.smtp_timeouts);
    sr.Finish();
  }
  r.ForEachTable("account", [&](const toml::table& t) {
    AccountConfig a;
    ParseAccount(t, path, &st, &a);
    a.ca_file = c.Resolve(a.ca_file);
    a.password_file = c.Resolve(a.password_file);
    c.accounts.push_back(std::move(a));
  });
  r.ForEachTable("route", [&](const toml::table& t) {
    RouteConfig ro;
    ParseRoute(t, path, &st, &ro);
    c.routes.push_back(std::move(ro));
  });
  r.ForEachTable("throttle", [&](const toml::table& t) {
    ThrottleConfig th;
    TableReader tr(t, "throttle", path, &st);
    tr.StrList("domains", &th.domains);
    tr.UInt("max_connections", &th.max_connections);
    tr.Double("rate_per_second", &th.rate_per_second);
    tr.Finish();
    c.throttles.push_back(std::move(th));
  });
  if (const toml::table* t = r.Table("tracking")) {
    TrackingConfig tc;
    TableReader tr(*t, "tracking", path, &st);
    tr.Str("base_url", &tc.base_url);
    tr.Str("secret_file", &tc.secret_file);
    tr.Str("unsubscribe_mailto", &tc.unsubscribe_mailto);
    tr.Str("bounce_domain", &tc.bounce_domain);
    tr.Str("cname_target", &tc.cname_target);
    tr.Finish();
    while (!tc.base_url.empty() && tc.base_url.back() == '/') tc.base_url.pop_back();
    tc.secret_file = c.Resolve(tc.secret_file);
    if (st.ok() && !absl::StartsWith(tc.base_url, "https://") &&
        !absl::StartsWith(tc.base_url, "http://"))
      tr.Error(*t, "base_url", "must start with https:// or http://");
    c.tracking = std::move(tc);
  }
  r.ForEachTable("dkim", [&](const toml::table& t) {
    DkimConfig d;
    TableReader dr(t, "dkim", path, &st);
    dr.Str("domain", &d.domain);
    dr.Str("selector", &d.selector);
    dr.Str("key_file", &d.key_file);
    dr.Finish();
    d.key_file = c.Resolve(d.key_file);
    if (st.ok() && (d.domain.empty() || d.selector.empty() || d.key_file.empty()))
      st = absl::InvalidArgumentError(absl::StrCat(
          path, ":", t.source().begin.line, ": [[dkim]] needs domain, selector and key_file"));
    c.dkim.push_back(std::move(d));
  });
  if (const toml::table* t = r.Table("http")) {
    TableReader hr(*t, "http", path, &st);
    hr.Str("listen", &c.http.listen);
    hr.UInt("threads", &c.http.threads);
    hr.UInt("max_body_bytes", &c.http.max_body_bytes);
    hr.Dur("timeout", &c.http.timeout);
    hr.Finish();
  }
  if (const toml::table* t = r.Table("metrics")) {
    TableReader mr(*t, "metrics", path, &st);
    mr.Str("listen", &c.metrics.listen);
    mr.StrList("top_domains", &c.metrics.top_domains);
    mr.Finish();
  }
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
      TableReader wr(*pt, "webhooks." + provider, path, &st);
      wr.Str("signing_key_env", &w.signing_key_env);
      wr.Str("signing_key_file", &w.signing_key_file);
      wr.Str("public_key_file", &w.public_key_file);
      wr.Str("public_key", &w.public_key);
      wr.Str("cert_file", &w.cert_file);
      wr.Str("basic_auth_user", &w.basic_auth_user);
      wr.Str("basic_auth_password_env", &w.basic_auth_password_env);
      wr.Str("basic_auth_password_file", &w.basic_auth_password_file);
      wr.Finish();
      w.signing_key_file = c.Resolve(w.signing_key_file);
      w.public_key_file = c.Resolve(w.public_key_file);
      w.cert_file = c.Resolve(w.cert_file);
      w.basic_auth_password_file = c.Resolve(w.basic_auth_password_file);
      c.webhooks[provider] = std::move(w);
    }
  }
  if (const toml::table* t = r.Table("sending")) {
    TableReader sr(*t, "sending", path, &st);
    sr.Dur("retry_for", &c.sending.retry_for);
    sr.Dur("retry_base", &c.sending.retry_base);
    sr.Dur("retry_max", &c.sending.retry_max);
    sr.Dur("hold_retries", &c.sending.hold_retries);
    sr.UInt("batch_size", &c.sending.batch_size);
    sr.Finish();
  }
  if (const toml::table* t = r.Table("queue")) {
    TableReader qr(*t, "queue", path, &st);
    qr.Dur("keep", &c.queue.keep);
    qr.Finish();
  }
  ParseDnsAndPreflight(r, path, &st, &c);
  r.Finish();
  RETURN_IF_ERROR(st);
  c.data_dir = c.Resolve(c.data_dir);
  RETURN_IF_ERROR(Validate(c));
  return c;
}

[[nodiscard]] absl::StatusOr<Config> LoadConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4u << 20, "config file"));
  ASSIGN_OR_RETURN(Config c, ParseConfig(text, path));
  if (c.tracking && !c.tracking->secret_file.empty()) {
    absl::StatusOr<std::string> secret = ReadSecretFile(c.tracking->secret_file);
    if (!secret.ok())
      return absl::FailedPreconditionError(absl::StrCat(path, ": [tracking] secret_file: ",
                                                        secret.status().message()));
    c.tracking->secret = *std::move(secret);
  }
  return c;
}

}  // namespace salvo
