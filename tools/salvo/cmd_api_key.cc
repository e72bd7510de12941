// `salvo api-key create|list|revoke`: keys for the daemon's HTTP API and SMTP submission
// (store/api_key_store.h). `create` prints the key once; the store keeps only its SHA-256, and
// `list` never shows a key. Forwarded to `salvo serve` when it owns the data_dir (the key then
// travels back over the admin socket, mode 0600).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "engine/base/clock.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/json.h"
#include "store/api_key_store.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

struct CreateArgs {
  std::string config = "salvo.toml";
  std::string name;
  std::string scopes;
  std::string route;
};

int Create(CommandContext& ctx, const CreateArgs& a) {
  auto cfg = ctx.LoadConfigOnce(a.config);
  if (!cfg.ok()) return ctx.Fail(cfg.status(), 2);
  auto scopes = ParseApiScopes(a.scopes);
  if (!scopes.ok()) return ctx.Fail(scopes.status(), 2);
  if (!a.route.empty() && (*cfg)->FindRoute(a.route) == nullptr)
    return ctx.Fail(absl::InvalidArgumentError(absl::StrCat("unknown route \"", a.route, "\"")), 2);
  auto store = ctx.OpenStoreOnce(**cfg);
  if (!store.ok()) return ctx.Fail(store.status());
  auto key = ApiKeyStore(*store).Create(a.name, *scopes, a.route, absl::ToUnixSeconds(absl::Now()));
  if (!key.ok()) return ctx.Fail(key.status());
  std::fprintf(ctx.out, "%s\n", key->c_str());
  std::fprintf(ctx.err,
               "api key \"%s\" created (scopes %s%s): store it now, it is not shown again\n",
               a.name.c_str(), ApiScopesText(*scopes).c_str(),
               a.route.empty() ? "" : absl::StrCat(", route ", a.route).c_str());
  return 0;
}

int Revoke(CommandContext& ctx, Store* store, const std::string& name) {
  absl::Status st = ApiKeyStore(store).Revoke(name);
  if (!st.ok()) return ctx.Fail(st);
  std::fprintf(ctx.out, "api key \"%s\" revoked\n", name.c_str());
  return 0;
}

int List(CommandContext& ctx, Store* store, bool json) {
  auto keys = ApiKeyStore(store).List();
  if (!keys.ok()) return ctx.Fail(keys.status());
  std::string out = json ? "{\"api_keys\":[" : "";
  if (!json)
    absl::StrAppendFormat(&out, "%-24s %-26s %-16s %s\n", "NAME", "SCOPES", "ROUTE", "CREATED");
  for (size_t i = 0; i < keys->size(); ++i) {
    const ApiKey& k = (*keys)[i];
    if (json) {
      absl::StrAppend(&out, i ? "," : "", "{\"name\":", JsonString(k.name),
                      ",\"scopes\":", JsonString(ApiScopesText(k.scopes)),
                      ",\"route\":", k.route.empty() ? "null" : JsonString(k.route),
                      ",\"created\":", JsonString(FormatUnixTime(k.created_at)), "}");
    } else {
      absl::StrAppendFormat(&out, "%-24s %-26s %-16s %s\n", k.name, ApiScopesText(k.scopes),
                            k.route.empty() ? "-" : k.route, FormatUnixTime(k.created_at));
    }
  }
  if (json) out += "]}\n";
  else if (keys->empty()) out += "(no api keys)\n";
  std::fputs(out.c_str(), ctx.out);
  return 0;
}

}  // namespace

void RegisterApiKeyCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  CLI::App* cmd = AddCommandGroup(app, "api-key", "Keys for the HTTP API and SMTP submission");

  auto ca = std::make_shared<CreateArgs>();
  CLI::App* create = cmd->add_subcommand("create", "Create a key and print it once");
  create->add_option("-c,--config", ca->config, "config file")->capture_default_str();
  create->add_option("--name", ca->name, "key name (A-Z a-z 0-9 . _ -)")->required();
  create->add_option("--scopes", ca->scopes, "comma-separated: leads, messages, submission")
      ->required();
  create->add_option("--route", ca->route, "route the key's mail goes through");
  create->callback(
      [&ctx, rc, ca] { *rc = ForwardOrRun(ctx, ca->config, [&] { return Create(ctx, *ca); }); });

  AddListCommand(*cmd, ctx, rc, "list", "Keys: name, scopes, route, created (never the key)",
                 "one JSON object {\"api_keys\":[...]}",
                 [&ctx](const std::string&, const Config&, Store* store, bool json) {
                   return List(ctx, store, json);
                 });

  auto rconfig = std::make_shared<std::string>("salvo.toml");
  auto name = std::make_shared<std::string>();
  CLI::App* revoke = cmd->add_subcommand("revoke", "Delete a key: it stops working at once");
  revoke->add_option("-c,--config", *rconfig, "config file")->capture_default_str();
  revoke->add_option("name", *name, "key name")->required();
  revoke->callback([&ctx, rc, rconfig, name] {
    *rc = ForwardOrRunOnStore(
        ctx, *rconfig, [&](const Config&, Store* store) { return Revoke(ctx, store, *name); });
  });
}

}  // namespace salvo
