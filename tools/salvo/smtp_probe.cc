#include "tools/salvo/smtp_probe.h"

#include <algorithm>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "shard/worker.h"

namespace salvo {

SenderOptions SmtpProbeOptions(const Config& c, FILE* log) {
  SenderOptions o;
  o.timeouts = c.smtp_timeouts;
  o.workers = 1;
  o.log = [log](std::string_view line) {
    if (log) std::fprintf(log, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  return o;
}

SmtpProbeResult ProbeAccount(const Config& config, const AccountConfig& a, FILE* log,
                             absl::Duration max_timeout) {
  SenderOptions options = SmtpProbeOptions(config, log);
  if (max_timeout > absl::ZeroDuration()) {
    SmtpTimeouts& t = options.timeouts;
    for (absl::Duration* d : {&t.connect, &t.greeting, &t.ehlo, &t.starttls, &t.auth, &t.quit})
      *d = std::min(*d, max_timeout);
  }
  SmtpProbeResult r;
  WorkerGroup group;
  absl::Status st = group.Start(options);
  if (!st.ok()) {
    r.error = std::string(st.message());
    return r;
  }
  auto* w = static_cast<WorkerImpl*>(&group.worker(0));
  std::promise<SmtpProbeResult> promise;
  auto fut = promise.get_future();
  w->Post([&] {
    Pool* pool = w->GetPool(&a, a.source_ips.empty() ? "" : a.source_ips.front());
    pool->Probe([&promise](SmtpConnection* c, const std::string& error) {
      SmtpProbeResult p;
      p.error = error;
      if (c) {
        p.peer = c->peer();
        p.tls = c->TlsDescription();
        if (const SmtpSession* s = c->session()) {
          p.have_session = true;
          p.greeting = s->greeting().ToString();
          p.caps = s->capabilities().ToString();
          p.authenticated = s->authenticated();
        }
        if (error.empty()) c->Quit();
      }
      promise.set_value(std::move(p));
    });
  });
  r = fut.get();
  group.Stop(StopMode::kDrain);
  return r;
}

// Turns a connection-level reason into plain words with a hint.
std::string ExplainSmtpFailure(const std::string& reason, const AccountConfig& a) {
  std::string where = absl::StrCat(a.host, ":", a.port);
  if (absl::StrContains(reason, "Connection refused"))
    return absl::StrCat("port closed: nothing accepts connections on ", where,
                        " (connection refused)");
  if (absl::StrContains(reason, "timeout connecting"))
    return absl::StrCat("no answer from ", where,
                        " within the connect timeout (wrong host or port, or a firewall)");
  if (absl::StrContains(reason, "certificate verify failed")) {
    std::string why = reason.substr(reason.find("certificate verify failed"));
    return absl::StrCat("certificate not trusted: ", why,
                        a.ca_file.empty() ? " (set ca_file to the CA that signed the server's "
                                            "certificate, or tls_verify = false to skip checks)"
                                          : absl::StrCat(" (ca_file = ", a.ca_file, ")"));
  }
  if (absl::StrContains(reason, "wrong version number") ||
      absl::StrContains(reason, "packet length too long"))
    return absl::StrCat(reason, " (the server did not answer in TLS: is ", a.port,
                        " a plain SMTP port? try tls = \"starttls\")");
  if (absl::StrContains(reason, "does not offer STARTTLS"))
    return absl::StrCat("no STARTTLS offered: ", reason);
  if (absl::StrContains(reason, "authentication failed") && absl::StrContains(reason, "535"))
    return absl::StrCat("wrong username or password: ", reason);
  return reason;
}

}  // namespace salvo
