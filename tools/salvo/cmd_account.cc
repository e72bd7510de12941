// `salvo account list|pause|resume`: the state of each configured SMTP account (active, or paused
// with why and until when), today's count against daily_limit, the feedback events received on
// its own webhook URL (/webhooks/{provider}/{account}), and the last reply or operator
// action that changed its state (store/account_store.h, shard/account_state.h). Forwarded to
// `salvo serve` when it owns the data_dir, so a pause or resume reaches running campaigns at once.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "engine/base/clock.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/json.h"
#include "engine/policy/warmup.h"
#include "shard/account_state.h"
#include "store/account_store.h"
#include "store/campaign_store.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

int ListAccounts(CommandContext& ctx, const Config& cfg, Store* store, bool json) {
  const int64_t now = NowUnixSeconds();
  const std::string today = CampaignStore::UtcDay(now);
  std::string out = json ? "{\"accounts\":[" : "";
  if (!json)
    absl::StrAppendFormat(&out, "%-20s %-58s %-17s %-8s %s\n", "ACCOUNT", "STATE", "TODAY / LIMIT",
                          "WEBHOOKS", "LAST CHANGE");
  bool first = true;
  for (const AccountConfig& a : cfg.accounts) {
    auto rec = AccountStore(store).Get(a.name);
    if (!rec.ok()) return ctx.Fail(rec.status());
    auto sent = CampaignStore(store).GetDailyCount(a.name, today);
    if (!sent.ok()) return ctx.Fail(sent.status());
    auto hooks = AccountStore(store).WebhookEvents(a.name);  // via its own webhook URL
    if (!hooks.ok()) return ctx.Fail(hooks.status());
    const AccountRecord r = rec->value_or(AccountRecord{});
    const bool paused = r.PausedAt(now);
    const std::string until = r.until ? FormatUnixTime(r.until) : "";
    // A warm-up lowers today's limit ([[warmup]], engine/policy/warmup.h).
    uint64_t limit_today = a.daily_limit;
    std::optional<uint64_t> warm;
    if (const WarmupConfig* w = cfg.FindWarmup(a.name, "")) warm = WarmupCapOnDay(*w, now / 86400);
    if (warm) limit_today = limit_today ? std::min(limit_today, *warm) : *warm;
    if (json) {
      absl::StrAppend(&out, first ? "" : ",", "{\"name\":", JsonString(a.name),
                      ",\"state\":", paused ? "\"paused\"" : "\"active\"",
                      ",\"reason\":", JsonString(paused ? r.reason : ""),
                      ",\"until\":", paused && r.until ? JsonString(until) : "null",
                      ",\"today\":", *sent, ",\"daily_limit\":", a.daily_limit,
                      ",\"warmup_cap\":", warm ? absl::StrCat(*warm) : "null",
                      ",\"limit_today\":", limit_today,
                      ",\"last_reply\":", JsonString(r.reply),
                      ",\"changed_at\":", r.changed_at ? JsonString(FormatUnixTime(r.changed_at)) : "null",
                      ",\"webhook_events\":", *hooks, "}");
    } else {
      const std::string state =
          paused ? absl::StrCat("paused: ", r.reason, " ", r.until ? "until " + until : "until resumed")
                 : "active";
      const std::string limit =
          limit_today ? absl::StrCat(limit_today, warm ? " (warm-up)" : "") : "-";
      const std::string change =
          r.changed_at ? absl::StrCat(FormatUnixTime(r.changed_at), " ", r.reply) : "-";
      absl::StrAppendFormat(&out, "%-20s %-58s %-17s %-8d %s\n", a.name, state,
                            absl::StrCat(*sent, " / ", limit), *hooks, change);
    }
    first = false;
  }
  if (json) out += "]}\n";
  std::fputs(out.c_str(), ctx.out);
  return 0;
}

int ChangeAccount(CommandContext& ctx, const std::string& config_path, const std::string& name,
                  bool pause) {
  auto cfg = ctx.LoadConfigOnce(config_path);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  const AccountConfig* account = (*cfg)->FindAccount(name);
  if (account == nullptr)
    return ctx.Fail(absl::NotFoundError(absl::StrCat("unknown account \"", name, "\"")));
  auto store = ctx.OpenStoreOnce(**cfg);
  if (!store.ok()) return ctx.Fail(store.status());
  const absl::Time now = ProcessClock().Now();
  // The process's state (in the daemon: the one its running campaigns use).
  auto state = AccountStates::Process().Acquire(*store, *account, absl::ToUnixMicros(now),
                                                &(*cfg)->warmups);
  if (!state.ok()) return ctx.Fail(state.status());
  const int64_t now_s = absl::ToUnixSeconds(now);
  if (pause) {
    auto changed = (*state)->Pause(*store, "manual", "paused by operator", now_s, /*until=*/0);
    if (!changed.ok()) return ctx.Fail(changed.status());
    std::fprintf(ctx.out, "account %s: %s\n", name.c_str(),
                 *changed ? "paused until resumed" : "already paused");
  } else {
    absl::Status st = (*state)->Resume(*store, "resumed by operator", now_s);
    if (!st.ok()) return ctx.Fail(st);
    std::fprintf(ctx.out, "account %s: active\n", name.c_str());
  }
  return 0;
}

}  // namespace

void RegisterAccountCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  CLI::App* account = AddCommandGroup(app, "account", "SMTP account state: list, pause, resume");
  AddListCommand(*account, ctx, rc, "list",
                 "Every account: active or paused (why, until), today's count, last change",
                 "one JSON object {\"accounts\":[...]}",
                 [&ctx](const std::string&, const Config& cfg, Store* store, bool json) {
                   return ListAccounts(ctx, cfg, store, json);
                 });

  for (const bool pause : {true, false}) {
    auto cfg = std::make_shared<std::string>("salvo.toml");
    auto name = std::make_shared<std::string>();
    CLI::App* sub = account->add_subcommand(
        pause ? "pause" : "resume",
        pause ? "Pause an account until `salvo account resume`" : "End an account's pause");
    sub->add_option("-c,--config", *cfg, "config file")->capture_default_str();
    sub->add_option("name", *name, "account name")->required();
    sub->callback([&ctx, rc, cfg, name, pause] {
      *rc = ForwardOrRun(ctx, *cfg, [&] { return ChangeAccount(ctx, *cfg, *name, pause); });
    });
  }
}

}  // namespace salvo
