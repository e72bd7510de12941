// salvo: the command line. Thin: every subcommand lives in its own cmd_*.cc.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/base/clock.h"
#include "engine/base/cpu_features.h"
#include "tools/salvo/command.h"

namespace salvo {

int RunCli(const std::vector<std::string>& argv, CommandContext& ctx) {
  CLI::App app{"salvo: high-throughput bulk mailer engine", "salvo"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for all subcommands");
  int rc = 0;
  RegisterImportCommands(app, ctx, &rc);
  RegisterSuppressCommands(app, ctx, &rc);
  RegisterSmtpCommands(app, ctx, &rc);
  RegisterRenderCommands(app, ctx, &rc);
  RegisterSendCommands(app, ctx, &rc);
  RegisterServeCommands(app, ctx, &rc);
  RegisterBouncesCommands(app, ctx, &rc);
  RegisterAccountCommands(app, ctx, &rc);
  RegisterQueueCommands(app, ctx, &rc);
  RegisterApiKeyCommands(app, ctx, &rc);
  RegisterInjectCommands(app, ctx, &rc);
  RegisterTrackingCommands(app, ctx, &rc);
  RegisterPreflightCommands(app, ctx, &rc);
  std::vector<std::string> args(argv.rbegin(), argv.rend() - 1);  // CLI11 wants reversed, no argv0
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    std::fputs(app.help().c_str(), ctx.out);
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), ctx.out);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(ctx.err, "salvo: %s\nRun 'salvo --help' for usage.\n", e.what());
    return 2;
  }
  return rc;
}

}  // namespace salvo

int main(int argc, char** argv) {
  // Reproduce a machine without AVX2 / the SHA extensions (same bytes, the portable paths).
  if (std::getenv("SALVO_NO_AVX2") != nullptr) salvo::DisableCpuFeature(salvo::CpuFeature::kAvx2);
  if (std::getenv("SALVO_NO_SHA_NI") != nullptr)
    salvo::DisableCpuFeature(salvo::CpuFeature::kShaNi);
  // SALVO_FAKE_NOW=2026-12-07T08:59:57Z: the process's clock starts there and runs on (tests walk
  // schedules, windows and UTC days in seconds).
  static std::optional<salvo::ShiftedClock> fake_clock;
  if (const char* fake = std::getenv("SALVO_FAKE_NOW"); fake != nullptr && *fake != '\0') {
    absl::Time start;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, fake, &start, &err)) {
      std::fprintf(stderr, "salvo: SALVO_FAKE_NOW=%s is not an RFC 3339 time (%s)\n", fake,
                   err.c_str());
      return 2;
    }
    fake_clock.emplace(salvo::SystemClock(), start);
    salvo::SetProcessClock(&*fake_clock);
    std::fprintf(stderr, "salvo: warning: the clock is overridden by SALVO_FAKE_NOW=%s\n", fake);
  }
  salvo::CommandContext ctx;
  ctx.argv.assign(argv, argv + argc);
  ctx.tty = isatty(STDOUT_FILENO);
  std::error_code ec;
  ctx.cwd = std::filesystem::current_path(ec).string();
  return salvo::RunCli(ctx.argv, ctx);
}
