// `salvo inject`: queues one message (an .eml file) for one or more recipients in the daemon's
// durable queue (store/queue_store.h); `salvo serve`'s delivery loop sends it
// (shard/queue_delivery.h). Forwarded to the daemon when it owns the data_dir (its loop is
// woken at once); else the store is opened here and the message waits for the daemon.
// Trust: every argument and the file are user input: addresses are normalized (errors name the
// option and value), the route must be configured, the file is bounded (25 MB) and its line
// endings are normalized to CRLF before it is stored, so no bare CR or LF reaches the wire.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/json.h"
#include "engine/base/strings.h"
#include "engine/base/types.h"
#include "engine/smtp/raw_message.h"
#include "store/queue_store.h"
#include "store/suppression_store.h"
#include "tools/salvo/command.h"
#include "tools/salvo/daemon.h"

namespace salvo {
namespace {

struct InjectArgs {
  std::string config = "salvo.toml";
  std::string from;
  std::vector<std::string> to;
  std::string file;
  std::string route;
  bool json = false;
};

// --route, or the only route with purpose = "responder".
[[nodiscard]] absl::StatusOr<std::string> RouteFor(const Config& c, const std::string& route) {
  if (!route.empty()) {
    if (!c.FindRoute(route))
      return absl::InvalidArgumentError(
          absl::StrCat("--route: no [[route]] named \"", SanitizeForLog(route, 64), "\" in ",
                       c.path));
    return route;
  }
  std::vector<std::string> responders;
  for (const RouteConfig& r : c.routes)
    if (r.purpose == "responder") responders.push_back(r.name);
  if (responders.size() == 1) return responders[0];
  return absl::InvalidArgumentError(absl::StrCat(
      "--route is required: ", responders.size(),
      " routes have purpose = \"responder\" (the default needs exactly one)"));
}

int Inject(CommandContext& ctx, const InjectArgs& a) {
  auto cfg = ctx.LoadConfigOnce(a.config);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  auto route = RouteFor(**cfg, a.route);
  if (!route.ok()) return ctx.Fail(route.status(), 2);
  auto from = NormalizeAddress(a.from);
  if (!from.ok())
    return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(
                        "--from \"", SanitizeForLog(a.from, 80), "\": ", from.status().message())),
                    2);
  std::vector<NormalizedAddress> to;
  for (const std::string& t : a.to) {
    auto n = NormalizeAddress(t);
    if (!n.ok())
      return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(
                          "--to \"", SanitizeForLog(t, 80), "\": ", n.status().message())),
                      2);
    to.push_back(*std::move(n));
  }
  const QueueLimits limits;
  auto body = ctx.ReadMessageArg(a.file, limits.max_message_bytes);
  if (!body.ok())
    return ctx.Fail(absl::InvalidArgumentError(absl::StrCat("--file ", body.status().message())), 2);
  auto store = ctx.OpenStoreOnce(**cfg);
  if (!store.ok()) return ctx.Fail(store.status());

  // Suppressed recipients are refused here, each named; the others are queued.
  NewMessage m;
  m.route = *route;
  m.sender = from->address;
  m.body = NormalizeCrlf(*body);
  m.origin = "inject:cli";
  std::vector<std::pair<std::string, std::string>> refused;  // recipient, reason
  SuppressionStore sup(*store);
  for (const NormalizedAddress& n : to) {
    auto s = sup.Check(n.key);
    if (!s.ok()) return ctx.Fail(s.status());
    if (s->has_value()) {
      refused.emplace_back(n.address, std::string(SuppressionReasonName((*s)->reason)));
      continue;
    }
    if (std::find(m.recipients.begin(), m.recipients.end(), n.address) == m.recipients.end())
      m.recipients.push_back(n.address);
  }
  std::vector<std::string> ids;
  if (!m.recipients.empty()) {
    auto r = QueueStore(*store, limits).Enqueue({m});
    if (!r.ok()) return ctx.Fail(r.status(), r.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
    ids = *std::move(r);
    if (ctx.daemon && ctx.daemon->queue()) ctx.daemon->queue()->Wake();
  }

  std::string out;
  if (a.json) {
    absl::StrAppend(&out, "{\"route\":", JsonString(*route), ",\"queued\":[");
    for (size_t i = 0; i < ids.size(); ++i)
      absl::StrAppend(&out, i ? "," : "", "{\"id\":", JsonString(ids[i]),
                      ",\"recipient\":", JsonString(m.recipients[i]), "}");
    out += "],\"suppressed\":[";
    for (size_t i = 0; i < refused.size(); ++i)
      absl::StrAppend(&out, i ? "," : "", "{\"recipient\":", JsonString(refused[i].first),
                      ",\"reason\":", JsonString(refused[i].second), "}");
    out += "]}\n";
  } else {
    for (size_t i = 0; i < ids.size(); ++i)
      absl::StrAppend(&out, "queued ", ids[i], " ", m.recipients[i], "\n");
    for (const auto& [rcpt, reason] : refused)
      absl::StrAppend(&out, "suppressed ", rcpt, " (", reason, "): not queued\n");
  }
  std::fputs(out.c_str(), ctx.out);
  if (!ctx.daemon && !ids.empty())
    std::fprintf(ctx.err,
                 "salvo: no salvo serve is running on %s: the message(s) are delivered when it "
                 "runs\n",
                 (*cfg)->data_dir.c_str());
  return 0;
}

}  // namespace

void RegisterInjectCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  auto a = std::make_shared<InjectArgs>();
  CLI::App* inject = app.add_subcommand(
      "inject", "Queue a message (.eml) for delivery by salvo serve, one entry per recipient");
  inject->add_option("-c,--config", a->config, "config file")->capture_default_str();
  inject->add_option("--from", a->from, "envelope sender (MAIL FROM)")->required();
  inject->add_option("--to", a->to, "recipient (repeat for more)")->required();
  inject->add_option("--file", a->file, "the RFC 5322 message ('-' = stdin)")->required();
  inject->add_option("--route", a->route,
                     "route (default: the only route with purpose = \"responder\")");
  inject->add_flag("--json", a->json, "{\"route\",\"queued\":[{id,recipient}],\"suppressed\":[...]}");
  inject->callback([a, &ctx, rc] {
    if (auto r = ForwardToDaemon(ctx, a->config)) {
      *rc = *r;
      return;
    }
    *rc = Inject(ctx, *a);
  });
}

}  // namespace salvo
