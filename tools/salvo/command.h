// What every `salvo` subcommand gets: where to print, the caller's working directory, lazily
// loaded config and store. The same handlers run in the CLI process and, for commands forwarded
// over the admin socket, inside `salvo serve` (then `daemon` is set and the store is the daemon's).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "store/store.h"

namespace CLI {
class App;
}

namespace salvo {

class Daemon;  // tools/salvo/daemon.h (salvo serve)

// The store options of `config`: its data_dir and [store] memory settings.
StoreOptions StoreOptionsFor(const Config& config);

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
  // Both of the above, as one step.
  [[nodiscard]] absl::StatusOr<Store*> OpenStore(const std::string& config_path);
  // The same, as most commands begin. Returns 0 and sets *config (unless null) and
  // *store, or prints why not and returns the exit code (2 for the config, 1 for the store).
  [[nodiscard]] int OpenConfigAndStore(const std::string& config_path, const Config** config,
                                       Store** store);

  // The bytes of a message file argument (`-`: ctx.in), at most `max_bytes`. Errors (name the
  // file): unreadable, empty, larger than max_bytes.
  [[nodiscard]] absl::StatusOr<std::string> ReadMessageArg(const std::string& file,
                                                           size_t max_bytes);

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
void RegisterInjectCommands(CLI::App& app, CommandContext& ctx, int* rc);    // inject
void RegisterTrackingCommands(CLI::App& app, CommandContext& ctx, int* rc);  // tracking rotate-key
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

// The body of a subcommand callback: ForwardToDaemon's exit code, or `run()`'s when no daemon
// owns the data_dir.
[[nodiscard]] int ForwardOrRun(CommandContext& ctx, const std::string& config_path,
                               absl::FunctionRef<int()> run);
// The same for a command on the store: here, `run(config, store)` once both are open (exit
// code 2 or 1 when they cannot be: OpenConfigAndStore).
[[nodiscard]] int ForwardOrRunOnStore(CommandContext& ctx, const std::string& config_path,
                                      absl::FunctionRef<int(const Config&, Store*)> run);

// A command with subcommands (`salvo account ...`): `name` under `parent`, one subcommand required.
CLI::App* AddCommandGroup(CLI::App& parent, const std::string& name, const std::string& help);

// Adds the subcommand `name` that lists something: -c/--config and --json (`json_help`), run by
// list(config path as given, config, store, json) on the store or forwarded to salvo serve; the
// exit code goes to *rc.
using ListFn = std::function<int(const std::string& config_path, const Config& config, Store* store,
                                 bool json)>;
void AddListCommand(CLI::App& parent, CommandContext& ctx, int* rc, const std::string& name,
                    const std::string& help, const std::string& json_help, ListFn list);

}  // namespace salvo
