// `salvo preflight`: one line per check (pass / warn / fail) with what was found and the fix;
// exit 0 without a fail, 1 with one. See tools/salvo/preflight_run.h for what is checked.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/policy/routing.h"
#include "tools/salvo/command.h"
#include "tools/salvo/preflight_run.h"

namespace salvo {
namespace {

struct PreflightArgs {
  std::string config = "salvo.toml", campaign, responder, account;
  bool json = false;
};

int Preflight(CommandContext& ctx, const PreflightArgs& a) {
  auto cfg = ctx.LoadConfigOnce(a.config);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  const Config& config = **cfg;
  const int given = !a.campaign.empty() + !a.responder.empty() + !a.account.empty();
  if (given != 1)
    return ctx.Fail(absl::InvalidArgumentError("give exactly one of --campaign, --responder, --account"), 2);
  PreflightInput in;
  in.config = &config;
  in.log = ctx.err;
  absl::StatusOr<LoadedCampaign> loaded = absl::UnknownError("");
  if (!a.campaign.empty()) {
    loaded = LoadCampaignFiles(ctx.Path(a.campaign), config, ctx.Path(a.config));
    if (!loaded.ok()) return ctx.Fail(loaded.status(), 2);
    in.campaign = &*loaded;
    auto route = SelectRoute(config, loaded->campaign.route, loaded->campaign.list);
    if (!route.ok()) return ctx.Fail(route.status(), 2);
    auto senders = RouteAccounts(config, **route);
    if (!senders.ok()) return ctx.Fail(senders.status(), 2);
    in.senders = *senders;
  } else if (!a.responder.empty()) {
    const RouteConfig* route = config.FindRoute(a.responder);
    if (route == nullptr)
      return ctx.Fail(absl::NotFoundError(absl::StrCat("no [[route]] named \"", a.responder, "\"")), 2);
    auto senders = RouteAccounts(config, *route);
    if (!senders.ok()) return ctx.Fail(senders.status(), 2);
    in.senders = *senders;
  } else {
    const AccountConfig* acc = config.FindAccount(a.account);
    if (acc == nullptr)
      return ctx.Fail(absl::NotFoundError(absl::StrCat("no [[account]] named \"", a.account, "\"")), 2);
    in.senders = {acc};
  }
  auto store = ctx.OpenStoreOnce(config);
  if (!store.ok()) return ctx.Fail(store.status());
  in.store = *store;
  auto rep = RunPreflight(in);
  if (!rep.ok()) return ctx.Fail(rep.status());
  std::fputs(a.json ? (rep->ToJson() + "\n").c_str() : rep->ToText().c_str(), ctx.out);
  return rep->fails() ? 1 : 0;
}

}  // namespace

void RegisterPreflightCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  auto a = std::make_shared<PreflightArgs>();
  CLI::App* cmd = app.add_subcommand(
      "preflight", "Check DNS (SPF, DKIM, DMARC, PTR), content, list and accounts before sending");
  cmd->add_option("-c,--config", a->config, "salvo.toml");
  cmd->add_option("--campaign", a->campaign, "campaign file (TOML): every check");
  cmd->add_option("--responder", a->responder, "a [[route]] (e.g. purpose = \"responder\"): its accounts and domains");
  cmd->add_option("--account", a->account, "one [[account]]: its domains, IPs and connection");
  cmd->add_flag("--json", a->json, "one JSON object: {\"checks\":[...],\"fails\":N,\"warns\":N}");
  cmd->callback([&ctx, rc, a] {
    if (auto r = ForwardToDaemon(ctx, a->config)) {
      *rc = *r;
      return;
    }
    *rc = Preflight(ctx, *a);
  });
}

}  // namespace salvo
