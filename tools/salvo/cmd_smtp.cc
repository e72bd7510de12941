// salvo smtp-check / salvo send-one: try an [[account]] by hand. Both run one shard worker
// in-process (no store, no daemon). Server replies are hostile: they are printed only after the
// engine's parser sanitized them. Secrets never appear in the output.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/smtp/raw_message.h"
#include "shard/worker.h"
#include "tools/salvo/command.h"
#include "tools/salvo/smtp_probe.h"

namespace salvo {

namespace {

constexpr size_t kMaxMessageBytes = 64 << 20;

struct Loaded {
  const Config* config = nullptr;
  const AccountConfig* account = nullptr;
};

[[nodiscard]]
absl::StatusOr<Loaded> LoadAccount(CommandContext& ctx, const std::string& config_path,
                                   const std::string& name) {
  Loaded l;
  auto c = ctx.LoadConfigOnce(config_path);
  if (!c.ok()) return c.status();
  l.config = *c;
  l.account = l.config->FindAccount(name);
  if (!l.account) {
    std::string names;
    for (const auto& a : l.config->accounts) absl::StrAppend(&names, names.empty() ? "" : ", ", a.name);
    return absl::NotFoundError(absl::StrCat(l.config->path, ": no [[account]] named \"", name,
                                            "\" (accounts: ", names.empty() ? "none" : names, ")"));
  }
  return l;
}

int SmtpCheck(CommandContext& ctx, const std::string& config_path, const std::string& name) {
  auto l = LoadAccount(ctx, config_path, name);
  if (!l.ok()) return ctx.Fail(l.status(), 2);
  const AccountConfig& a = *l->account;
  std::string source_ip = a.source_ips.empty() ? "" : a.source_ips.front();
  std::fprintf(ctx.out, "account %s: %s:%u tls=%s%s%s\n", a.name.c_str(), a.host.c_str(), a.port,
               std::string(TlsModeName(a.tls)).c_str(),
               a.tls != TlsMode::kNone && !a.tls_verify ? " (tls_verify = false)" : "",
               source_ip.empty() ? "" : absl::StrCat(" from ", source_ip).c_str());
  SmtpProbeResult r = ProbeAccount(*l->config, a, ctx.err);
  if (!r.peer.empty()) std::fprintf(ctx.out, "connected: %s\n", r.peer.c_str());
  if (r.have_session && r.greeting != "0 " && !r.greeting.empty() && r.greeting[0] != '0')
    std::fprintf(ctx.out, "greeting: %s\n", SanitizeForLog(r.greeting).c_str());
  if (!r.tls.empty())
    std::fprintf(ctx.out, "tls: %s, certificate %s\n", r.tls.c_str(),
                 a.tls_verify ? "verified" : "NOT verified (tls_verify = false)");
  if (r.have_session && !r.caps.empty())
    std::fprintf(ctx.out, "capabilities: %s\n", SanitizeForLog(r.caps).c_str());
  if (!r.error.empty()) {
    std::fprintf(ctx.out, "FAILED: %s\n", SanitizeForLog(ExplainSmtpFailure(r.error, a), 2048).c_str());
    return 1;
  }
  if (!a.username.empty())
    std::fprintf(ctx.out, "auth: ok as %s\n", SanitizeForLog(a.username).c_str());
  else
    std::fprintf(ctx.out, "auth: none configured\n");
  std::fprintf(ctx.out, "OK: account \"%s\" is ready to send\n", a.name.c_str());
  return 0;
}

const char* ResultName(RcptResult r) {
  switch (r) {
    case RcptResult::kDelivered: return "delivered";
    case RcptResult::kDeferred: return "deferred";
    case RcptResult::kRejected: return "rejected";
  }
  return "?";
}

int SendOne(CommandContext& ctx, const std::string& config_path, const std::string& name,
            const std::string& from, const std::string& to, const std::string& file) {
  auto l = LoadAccount(ctx, config_path, name);
  if (!l.ok()) return ctx.Fail(l.status(), 2);
  const AccountConfig& a = *l->account;
  auto read = ctx.ReadMessageArg(file, kMaxMessageBytes);
  if (!read.ok()) return ctx.Fail(read.status(), 2);
  const std::string& bytes = *read;
  if (HasLineBreak(from) || HasLineBreak(to))
    return ctx.Fail(absl::InvalidArgumentError("--from/--to must not contain line breaks"), 2);
  auto msg = std::make_shared<RenderedMessage>(MessageFromBytes(bytes, from, to));
  std::string source_ip = a.source_ips.empty() ? "" : a.source_ips.front();
  WorkerGroup group;
  absl::Status st = group.Start(SmtpProbeOptions(*l->config, ctx.err));
  if (!st.ok()) return ctx.Fail(st);
  Worker& w = group.worker(0);
  std::promise<SendReport> promise;
  auto fut = promise.get_future();
  w.Post([&] {
    SendRequest req;
    req.id = 1;
    req.message = msg;
    req.account = &a;
    req.source_ip = source_ip;
    w.Submit(std::move(req), [&promise](const SendReport& r) { promise.set_value(r); });
  });
  SendReport r = fut.get();
  group.Stop(StopMode::kDrain);
  const RcptOutcome& o = r.outcome;
  std::string detail;
  if (o.reply.code != 0) detail = o.reply.ToString();
  if (!o.failure.empty())
    detail = detail.empty() ? ExplainSmtpFailure(o.failure, a) : absl::StrCat(detail, " (", o.failure, ")");
  std::fprintf(ctx.out, "%s: %s -> %s via %s (%s:%u) in %s\n", ResultName(o.result), from.c_str(),
               to.c_str(), a.name.c_str(), a.host.c_str(), a.port,
               absl::FormatDuration(absl::Trunc(r.latency, absl::Milliseconds(1))).c_str());
  if (!detail.empty()) std::fprintf(ctx.out, "reply: %s\n", SanitizeForLog(detail, 2048).c_str());
  if (r.account_unusable)
    std::fprintf(ctx.out, "account unusable: %s\n", SanitizeForLog(r.account_reason).c_str());
  return o.result == RcptResult::kDelivered ? 0 : 1;
}

}  // namespace

void RegisterSmtpCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  auto* check = app.add_subcommand(
      "smtp-check", "Connect to an [[account]]: EHLO, TLS, AUTH; print the server's capabilities");
  auto config = std::make_shared<std::string>("salvo.toml");
  auto account = std::make_shared<std::string>();
  check->add_option("-c,--config", *config, "config file")->capture_default_str();
  check->add_option("--account", *account, "[[account]] name")->required();
  check->callback([&ctx, rc, config, account] { *rc = SmtpCheck(ctx, *config, *account); });

  auto* one = app.add_subcommand("send-one", "Send one message file through an [[account]]");
  auto config1 = std::make_shared<std::string>("salvo.toml");
  auto account1 = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  one->add_option("-c,--config", *config1, "config file")->capture_default_str();
  one->add_option("--account", *account1, "[[account]] name")->required();
  one->add_option("--from", *from, "envelope sender (MAIL FROM)")->required();
  one->add_option("--to", *to, "recipient (RCPT TO)")->required();
  one->add_option("--file", *file, "message file (.eml; '-' = stdin); line ends become CRLF")
      ->required();
  one->callback([&ctx, rc, config1, account1, from, to, file] {
    *rc = SendOne(ctx, *config1, *account1, *from, *to, *file);
  });
}

}  // namespace salvo
