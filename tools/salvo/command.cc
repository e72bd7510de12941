#include "tools/salvo/command.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"

namespace salvo {

std::string CommandContext::Path(const std::string& p) const {
  if (p.empty() || p == "-" || p[0] == '/') return p;
  return (std::filesystem::path(cwd) / p).lexically_normal().string();
}

absl::StatusOr<const Config*> CommandContext::LoadConfigOnce(const std::string& path) {
  if (!config) {
    ASSIGN_OR_RETURN(Config c, LoadConfig(Path(path)));
    config = std::move(c);
  }
  return &*config;
}

StoreOptions StoreOptionsFor(const Config& config) {
  StoreOptions o;
  o.data_dir = config.data_dir;
  o.block_cache = config.store.block_cache;
  o.memtables = config.store.memtables;
  o.write_buffer_size = config.store.write_buffer_size;
  o.max_write_buffers = config.store.max_write_buffers;
  return o;
}

absl::StatusOr<Store*> CommandContext::OpenStoreOnce(const Config& cfg) {
  if (shared_store) return shared_store;
  if (!owned_store) {
    ASSIGN_OR_RETURN(owned_store, Store::Open(StoreOptionsFor(cfg)));
  }
  return owned_store.get();
}

absl::StatusOr<Store*> CommandContext::OpenStore(const std::string& config_path) {
  ASSIGN_OR_RETURN(const Config* config, LoadConfigOnce(config_path));
  return OpenStoreOnce(*config);
}

int CommandContext::OpenConfigAndStore(const std::string& config_path, const Config** config,
                                       Store** store) {
  absl::StatusOr<const Config*> c = LoadConfigOnce(config_path);
  if (!c.ok()) return Fail(c.status(), 2);
  absl::StatusOr<Store*> s = OpenStoreOnce(**c);
  if (!s.ok()) return Fail(s.status());
  if (config != nullptr) *config = *c;
  *store = *s;
  return 0;
}

absl::StatusOr<std::string> CommandContext::ReadMessageArg(const std::string& file,
                                                         size_t max_bytes) {
  std::string bytes;
  if (file == "-") {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
      bytes.append(buf, n);
      if (bytes.size() > max_bytes) break;
    }
  } else {
    std::ifstream f(Path(file), std::ios::binary);
    if (!f) return absl::NotFoundError(absl::StrCat("cannot read ", Path(file)));
    std::ostringstream ss;
    ss << f.rdbuf();
    bytes = ss.str();
  }
  if (bytes.size() > max_bytes)
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": message larger than ", max_bytes, " bytes"));
  if (bytes.empty()) return absl::InvalidArgumentError(absl::StrCat(file, ": empty message"));
  return bytes;
}

int CommandContext::Fail(const absl::Status& status, int code) {
  std::fprintf(err, "salvo: %s\n", std::string(status.message()).c_str());
  return code;
}

int ForwardOrRun(CommandContext& ctx, const std::string& config_path,
                 absl::FunctionRef<int()> run) {
  if (std::optional<int> rc = ForwardToDaemon(ctx, config_path)) return *rc;
  return run();
}

int ForwardOrRunOnStore(CommandContext& ctx, const std::string& config_path,
                        absl::FunctionRef<int(const Config&, Store*)> run) {
  return ForwardOrRun(ctx, config_path, [&] {
    const Config* config;
    Store* store;
    if (int rc = ctx.OpenConfigAndStore(config_path, &config, &store)) return rc;
    return run(*config, store);
  });
}

CLI::App* AddCommandGroup(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* group = parent.add_subcommand(name, help);
  group->require_subcommand(1);
  return group;
}

void AddListCommand(CLI::App& parent, CommandContext& ctx, int* rc, const std::string& name,
                    const std::string& help, const std::string& json_help, ListFn list) {
  auto config = std::make_shared<std::string>("salvo.toml");
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = parent.add_subcommand(name, help);
  cmd->add_option("-c,--config", *config, "config file")->capture_default_str();
  cmd->add_flag("--json", *json, json_help);
  cmd->callback([&ctx, rc, config, json, list = std::move(list)] {
    *rc = ForwardOrRunOnStore(ctx, *config, [&](const Config& c, Store* store) {
      return list(*config, c, store, *json);
    });
  });
}

}  // namespace salvo
