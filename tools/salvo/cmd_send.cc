// `salvo send` and `salvo campaign status|pause|resume|cancel`: thin commands over the campaign
// runner (shard/campaign_runner.h). While a send runs in-process it holds the data_dir; the
// campaign commands from another process then talk to it through data_dir/run/ (the status file
// and control requests of store/run_control.h).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "engine/base/clock.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/base/strings.h"
#include "engine/config/campaign.h"
#include "engine/metrics/salvo_metrics.h"
#include "engine/mime/compiled_campaign.h"
#include "shard/campaign_runner.h"
#include "store/campaign_store.h"
#include "store/link_store.h"
#include "store/run_control.h"
#include "tools/salvo/campaign_source.h"
#include "tools/salvo/command.h"
#include "tools/salvo/metrics_export.h"
#include "tools/salvo/preflight_run.h"
#include "tools/salvo/scheduler.h"

namespace salvo {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSigint(int) { g_interrupted = true; }


std::string ProgressLine(const CampaignProgress& p) {
  std::string eta = p.eta_s < 0 ? "?" : absl::StrFormat("%.0fs", p.eta_s);
  return absl::StrFormat(
      "%s: %.0f sent/s  ETA %s  delivered %d  deferred %d  bounced %d  failed %d  suppressed %d  "
      "no consent %d  in flight %d%s",
      p.id, p.rate, eta, p.delivered, p.deferred, p.bounced, p.failed, p.suppressed, p.no_consent,
      p.in_flight, p.held_back ? absl::StrCat("  held back ", p.held_back) : "");
}

void PrintSummary(FILE* out, const CampaignProgress& p) {
  std::string state = p.state;
  absl::FPrintF(out, "campaign %s (list %s, route %s): %s", p.id, p.list, p.route, state);
  if (p.elapsed_s > 0) {
    uint64_t done = p.delivered + p.bounced + p.failed + p.deferred;
    absl::FPrintF(out, " after %.1f s (%.0f msg/s)", p.elapsed_s,
                  p.elapsed_s > 0 ? done / p.elapsed_s : 0.0);
  }
  absl::FPrintF(out, "\n");
  if (!p.pause_reason.empty()) absl::FPrintF(out, "  reason: %s\n", p.pause_reason);
  if (p.preflight_skipped) absl::FPrintF(out, "  preflight: skipped (--skip-preflight)\n");
  if (p.next_action_at > 0 && (p.state == "waiting" || p.state == "paused"))
    absl::FPrintF(out, "  %s at %s (salvo serve)\n",
                  p.state == "paused" ? "resumes by itself"
                  : p.pause_reason.empty() ? "retries go on" : "goes on",
                  FormatUnixTime(p.next_action_at));
  const uint64_t pending = p.Pending();
  absl::FPrintF(out,
                "  list size %d = eligible %d + suppressed %d + no consent %d + outside segment %d",
                p.list_size, p.Eligible(), p.suppressed, p.no_consent, p.outside_segment);
  if (pending) absl::FPrintF(out, " + not yet processed %d", pending);
  absl::FPrintF(out, "\n");
  if (p.dry_run) {
    absl::FPrintF(out, "  eligible %d: would be sent (dry run, nothing sent or recorded)\n",
                  p.Eligible());
  } else {
    absl::FPrintF(out, "  eligible %d = delivered %d + bounced %d + failed %d + deferred %d",
                  p.Eligible(), p.delivered, p.bounced, p.failed, p.deferred);
    if (p.in_flight) absl::FPrintF(out, " + in flight %d", p.in_flight);
    absl::FPrintF(out, "\n");
    if (p.deferred)
      absl::FPrintF(out, "  deferred: %d gave up after retry_for, %d still retrying\n",
                    p.deferred_final, p.deferred - p.deferred_final);
  }
  if (p.transactions)
    absl::FPrintF(out, "  SMTP transactions this run: %d, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                  p.transactions, p.latency_p50_ms, p.latency_p99_ms, p.latency_max_ms);
  if (p.time_to_finish_s >= 0)
    absl::FPrintF(out, "  finished in %.1f s (retries included)\n", p.time_to_finish_s);
  if (p.held_back)
    absl::FPrintF(out, "  held back for a later run (send window, the day's caps): %d\n",
                  p.held_back);
  if (p.in_flight_at_resume)
    absl::FPrintF(out, "  in flight at an earlier interruption (re-sent, possible duplicates): %d\n",
                  p.in_flight_at_resume);
  for (const auto& a : p.accounts) {
    absl::FPrintF(out, "  account %s: %d attempts%s%s\n", a.name, a.attempts,
                  a.paused ? ", PAUSED: " : "", a.paused ? a.reason : "");
  }
  if (p.throttle_events) {
    absl::FPrintF(out, "  throttling replies: %d\n", p.throttle_events);
    for (const auto& t : p.throttles)
      absl::FPrintF(out, "    %s via %s to %s: %d replies, slowed to %.1f msg/s per worker\n",
                    t.account, t.source_ip.empty() ? "default IP" : t.source_ip, t.domain,
                    t.events, t.rate);
  }
}

int ExitCodeFor(const CampaignProgress& p) {
  // waiting: the daemon goes on by itself (only runs in the daemon end waiting).
  if (p.state == "done" || p.state == "dry-run" || p.state == "waiting") return 0;
  if (p.state == "paused") return 3;
  return 4;  // cancelled
}

// Runs (or resumes) the campaign in this process (or the daemon's, when ctx.daemon is set):
// from `campaign_path` (its files as they are now, stored as the campaign's snapshot), or with
// an empty path the stored campaign `stored_id` (`campaign resume`).
int RunSend(CommandContext& ctx, const std::string& config_path, const std::string& campaign_path,
            const std::string& stored_id, uint32_t workers, bool dry_run, bool json,
            const std::string& metrics_file, bool skip_preflight = true) {
  auto cfg = ctx.LoadConfigOnce(config_path);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  const Config& config = **cfg;
  if (ctx.daemon == nullptr)  // the daemon said it at its start
    for (const std::string& w : SecurityWarnings(config, /*webhooks=*/false))
      std::fprintf(ctx.err, "salvo: warning: %s\n", w.c_str());
  absl::StatusOr<LoadedCampaign> loaded = absl::UnknownError("");
  if (!campaign_path.empty()) {
    loaded = LoadCampaignFiles(ctx.Path(campaign_path), config, ctx.Path(config_path));
    if (!loaded.ok()) return ctx.Fail(loaded.status(), 2);
  }
  const std::string id = campaign_path.empty() ? stored_id : loaded->campaign.id;
  // A campaign that is already running (here, in the daemon or in another process) is refused
  // before anything is written.
  CampaignRunLock run_lock;
  if (!dry_run) {
    auto lock = LockCampaignRun(config.data_dir, id, ProcessClock().Now());
    if (!lock.ok()) return ctx.Fail(lock.status());
    run_lock = std::move(*lock);
  }
  auto store = ctx.OpenStoreOnce(config);
  if (!store.ok()) return ctx.Fail(store.status());
  if (campaign_path.empty()) {
    loaded = LoadStoredCampaign(*store, id, config);
    if (!loaded.ok()) return ctx.Fail(loaded.status());
  }
  // A new send is checked first (`campaign resume` goes on with what was checked then).
  if (!campaign_path.empty() && !skip_preflight) {
    if (int rc = PreflightGate(config, *store, *loaded, ctx.out, ctx.err)) return rc;
  }
  const CampaignConfig* campaign = &loaded->campaign;
  const std::shared_ptr<const CompiledCampaign>* compiled = &loaded->compiled;
  if (!dry_run) {
    LinkStore links(*store);
    absl::Status st = links.Put(campaign->id, (*compiled)->links());
    if (!st.ok()) return ctx.Fail(st);
    // What later runs (`campaign resume`, the daemon's calendar) send from.
    if (!campaign_path.empty()) {
      st = CampaignStore(*store).PutSnapshot(campaign->id, loaded->snapshot);
      if (!st.ok()) return ctx.Fail(st);
    }
  }
  // /metrics on [metrics] listen while the send runs (not inside `salvo serve`, which serves
  // its own) and --metrics-file rewritten every few seconds and at exit.
  auto exporter = MetricsExport::Start(config, metrics_file.empty() ? "" : ctx.Path(metrics_file),
                                       /*serve_http=*/ctx.daemon == nullptr);
  if (!exporter.ok()) return ctx.Fail(exporter.status());

  RunnerOptions opt;
  opt.workers = workers;
  opt.dry_run = dry_run;
  opt.skip_preflight = skip_preflight && !campaign_path.empty();  // a resume checks nothing anew
  opt.campaign_file = loaded->snapshot.campaign_path;
  opt.config_file = ctx.Path(config_path);
  // In the daemon, retries far ahead are left to its calendar: the command ends "waiting".
  if (ctx.daemon != nullptr) opt.wait_horizon_s = absl::ToInt64Seconds(config.sending.hold_retries);
  opt.run_lock = run_lock.held() ? &run_lock : nullptr;
  struct sigaction old_sa {};
  const bool own_signals = ctx.daemon == nullptr;
  if (own_signals) {
    g_interrupted = false;
    struct sigaction sa {};
    sa.sa_handler = OnSigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_sa);
    opt.interrupt = &g_interrupted;
  }
  const bool tty = ctx.tty && !json;
  FILE* out = ctx.out;
  opt.on_progress = [tty, out](const CampaignProgress& p) {
    if (!tty) return;
    std::fprintf(out, "\r\033[K%s", ProgressLine(p).c_str());
    std::fflush(out);
  };
  auto result = RunCampaign(config, *store, *campaign, *compiled, opt);
  if (own_signals) sigaction(SIGINT, &old_sa, nullptr);
  if (tty) std::fprintf(out, "\r\033[K");
  absl::Status mst = (*exporter)->Stop();
  if (!result.ok()) return ctx.Fail(result.status());
  if (!mst.ok()) std::fprintf(ctx.err, "salvo: %s\n", std::string(mst.message()).c_str());
  if (json)
    std::fprintf(out, "%s\n", result->ToJson().c_str());
  else
    PrintSummary(out, *result);
  if (result->state == "paused" && !json)
    std::fprintf(ctx.err, "salvo: campaign %s paused: %s\n", result->id.c_str(),
                 result->pause_reason.c_str());
  return ExitCodeFor(*result);
}

// Store busy (a send runs in another process): answers from its status file.
bool BusyStore(const absl::Status& st) { return absl::IsFailedPrecondition(st); }

int CampaignCommand(CommandContext& ctx, const std::string& action, const std::string& config_path,
                    const std::string& id, bool json, bool watch) {
  auto cfg = ctx.LoadConfigOnce(config_path);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  const Config& config = **cfg;
  const std::string& data_dir = config.data_dir;
  if (action == "resume") {  // refused at once while a run of it is in progress anywhere
    auto probe = LockCampaignRun(data_dir, id, ProcessClock().Now());
    if (!probe.ok()) return ctx.Fail(probe.status());
  }
  // A send running in another process owns the store: use its status file / control channel.
  auto running = RunningSends(data_dir);
  const bool running_now = std::find(running.begin(), running.end(), id) != running.end();
  const bool remote = !ctx.shared_store && running_now;
  // A run in this daemon (its calendar's, or a send through it) is asked like a remote one.
  const bool ask_run = running_now && (action == "pause" || action == "cancel");
  if (remote || ask_run) {
    if (action == "status") {
      do {
        auto s = ReadStatusFile(data_dir, id);
        if (!s.ok()) break;
        std::fprintf(ctx.out, "%s\n", s->c_str());
        std::fflush(ctx.out);
        if (!watch) return 0;
        std::this_thread::sleep_for(std::chrono::seconds(1));
      } while (true);
      if (!watch) return ctx.Fail(absl::NotFoundError("the running send left no status"));
    } else if (action == "pause" || action == "cancel") {
      absl::Status st = RequestCampaignControl(data_dir, id, action,
                                               action == "pause" ? "paused by operator" : "");
      if (!st.ok()) return ctx.Fail(st);
      // Wait until the send has stopped (its status file goes away).
      for (int i = 0; i < 600; ++i) {
        auto r = RunningSends(data_dir);
        if (std::find(r.begin(), r.end(), id) == r.end()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::fprintf(ctx.out, "campaign %s: %s requested from the running send\n", id.c_str(),
                   action.c_str());
      // Fall through to print the state from the store once it is free.
    } else if (action == "resume") {
      return ctx.Fail(absl::FailedPreconditionError(
          absl::StrCat("campaign ", id, " is running in another process")));
    }
  }
  absl::StatusOr<Store*> store = absl::UnavailableError("");
  for (int i = 0; i < 50; ++i) {  // the stopping send may hold the lock a moment longer
    store = ctx.OpenStoreOnce(config);
    if (store.ok() || !BusyStore(store.status()) || !remote) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!store.ok()) return ctx.Fail(store.status());
  CampaignStore cs(*store);
  auto rec = cs.Get(id);
  if (!rec.ok()) return ctx.Fail(rec.status());
  if (!*rec) return ctx.Fail(absl::NotFoundError(absl::StrCat("no campaign \"", id, "\"")));
  if (action == "resume") {
    if ((*rec)->state == CampaignState::kCancelled)
      return ctx.Fail(absl::FailedPreconditionError(absl::StrCat("campaign ", id, " was cancelled")));
    return RunSend(ctx, config_path, "", id, 0, false, json, "");
  }
  if (!ask_run && (action == "pause" || action == "cancel")) {
    CampaignRecord r = **rec;
    if (r.state != CampaignState::kDone && r.state != CampaignState::kCancelled) {
      r.state = action == "pause" ? CampaignState::kPaused : CampaignState::kCancelled;
      r.pause_reason = action == "pause" ? "paused by operator" : "cancelled by operator";
      r.auto_resume = false;  // by hand: only `campaign resume` goes on
      r.next_action_at = 0;
      if (action == "cancel") r.finished_at = NowUnixSeconds();
      absl::Status st = cs.Put(r);
      if (!st.ok()) return ctx.Fail(st);
    }
  }
  auto p = CampaignStatusFromStore(*store, id);
  if (!p.ok()) return ctx.Fail(p.status());
  if (json)
    std::fprintf(ctx.out, "%s\n", p->ToJson().c_str());
  else
    PrintSummary(ctx.out, *p);
  return 0;
}

}  // namespace

void RegisterSendCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  struct SendArgs {
    std::string config = "salvo.toml", campaign, metrics_file;
    uint32_t workers = 0;
    bool dry_run = false, json = false, skip_preflight = false;
  };
  auto sa = std::make_shared<SendArgs>();
  CLI::App* send = app.add_subcommand("send", "Send a campaign to its list (or resume it)");
  send->add_option("-c,--config", sa->config, "salvo.toml");
  send->add_option("--campaign", sa->campaign, "campaign file (TOML)")->required();
  send->add_option("--workers", sa->workers, "worker threads (default: one per core)");
  send->add_flag("--dry-run", sa->dry_run, "evaluate list, segment, consent and suppression; send nothing");
  send->add_flag("--json", sa->json, "print the summary as one JSON object");
  send->add_flag("--skip-preflight", sa->skip_preflight, "do not run `salvo preflight` first");
  AddMetricsFileOption(send, &sa->metrics_file);
  send->callback([&ctx, rc, sa] {
    *rc = ForwardOrRun(ctx, sa->config, [&] {
      return RunSend(ctx, sa->config, sa->campaign, "", sa->workers, sa->dry_run, sa->json,
                     sa->metrics_file, sa->skip_preflight);
    });
  });

  struct CampArgs {
    std::string config = "salvo.toml", id;
    bool json = false, watch = false;
  };
  CLI::App* camp = AddCommandGroup(app, "campaign", "Campaign status, control and schedule");
  RegisterScheduleCommands(camp, ctx, rc);
  for (const char* action : {"status", "pause", "resume", "cancel"}) {
    auto ca = std::make_shared<CampArgs>();
    CLI::App* sub = camp->add_subcommand(action, absl::StrCat(action, " a campaign"));
    sub->add_option("-c,--config", ca->config, "salvo.toml");
    sub->add_option("--id", ca->id, "campaign id")->required();
    sub->add_flag("--json", ca->json, "JSON output");
    if (std::string(action) == "status")
      sub->add_flag("--watch", ca->watch, "repeat every second while the campaign runs");
    std::string act = action;
    sub->callback([&ctx, rc, ca, act] {
      *rc = ForwardOrRun(ctx, ca->config, [&] {
        return CampaignCommand(ctx, act, ca->config, ca->id, ca->json, ca->watch);
      });
    });
  }
}

}  // namespace salvo
