// `salvo queue list|show|retry|cancel|sweep`: what happened to each queued message (responders,
// deliveries, injected and submitted mail) and the operator's actions on it (store/queue_store.h).
// Forwarded to `salvo serve` when it owns the data_dir, so the daemon's delivery loop sees the
// change at once; else the store is opened here. Trust: ids and state names are user input,
// checked by the store (errors name them); stored replies were sanitized when written.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "engine/base/json.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "store/queue_store.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

std::string Time(int64_t unix_us) {
  if (unix_us == 0) return "-";
  return FormatUnixTime(unix_us / 1000000);
}
std::string JsonTime(int64_t unix_us) {
  return unix_us == 0 ? "null" : JsonString(Time(unix_us));
}
int64_t NowUs() { return NowUnixMicros(); }
// "7d", "36h0m0s" ...: whole days as days (how [queue] keep is usually written).
std::string DurationText(absl::Duration d) {
  absl::Duration rest;
  const int64_t days = absl::IDivDuration(d, absl::Hours(24), &rest);
  if (days > 0 && rest == absl::ZeroDuration()) return absl::StrCat(days, "d");
  return absl::FormatDuration(d);
}

[[nodiscard]] absl::StatusOr<QueueStore> OpenQueue(CommandContext& ctx, const std::string& config) {
  ASSIGN_OR_RETURN(Store * store, ctx.OpenStore(config));
  return QueueStore(store);
}

std::string LastReply(const QueueEntry& e) {
  return e.history.empty() ? "" : e.history.back().reply;
}

void AppendJsonEntry(const QueueEntry& e, bool full, std::string* out) {
  absl::StrAppend(out, "{\"id\":", JsonString(e.id), ",\"state\":", JsonString(QueueStateName(e.state)),
                  ",\"route\":", JsonString(e.route), ",\"sender\":", JsonString(e.sender),
                  ",\"recipient\":", JsonString(e.recipient), ",\"origin\":", JsonString(e.origin),
                  ",\"created\":", JsonTime(e.created_us), ",\"state_since\":", JsonTime(e.state_since_us),
                  ",\"next_attempt\":", JsonTime(e.next_attempt_us), ",\"attempts\":", e.attempts,
                  ",\"last_reply\":", JsonString(LastReply(e)));
  if (full) {
    absl::StrAppend(out, ",\"first_attempt\":", JsonTime(e.first_attempt_us),
                    ",\"body_id\":", JsonString(e.body_id), ",\"body_bytes\":", e.body_bytes,
                    ",\"body_recipients\":", e.body_entries, ",\"history\":[");
    for (size_t i = 0; i < e.history.size(); ++i) {
      const QueueAttempt& a = e.history[i];
      absl::StrAppend(out, i ? "," : "", "{\"at\":", JsonTime(a.at_us), ",\"account\":",
                      JsonString(a.account), ",\"result\":", JsonString(QueueStateName(a.result)),
                      ",\"reply\":", JsonString(a.reply), "}");
    }
    out->push_back(']');
  }
  out->push_back('}');
}

struct ListArgs {
  std::string config = "salvo.toml";
  std::string state;
  std::string route;
  std::string after;
  size_t limit = 100;
  bool json = false;
};

int List(CommandContext& ctx, const ListArgs& a) {
  QueueFilter f;
  if (!a.state.empty()) {
    auto s = ParseQueueState(a.state);
    if (!s.ok()) return ctx.Fail(s.status(), 2);
    f.state = *s;
  }
  f.route = a.route;
  f.after = a.after;
  f.limit = a.limit;
  auto q = OpenQueue(ctx, a.config);
  if (!q.ok()) return ctx.Fail(q.status());
  auto entries = q->List(f);
  if (!entries.ok()) return ctx.Fail(entries.status());
  // More may follow when the page is full: the last id is where the next page starts.
  const std::string next = entries->size() == a.limit && a.limit > 0 ? entries->back().id : "";
  std::string out;
  if (a.json) {
    out = "{\"messages\":[";
    for (size_t i = 0; i < entries->size(); ++i) {
      if (i) out.push_back(',');
      AppendJsonEntry((*entries)[i], /*full=*/false, &out);
    }
    absl::StrAppend(&out, "],\"next_after\":", next.empty() ? "null" : JsonString(next), "}\n");
  } else {
    absl::StrAppendFormat(&out, "%-16s  %-10s  %-16s  %-32s  %3s  %-20s  %s\n", "ID", "STATE",
                          "ROUTE", "RECIPIENT", "TRY", "SINCE", "NEXT ATTEMPT / LAST REPLY");
    for (const QueueEntry& e : *entries) {
      std::string detail = LastReply(e);
      if (e.next_attempt_us != 0)
        detail = absl::StrCat("next ", Time(e.next_attempt_us), detail.empty() ? "" : "  ", detail);
      absl::StrAppendFormat(&out, "%-16s  %-10s  %-16s  %-32s  %3d  %-20s  %s\n", e.id,
                            Av(QueueStateName(e.state)), e.route, e.recipient, e.attempts,
                            Time(e.state_since_us), detail);
    }
    if (entries->empty()) out += "(no messages)\n";
    if (!next.empty()) absl::StrAppend(&out, "more: --after ", next, "\n");
  }
  std::fputs(out.c_str(), ctx.out);
  return 0;
}

int Show(CommandContext& ctx, const std::string& config, const std::string& id, bool json) {
  auto q = OpenQueue(ctx, config);
  if (!q.ok()) return ctx.Fail(q.status());
  auto e = q->Get(id);
  if (!e.ok()) return ctx.Fail(e.status());
  std::string out;
  if (json) {
    AppendJsonEntry(*e, /*full=*/true, &out);
    out.push_back('\n');
  } else {
    std::string state = absl::StrCat(Av(QueueStateName(e->state)), " since ", Time(e->state_since_us));
    if (e->next_attempt_us != 0) absl::StrAppend(&state, ", next attempt ", Time(e->next_attempt_us));
    absl::StrAppendFormat(&out, "%-10s %s\n", "id", e->id);
    absl::StrAppendFormat(&out, "%-10s %s\n", "state", state);
    absl::StrAppendFormat(&out, "%-10s %s\n", "route", e->route);
    absl::StrAppendFormat(&out, "%-10s %s\n", "from", e->sender.empty() ? "<>" : e->sender);
    absl::StrAppendFormat(&out, "%-10s %s\n", "to", e->recipient);
    absl::StrAppendFormat(&out, "%-10s %s\n", "origin", e->origin.empty() ? "-" : e->origin);
    absl::StrAppendFormat(&out, "%-10s %s\n", "created", Time(e->created_us));
    absl::StrAppendFormat(&out, "%-10s %d%s\n", "attempts", e->attempts,
                          e->first_attempt_us ? absl::StrCat(" (first ", Time(e->first_attempt_us), ")")
                                              : "");
    absl::StrAppendFormat(&out, "%-10s %d bytes (body %s, %d recipient%s)\n", "message",
                          e->body_bytes, e->body_id, e->body_entries, e->body_entries == 1 ? "" : "s");
    if (!e->history.empty()) {
      absl::StrAppend(&out, "history", e->attempts > e->history.size() ? " (latest)" : "", ":\n");
      for (const QueueAttempt& a : e->history)
        absl::StrAppendFormat(&out, "  %s  %-16s  %-10s  %s\n", Time(a.at_us),
                              a.account.empty() ? "-" : a.account, Av(QueueStateName(a.result)), a.reply);
    }
  }
  std::fputs(out.c_str(), ctx.out);
  return 0;
}

int Retry(CommandContext& ctx, const std::string& config, const std::string& id, bool deferred) {
  if (deferred == !id.empty())
    return ctx.Fail(absl::InvalidArgumentError("queue retry needs exactly one of ID or --deferred"), 2);
  auto q = OpenQueue(ctx, config);
  if (!q.ok()) return ctx.Fail(q.status());
  if (deferred) {
    auto n = q->RetryAllDeferred(NowUs());
    if (!n.ok()) return ctx.Fail(n.status());
    std::fprintf(ctx.out, "%llu deferred message%s queued for now\n",
                 static_cast<unsigned long long>(*n), *n == 1 ? "" : "s");
    return 0;
  }
  absl::Status st = q->Retry(id, NowUs());
  if (!st.ok()) return ctx.Fail(st);
  std::fprintf(ctx.out, "message %s: queued for now\n", id.c_str());
  return 0;
}

int Cancel(CommandContext& ctx, const std::string& config, const std::string& id) {
  auto q = OpenQueue(ctx, config);
  if (!q.ok()) return ctx.Fail(q.status());
  absl::Status st = q->Cancel(id, NowUs());
  if (!st.ok()) return ctx.Fail(st);
  std::fprintf(ctx.out, "message %s: cancelled\n", id.c_str());
  return 0;
}

int Sweep(CommandContext& ctx, const std::string& config) {
  auto cfg = ctx.LoadConfigOnce(config);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  auto q = OpenQueue(ctx, config);
  if (!q.ok()) return ctx.Fail(q.status());
  auto n = q->Sweep(NowUs(), (*cfg)->queue.keep);
  if (!n.ok()) return ctx.Fail(n.status());
  std::fprintf(ctx.out, "%llu finished message%s older than %s deleted\n",
               static_cast<unsigned long long>(*n), *n == 1 ? "" : "s",
               DurationText((*cfg)->queue.keep).c_str());
  return 0;
}

}  // namespace

void RegisterQueueCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  CLI::App* queue =
      AddCommandGroup(app, "queue", "The daemon's message queue: list, show, retry, cancel, sweep");
  // Runs `local` unless a salvo serve owns the data_dir (then the command runs there).
  auto run = [&ctx, rc](const std::string& config, auto local) {
    *rc = ForwardOrRun(ctx, config, local);
  };

  auto la = std::make_shared<ListArgs>();
  CLI::App* list = queue->add_subcommand("list", "Queued messages (one line per recipient)");
  list->add_option("-c,--config", la->config, "config file")->capture_default_str();
  list->add_option("--state", la->state,
                   "queued|in_flight|deferred|delivered|bounced|failed|suppressed|expired|cancelled");
  list->add_option("--route", la->route, "only this route");
  list->add_option("--limit", la->limit, "at most this many")->capture_default_str();
  list->add_option("--after", la->after, "start after this id (the previous page's last)");
  list->add_flag("--json", la->json, "one JSON object {\"messages\":[...],\"next_after\":...}");
  list->callback([run, la, &ctx] { run(la->config, [&] { return List(ctx, *la); }); });

  {
    auto config = std::make_shared<std::string>("salvo.toml");
    auto id = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    CLI::App* show = queue->add_subcommand("show", "One message: state, route, attempts and replies");
    show->add_option("-c,--config", *config, "config file")->capture_default_str();
    show->add_option("id", *id, "message id")->required();
    show->add_flag("--json", *json, "one JSON object");
    show->callback([run, config, id, json, &ctx] {
      run(*config, [&] { return Show(ctx, *config, *id, *json); });
    });
  }
  {
    auto config = std::make_shared<std::string>("salvo.toml");
    auto id = std::make_shared<std::string>();
    auto deferred = std::make_shared<bool>(false);
    CLI::App* retry = queue->add_subcommand(
        "retry", "Attempt a queued or deferred message now (ID), or every deferred one (--deferred)");
    retry->add_option("-c,--config", *config, "config file")->capture_default_str();
    retry->add_option("id", *id, "message id");
    retry->add_flag("--deferred", *deferred, "every deferred message");
    retry->callback([run, config, id, deferred, &ctx] {
      run(*config, [&] { return Retry(ctx, *config, *id, *deferred); });
    });
  }
  {
    auto config = std::make_shared<std::string>("salvo.toml");
    auto id = std::make_shared<std::string>();
    CLI::App* cancel = queue->add_subcommand("cancel", "Never send a queued or deferred message");
    cancel->add_option("-c,--config", *config, "config file")->capture_default_str();
    cancel->add_option("id", *id, "message id")->required();
    cancel->callback([run, config, id, &ctx] {
      run(*config, [&] { return Cancel(ctx, *config, *id); });
    });
  }
  {
    auto config = std::make_shared<std::string>("salvo.toml");
    CLI::App* sweep = queue->add_subcommand(
        "sweep", "Delete messages finished longer ago than [queue] keep");
    sweep->add_option("-c,--config", *config, "config file")->capture_default_str();
    sweep->callback([run, config, &ctx] { run(*config, [&] { return Sweep(ctx, *config); }); });
  }
}

}  // namespace salvo
