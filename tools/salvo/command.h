// What every `salvo` subcommand gets: where to print, the caller's working directory, lazily
// loaded config and store. The same handlers run in the CLI process and, for commands forwarded
// over the admin socket, inside `salvo serve` (then `daemon` is set and the store is the daemon's).
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "store/store.h"

namespace CLI {
class App;
}

namespace salvo {

class Daemon;  // tools/salvo/daemon.h (salvo serve)

struct CommandContext {
  FILE* out = stdout;
  FILE* err = stderr;
  FILE* in = stdin;        // `-` arguments read from here (forwarded by the admin client)
  bool tty = false;        // out is a terminal: show progress lines
  std::string cwd;         // relative paths given by the user resolve against this
  std::vector<std::string> argv;  // the command line, for forwarding
  Daemon* daemon = nullptr;       // set when running inside salvo serve
  Store* shared_store = nullptr;  // the daemon's open store

  // Absolute path of a user-given path (relative to cwd).
  std::string Path(const std::string& p) const;

  // Loads the config once (path relative to cwd).
  [[nodiscard]] absl::StatusOr<const Config*> LoadConfigOnce(const std::string& path);
  // Opens data_dir of the loaded config once (or returns the daemon's store).
  [[nodiscard]] absl::StatusOr<Store*> OpenStoreOnce(const Config& config);

  // Prints "salvo: <message>" to err and returns the exit code to use (2 for usage/config).
  int Fail(const absl::Status& status, int code = 1);

  std::optional<Config> config;
  std::unique_ptr<Store> owned_store;
};

// Registration entry points, one per command file. Each adds its subcommands to `app`; the
// callback stores the command's exit code in *rc.
void RegisterImportCommands(CLI::App& app, CommandContext& ctx, int* rc);    // import, lists
void RegisterSuppressCommands(CLI::App& app, CommandContext& ctx, int* rc);  // suppress ...
void RegisterSmtpCommands(CLI::App& app, CommandContext& ctx, int* rc);      // smtp-check, send-one
void RegisterRenderCommands(CLI::App& app, CommandContext& ctx, int* rc);    // render, dkim keygen
void RegisterSendCommands(CLI::App& app, CommandContext& ctx, int* rc);      // send, campaign ...
void RegisterServeCommands(CLI::App& app, CommandContext& ctx, int* rc);     // serve
void RegisterBouncesCommands(CLI::App& app, CommandContext& ctx, int* rc);   // bounces ingest
void RegisterAccountCommands(CLI::App& app, CommandContext& ctx, int* rc);   // account ...
void RegisterQueueCommands(CLI::App& app, CommandContext& ctx, int* rc);     // queue ...
void RegisterApiKeyCommands(CLI::App& app, CommandContext& ctx, int* rc);    // api-key ...
void RegisterPreflightCommands(CLI::App& app, CommandContext& ctx, int* rc); // preflight
// campaign schedule|list|unschedule (under the `campaign` command of RegisterSendCommands)
void RegisterScheduleCommands(CLI::App* campaign, CommandContext& ctx, int* rc);

// Builds the full CLI and runs argv with ctx. Used by main() and by the daemon for forwarded
// commands. Returns the exit code.
int RunCli(const std::vector<std::string>& argv, CommandContext& ctx);

// When a `salvo serve` owns the data_dir of `config_path`, sends ctx.argv to it over the admin
// socket, relays its output and returns its exit code; otherwise nullopt (run locally).
// Never forwards when ctx.daemon is set.
std::optional<int> ForwardToDaemon(CommandContext& ctx, const std::string& config_path);

}  // namespace salvo
