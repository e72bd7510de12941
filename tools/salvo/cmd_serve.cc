// salvo serve -c salvo.toml [--metrics-file F]: runs the daemon (tools/salvo/daemon.h) until
// SIGTERM / SIGINT (SIGHUP reloads the tracking keys and the HTTPS certificate).
#include <CLI/CLI.hpp>

#include "engine/base/stop_signals.h"
#include "tools/salvo/command.h"
#include "tools/salvo/daemon.h"
#include "tools/salvo/metrics_export.h"

namespace salvo {

void RegisterServeCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  struct ServeArgs {
    std::string config = "salvo.toml", metrics_file;
  };
  auto sa = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the daemon: owns data_dir, serves tracking / unsubscribe / webhooks over HTTP "
               "and answers the CLI on data_dir/salvo.sock");
  serve->add_option("-c,--config", sa->config, "salvo.toml");
  AddMetricsFileOption(serve, &sa->metrics_file);
  serve->callback([&ctx, rc, sa] {
    if (ctx.daemon != nullptr) {
      *rc = ctx.Fail(absl::FailedPreconditionError("salvo serve is already running for this data_dir"));
      return;
    }
    auto config = ctx.LoadConfigOnce(sa->config);
    if (!config.ok()) {
      *rc = ctx.Fail(config.status(), 2);
      return;
    }
    BlockStopSignals();
    BlockReloadSignal();
    Daemon::Options o;
    o.metrics_file = sa->metrics_file.empty() ? "" : ctx.Path(sa->metrics_file);
    o.log = ctx.err;
    auto d = Daemon::Start(**config, o);
    if (!d.ok()) {
      *rc = ctx.Fail(d.status());
      return;
    }
    *rc = (*d)->Run();
  });
}

}  // namespace salvo
