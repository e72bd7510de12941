// `salvo campaign schedule|list|unschedule`: the calendar's commands. A scheduled campaign is
// stored with its files (a snapshot: later edits change nothing) and started by `salvo serve`
// when due (tools/salvo/scheduler.h).
#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "engine/base/json.h"
#include "engine/base/strings.h"
#include "engine/policy/routing.h"
#include "shard/campaign_runner.h"
#include "store/campaign_store.h"
#include "tools/salvo/campaign_source.h"
#include "tools/salvo/command.h"
#include "tools/salvo/daemon.h"
#include "tools/salvo/preflight_run.h"

namespace salvo {
namespace {

std::string TimeText(int64_t unix_s) {
  if (unix_s == 0) return "-";
  return FormatUnixTime(unix_s);
}

// "now", or an RFC 3339 time with its offset ("2026-12-10T09:00:00+01:00").
absl::StatusOr<int64_t> ParseAt(const std::string& at) {
  if (at == "now") return NowUnixSeconds();
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, at, &t, &err))
    return absl::InvalidArgumentError(absl::StrCat(
        "--at \"", at, "\" is not \"now\" or an RFC 3339 time such as 2026-12-10T09:00:00+01:00 (",
        err, ")"));
  return absl::ToUnixSeconds(t);
}

int Schedule(CommandContext& ctx, const std::string& config_path, const std::string& campaign_path,
             const std::string& at_text, bool skip_preflight, bool json) {
  auto cfg = ctx.LoadConfigOnce(config_path);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  const Config& config = **cfg;
  auto at = ParseAt(at_text);
  if (!at.ok()) return ctx.Fail(at.status(), 2);
  // Everything a send would refuse is refused now, not at 09:00 on the day.
  auto loaded = LoadCampaignFiles(ctx.Path(campaign_path), config, ctx.Path(config_path));
  if (!loaded.ok()) return ctx.Fail(loaded.status(), 2);
  auto route = SelectRoute(config, loaded->campaign.route, loaded->campaign.list);
  if (!route.ok()) return ctx.Fail(route.status(), 2);
  auto store = ctx.OpenStoreOnce(config);
  if (!store.ok()) return ctx.Fail(store.status());
  if (!skip_preflight) {
    if (int rc = PreflightGate(config, *store, *loaded, ctx.out, ctx.err)) return rc;
  }
  CampaignStore cs(*store);
  const std::string& id = loaded->campaign.id;
  auto existing = cs.Get(id);
  if (!existing.ok()) return ctx.Fail(existing.status());
  CampaignRecord rec;
  if (*existing) {
    if ((*existing)->state != CampaignState::kScheduled)
      return ctx.Fail(absl::FailedPreconditionError(absl::StrCat(
          "campaign \"", id, "\" already exists (", Av(CampaignStateName((*existing)->state)),
          "): schedule it under a new id, or `salvo campaign resume --id ", id, "`")));
    rec = **existing;  // scheduled again: the new time and files replace the old
  }
  rec.id = id;
  rec.list = loaded->campaign.list;
  rec.state = CampaignState::kScheduled;
  rec.route = (*route)->name;
  rec.scheduled_at = *at;
  rec.next_action_at = *at;
  rec.campaign_file = loaded->snapshot.campaign_path;
  rec.config_file = loaded->snapshot.config_file;
  rec.skip_preflight = skip_preflight;
  rec.pause_reason.clear();
  if (absl::Status st = cs.PutSnapshot(id, loaded->snapshot); !st.ok()) return ctx.Fail(st);
  if (absl::Status st = cs.Put(rec); !st.ok()) return ctx.Fail(st);
  if (ctx.daemon != nullptr && ctx.daemon->scheduler() != nullptr) ctx.daemon->scheduler()->Wake();
  if (json) {
    std::fprintf(ctx.out, "{\"id\":%s,\"state\":\"scheduled\",\"scheduled_at\":%lld,\"at\":\"%s\"}\n",
                 JsonString(id).c_str(), static_cast<long long>(*at), TimeText(*at).c_str());
  } else {
    std::fprintf(ctx.out, "campaign %s scheduled for %s (list %s, route %s)%s\n", id.c_str(),
                 TimeText(*at).c_str(), rec.list.c_str(), rec.route.c_str(),
                 ctx.daemon ? "" : "; `salvo serve` starts it when due");
  }
  return 0;
}

int Unschedule(CommandContext& ctx, const std::string& config_path, const std::string& id) {
  const Config* cfg;
  Store* store;
  if (int rc = ctx.OpenConfigAndStore(config_path, &cfg, &store)) return rc;
  // Under the campaign's run lock: the calendar cannot start it meanwhile.
  auto lock = LockCampaignRun(cfg->data_dir, id, ProcessClock().Now());
  if (!lock.ok()) return ctx.Fail(lock.status());
  CampaignStore cs(store);
  auto rec = cs.Get(id);
  if (!rec.ok()) return ctx.Fail(rec.status());
  if (!*rec) return ctx.Fail(absl::NotFoundError(absl::StrCat("no campaign \"", id, "\"")));
  if ((*rec)->state != CampaignState::kScheduled)
    return ctx.Fail(absl::FailedPreconditionError(
        absl::StrCat("campaign \"", id, "\" is ", Av(CampaignStateName((*rec)->state)),
                     ", not scheduled: use `salvo campaign cancel --id ", id, "`")));
  if (absl::Status st = cs.Delete(id); !st.ok()) return ctx.Fail(st);
  std::fprintf(ctx.out, "campaign %s unscheduled\n", id.c_str());
  return 0;
}

int List(CommandContext& ctx, const std::string& config_path, bool json) {
  Store* store;
  if (int rc = ctx.OpenConfigAndStore(config_path, nullptr, &store)) return rc;
  auto recs = CampaignStore(store).List();
  if (!recs.ok()) return ctx.Fail(recs.status());
  std::string j = "{\"campaigns\":[";
  if (!json)
    std::fprintf(ctx.out, "%-24s %-10s %-20s %10s %10s %8s %8s %8s  %s\n", "ID", "STATE", "NEXT",
                 "LIST", "DELIVERED", "BOUNCED", "FAILED", "DEFERRED", "REASON");
  bool first = true;
  for (const CampaignRecord& r : *recs) {
    auto p = CampaignStatusFromStore(store, r.id);
    if (!p.ok()) return ctx.Fail(p.status());
    const int64_t next = r.state == CampaignState::kScheduled ? r.scheduled_at : r.next_action_at;
    std::string reason = r.pause_reason;
    if (r.state == CampaignState::kWaiting && reason.empty())  // only retries left
      reason = absl::StrCat(p->deferred - p->deferred_final, " deferred, retried at ",
                            TimeText(next));
    if (json) {
      absl::StrAppend(&j, first ? "" : ",", "{\"id\":", JsonString(r.id), ",\"state\":\"",
                      Av(CampaignStateName(r.state)), "\",\"reason\":", JsonString(reason),
                      ",\"next_action_at\":", next, ",\"scheduled_at\":", r.scheduled_at,
                      ",\"preflight_skipped\":", r.skip_preflight ? "true" : "false",
                      ",\"list\":", JsonString(r.list), ",\"route\":", JsonString(r.route),
                      ",\"list_size\":", p->list_size, ",\"delivered\":", p->delivered,
                      ",\"bounced\":", p->bounced, ",\"failed\":", p->failed,
                      ",\"deferred\":", p->deferred, ",\"suppressed\":", p->suppressed,
                      ",\"no_consent\":", p->no_consent, ",\"pending\":", p->Pending(), "}");
    } else {
      std::fprintf(ctx.out, "%-24s %-10s %-20s %10llu %10llu %8llu %8llu %8llu  %s\n", r.id.c_str(),
                   std::string(CampaignStateName(r.state)).c_str(), TimeText(next).c_str(),
                   static_cast<unsigned long long>(p->list_size),
                   static_cast<unsigned long long>(p->delivered),
                   static_cast<unsigned long long>(p->bounced),
                   static_cast<unsigned long long>(p->failed),
                   static_cast<unsigned long long>(p->deferred), reason.c_str());
    }
    first = false;
  }
  if (json) std::fprintf(ctx.out, "%s]}\n", j.c_str());
  return 0;
}

}  // namespace

void RegisterScheduleCommands(CLI::App* camp, CommandContext& ctx, int* rc) {
  struct Args {
    std::string config = "salvo.toml", campaign, at, id;
    bool json = false, skip_preflight = false;
  };
  // Each subcommand takes -c and runs in salvo serve when one owns the data_dir.
  auto add = [&](const char* name, const char* what, auto run) {
    auto args = std::make_shared<Args>();
    CLI::App* sub = camp->add_subcommand(name, what);
    sub->add_option("-c,--config", args->config, "salvo.toml");
    sub->callback([&ctx, rc, args, run] {
      *rc = ForwardOrRun(ctx, args->config, [&] { return run(*args); });
    });
    return std::make_pair(sub, args);
  };
  auto [sched, a] = add("schedule", "store a campaign for salvo serve to start at a time",
                        [&ctx](const Args& x) {
                          return Schedule(ctx, x.config, x.campaign, x.at, x.skip_preflight, x.json);
                        });
  sched->add_option("--campaign", a->campaign, "campaign file (TOML)")->required();
  sched->add_option("--at", a->at, "\"now\" or an RFC 3339 time, e.g. 2026-12-10T09:00:00+01:00")
      ->required();
  sched->add_flag("--skip-preflight", a->skip_preflight, "do not run preflight first (recorded)");
  sched->add_flag("--json", a->json, "JSON output");
  auto [list, l] = add("list", "every campaign: state, next action, counts",
                       [&ctx](const Args& x) { return List(ctx, x.config, x.json); });
  list->add_flag("--json", l->json, "JSON output");
  auto [unsched, u] = add("unschedule", "remove a campaign that has not started",
                          [&ctx](const Args& x) { return Unschedule(ctx, x.config, x.id); });
  unsched->add_option("--id", u->id, "campaign id")->required();
}

}  // namespace salvo
