// salvo render: the exact bytes a campaign would send to one recipient (or to every member of
// the campaign's list), preceded by a "Return-Path: <envelope sender>" line that shows the VERP
// MAIL FROM; stores the campaign's link table so the click redirector can resolve it.
// salvo dkim keygen: a new DKIM key (RSA or Ed25519) and the DNS TXT record to publish.
// Trust: arguments are the operator's; recipients come from the store (hostile fields are the
// renderer's business).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/shard.h"
#include "engine/base/status_macros.h"
#include "engine/config/campaign.h"
#include "engine/dkim/dkim_key.h"
#include "engine/mime/compiled_campaign.h"
#include "store/link_store.h"
#include "store/recipient_store.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

struct RenderArgs {
  std::string config = "salvo.toml";
  std::string campaign;
  std::string to;
  std::string out;
  std::string out_dir;
  bool all = false;
  size_t limit = 0;
};

// "Return-Path: <bounces+TAG@domain>\r\n" followed by the message.
std::string WithReturnPath(const RenderedMessage& m) {
  std::string s = absl::StrCat("Return-Path: <", m.envelope_from, ">\r\n");
  s.reserve(s.size() + m.size);
  for (std::string_view seg : m.segments) s.append(seg);
  return s;
}

[[nodiscard]] absl::Status WriteFile(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("error writing ", path));
  return absl::OkStatus();
}

std::string SafeFileName(std::string_view address) {
  std::string s;
  for (char c : address) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '@' || c == '.' || c == '_' || c == '-' || c == '+';
    s.push_back(ok ? c : '_');
  }
  if (!s.empty() && s[0] == '.') s[0] = '_';
  return s;
}

[[nodiscard]] absl::Status RunRender(CommandContext& ctx, const RenderArgs& a) {
  if (a.all == !a.to.empty())
    return absl::InvalidArgumentError("render needs exactly one of --to ADDRESS or --all");
  if (a.all && a.out_dir.empty()) return absl::InvalidArgumentError("--all needs --out-dir DIR");
  ASSIGN_OR_RETURN(const Config* config, ctx.LoadConfigOnce(a.config));
  ASSIGN_OR_RETURN(CampaignConfig campaign, LoadCampaign(ctx.Path(a.campaign)));
  ASSIGN_OR_RETURN(std::shared_ptr<const CompiledCampaign> compiled,
                   CompileCampaign(campaign, *config));
  ASSIGN_OR_RETURN(Store* store, ctx.OpenStoreOnce(*config));
  RETURN_IF_ERROR(LinkStore(store).Put(campaign.id, compiled->links()));
  RecipientStore recipients(store);
  RenderedMessage m;

  if (!a.all) {
    ASSIGN_OR_RETURN(NormalizedAddress addr, NormalizeAddress(a.to));
    ASSIGN_OR_RETURN(std::optional<Recipient> stored, recipients.Get(addr.key));
    Recipient r;
    if (stored) {
      r = std::move(*stored);
    } else {
      r.address = addr.address;
      r.key = addr.key;
      r.shard = ShardOf(addr.key);
      std::fprintf(ctx.err,
                   "salvo: %s is not in the store; rendering with the address only (no fields)\n",
                   addr.address.c_str());
    }
    RETURN_IF_ERROR(compiled->Render(r, &m));
    std::string bytes = WithReturnPath(m);
    if (a.out.empty() || a.out == "-") {
      std::fwrite(bytes.data(), 1, bytes.size(), ctx.out);
      std::fflush(ctx.out);
    } else {
      RETURN_IF_ERROR(WriteFile(ctx.Path(a.out), bytes));
      std::fprintf(ctx.out, "wrote %s (%zu bytes, envelope sender %s)\n", a.out.c_str(),
                   bytes.size(), m.envelope_from.c_str());
    }
    return absl::OkStatus();
  }

  std::string dir = ctx.Path(a.out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  size_t count = 0, failed = 0;
  const size_t batch = config->sending.batch_size > 0 ? config->sending.batch_size : 512;
  std::vector<Recipient> members;
  for (uint32_t shard = 0; shard < kVirtualShards; ++shard) {
    std::string after;
    for (;;) {
      if (a.limit && count >= a.limit) break;
      members.clear();
      RETURN_IF_ERROR(recipients.ScanListShard(campaign.list, shard, after, batch, &members));
      for (const Recipient& r : members) {
        if (a.limit && count >= a.limit) break;
        absl::Status st = compiled->Render(r, &m);
        if (!st.ok()) {
          ++failed;
          std::fprintf(ctx.err, "salvo: %s: %s\n", r.address.c_str(),
                       std::string(st.message()).c_str());
          continue;
        }
        char prefix[16];
        std::snprintf(prefix, sizeof prefix, "%06zu-", count);
        RETURN_IF_ERROR(
            WriteFile(absl::StrCat(dir, "/", prefix, SafeFileName(r.address), ".eml"),
                      WithReturnPath(m)));
        ++count;
      }
      if (members.size() < batch) break;
      after = members.back().key;
    }
  }
  std::fprintf(ctx.out, "rendered %zu messages of list %s to %s%s\n", count,
               campaign.list.c_str(), dir.c_str(),
               failed ? absl::StrCat(" (", failed, " skipped)").c_str() : "");
  return absl::OkStatus();
}

struct KeygenArgs {
  std::string type = "rsa", selector, domain, out;
  int bits = 2048;
  bool force = false;
};

// DNS TXT strings are at most 255 octets: split the record into quoted chunks.
std::string QuotedTxt(const std::string& txt) {
  std::string s;
  for (size_t i = 0; i < txt.size(); i += 250) {
    if (i) s.append("\n\t");
    absl::StrAppend(&s, "\"", txt.substr(i, 250), "\"");
  }
  return s;
}

[[nodiscard]] absl::Status RunKeygen(CommandContext& ctx, const KeygenArgs& a) {
  DkimAlgorithm alg;
  if (a.type == "rsa") alg = DkimAlgorithm::kRsaSha256;
  else if (a.type == "ed25519") alg = DkimAlgorithm::kEd25519Sha256;
  else return absl::InvalidArgumentError("--type must be rsa or ed25519");
  std::string path = ctx.Path(a.out);
  if (!a.force && std::filesystem::exists(path))
    return absl::AlreadyExistsError(absl::StrCat(path, " exists; use --force to replace it"));
  ASSIGN_OR_RETURN(auto key, DkimKey::Generate(alg, a.bits));
  ASSIGN_OR_RETURN(std::string pem, key->PrivatePem());
  ASSIGN_OR_RETURN(std::string txt, key->DnsTxtRecord());
  std::string tmp = path + ".tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
    ::fchmod(fileno(f), 0600);
    bool ok = std::fwrite(pem.data(), 1, pem.size(), f) == pem.size();
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) return absl::InternalError(absl::StrCat("error writing ", path));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot move key to ", path, ": ", ec.message()));
  std::fprintf(ctx.out,
               "wrote %s (%s%s)\n"
               "Publish this DNS TXT record:\n"
               "%s._domainkey.%s. IN TXT ( %s )\n"
               "salvo.toml:\n[[dkim]]\ndomain = \"%s\"\nselector = \"%s\"\nkey_file = \"%s\"\n",
               path.c_str(), key->algorithm_name(),
               alg == DkimAlgorithm::kRsaSha256 ? absl::StrCat(", ", key->bits(), " bits").c_str()
                                                : "",
               a.selector.c_str(), a.domain.c_str(), QuotedTxt(txt).c_str(), a.domain.c_str(),
               a.selector.c_str(), path.c_str());
  return absl::OkStatus();
}

}  // namespace

void RegisterRenderCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  auto ra = std::make_shared<RenderArgs>();
  CLI::App* render = app.add_subcommand(
      "render", "Print the exact message a campaign sends to a recipient (first line: Return-Path)");
  render->add_option("-c,--config", ra->config, "salvo.toml")->capture_default_str();
  render->add_option("--campaign", ra->campaign, "campaign file (TOML)")->required();
  render->add_option("--to", ra->to, "recipient address (fields from the store)");
  render->add_option("--out", ra->out, "write the message to this file instead of stdout");
  render->add_flag("--all", ra->all, "render every member of the campaign's list");
  render->add_option("--out-dir", ra->out_dir, "directory for --all (one .eml per recipient)");
  render->add_option("--limit", ra->limit, "with --all: at most N messages");
  render->callback([&ctx, rc, ra] {
    *rc = ForwardOrRun(ctx, ra->config, [&] {
      absl::Status st = RunRender(ctx, *ra);
      return st.ok() ? 0 : ctx.Fail(st, absl::IsInvalidArgument(st) ? 2 : 1);
    });
  });

  auto ka = std::make_shared<KeygenArgs>();
  CLI::App* dkim = AddCommandGroup(app, "dkim", "DKIM key management");
  CLI::App* keygen = dkim->add_subcommand(
      "keygen", "Generate a DKIM key and print the DNS TXT record to publish");
  keygen->add_option("--type", ka->type, "rsa | ed25519")->capture_default_str();
  keygen->add_option("--selector", ka->selector, "DKIM selector")->required();
  keygen->add_option("--domain", ka->domain, "signing domain (d=)")->required();
  keygen->add_option("--out", ka->out, "private key file (PEM, written with mode 0600)")
      ->required();
  keygen->add_option("--bits", ka->bits, "RSA key size (>= 2048)")->capture_default_str();
  keygen->add_flag("--force", ka->force, "replace an existing key file");
  keygen->callback([&ctx, rc, ka] {
    absl::Status st = RunKeygen(ctx, *ka);
    *rc = st.ok() ? 0 : ctx.Fail(st, absl::IsInvalidArgument(st) ? 2 : 1);
  });
}

}  // namespace salvo
