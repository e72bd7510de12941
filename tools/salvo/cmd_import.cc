// salvo import / salvo lists: load recipients into a list from CSV or JSONL, show lists with
// member counts. Thin: the work is store/importer. Trust: the input file is hostile (the importer
// bounds and validates it); rejected rows go to --rejects or, a few of them, to stderr.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/json.h"
#include "engine/base/strings.h"
#include "store/importer.h"
#include "store/recipient_store.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

constexpr int kMaxRejectsOnStderr = 20;

// 1234567 -> "1,234,567"
std::string Thousands(uint64_t v) {
  std::string d = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(d[i]);
  }
  return out;
}

struct ImportArgs {
  std::string config = "salvo.toml";
  std::string list;
  std::string file;
  std::string rejects;
  std::string format = "auto";
  bool json = false;
  bool sync = false;
};

int RunImport(CommandContext& ctx, const ImportArgs& a) {
  auto config = ctx.LoadConfigOnce(a.config);
  if (!config.ok()) return ctx.Fail(config.status(), 2);
  ImportOptions o;
  o.list = a.list;
  o.sync = a.sync;
  if (a.format == "csv") {
    o.format = ImportFormat::kCsv;
  } else if (a.format == "jsonl") {
    o.format = ImportFormat::kJsonl;
  } else if (a.format != "auto") {
    return ctx.Fail(absl::InvalidArgumentError(
                        absl::StrCat("--format must be csv, jsonl or auto, not \"",
                                     SanitizeForLog(a.format, 40), "\"")),
                    2);
  }
  if (auto s = RecipientStore::ValidateListName(a.list); !s.ok()) return ctx.Fail(s, 2);

  std::string path = ctx.Path(a.file);
  std::unique_ptr<FILE, int (*)(FILE*)> rejects(nullptr, &std::fclose);
  std::string rejects_path;
  if (!a.rejects.empty()) {
    rejects_path = ctx.Path(a.rejects);
    rejects.reset(std::fopen(rejects_path.c_str(), "w"));
    if (!rejects) {
      return ctx.Fail(absl::UnavailableError(
          absl::StrCat("cannot write ", rejects_path, ": ", std::strerror(errno))));
    }
  }
  uint64_t shown = 0;
  std::string display = path == "-" ? "<stdin>" : path;
  o.on_reject = [&](uint64_t line, std::string_view reason) {
    if (rejects) {
      std::fprintf(rejects.get(), "line %llu: %.*s\n", static_cast<unsigned long long>(line),
                   static_cast<int>(reason.size()), reason.data());
    } else if (shown++ < kMaxRejectsOnStderr) {
      std::fprintf(ctx.err, "salvo: %s: line %llu: %.*s\n", display.c_str(),
                   static_cast<unsigned long long>(line), static_cast<int>(reason.size()),
                   reason.data());
    }
  };
  bool progress = ctx.tty && !a.json;
  bool progress_shown = false;
  if (progress) {
    o.on_progress = [&](const ImportProgress& p) {
      if (p.seconds < 0.5) return;  // short imports print only the summary
      double rate = p.seconds > 0 ? p.rows / p.seconds : 0;
      std::string pct = p.total_bytes > 0
                            ? absl::StrCat(static_cast<int>(100.0 * p.bytes / p.total_bytes), "%  ")
                            : "";
      std::fprintf(ctx.out, "\r  importing: %s rows  %s%s rows/s   ", Thousands(p.rows).c_str(),
                   pct.c_str(), Thousands(static_cast<uint64_t>(rate)).c_str());
      std::fflush(ctx.out);
      progress_shown = true;
    };
  }

  auto store = ctx.OpenStoreOnce(**config);
  if (!store.ok()) return ctx.Fail(store.status());
  Importer importer(*store);
  absl::StatusOr<ImportSummary> sum;
  if (path == "-") {
    int fd = ctx.in ? fileno(ctx.in) : -1;
    if (fd >= 0) {
      sum = importer.ImportFd(fd, "<stdin>", o);
    } else {
      std::string data;
      char buf[65536];
      size_t n;
      while (ctx.in && (n = std::fread(buf, 1, sizeof buf, ctx.in)) > 0) data.append(buf, n);
      sum = importer.ImportString(data, "<stdin>", o);
    }
  } else {
    sum = importer.ImportFile(path, o);
  }
  if (progress_shown) std::fputs("\r\033[K", ctx.out);
  if (rejects) std::fflush(rejects.get());
  if (!sum.ok()) return ctx.Fail(sum.status());

  if (a.json) {
    std::fprintf(ctx.out,
                 "{\"list\":%s,\"file\":%s,\"rows\":%llu,\"imported\":%llu,\"updated\":%llu,"
                 "\"unchanged\":%llu,\"duplicate\":%llu,\"rejected\":%llu,\"seconds\":%.3f%s}\n",
                 JsonString(a.list).c_str(), JsonString(display).c_str(),
                 static_cast<unsigned long long>(sum->rows),
                 static_cast<unsigned long long>(sum->imported),
                 static_cast<unsigned long long>(sum->updated),
                 static_cast<unsigned long long>(sum->unchanged),
                 static_cast<unsigned long long>(sum->duplicate),
                 static_cast<unsigned long long>(sum->rejected), sum->seconds,
                 rejects_path.empty() ? ""
                                      : absl::StrCat(",\"rejects_file\":", JsonString(rejects_path))
                                            .c_str());
    return 0;
  }
  double rate = sum->seconds > 0 ? sum->rows / sum->seconds : 0;
  std::fprintf(ctx.out, "imported %s into list \"%s\": %s rows in %.2f s (%s rows/s)\n",
               display.c_str(), SanitizeForLog(a.list, 200).c_str(),
               Thousands(sum->rows).c_str(), sum->seconds,
               Thousands(static_cast<uint64_t>(rate)).c_str());
  std::fprintf(ctx.out, "  imported   %s (new recipients)\n", Thousands(sum->imported).c_str());
  std::fprintf(ctx.out, "  updated    %s\n", Thousands(sum->updated).c_str());
  std::fprintf(ctx.out, "  unchanged  %s\n", Thousands(sum->unchanged).c_str());
  std::fprintf(ctx.out, "  duplicate  %s (repeated in the file; first occurrence kept)\n",
               Thousands(sum->duplicate).c_str());
  std::string where;
  if (sum->rejected > 0) {
    where = rejects_path.empty()
                ? (sum->rejected > kMaxRejectsOnStderr
                       ? absl::StrCat(" (first ", kMaxRejectsOnStderr,
                                      " shown above; --rejects FILE keeps them all)")
                       : std::string(" (shown above)"))
                : absl::StrCat(" (see ", rejects_path, ")");
  }
  std::fprintf(ctx.out, "  rejected   %s%s\n", Thousands(sum->rejected).c_str(), where.c_str());
  return 0;
}

int RunLists(CommandContext& ctx, const std::string& config_path, Store* store, bool json) {
  auto lists = RecipientStore(store).Lists();
  if (!lists.ok()) return ctx.Fail(lists.status());
  if (json) {
    std::string out = "{\"lists\":[";
    for (size_t i = 0; i < lists->size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", "{\"name\":", JsonString((*lists)[i].name),
                      ",\"members\":", (*lists)[i].members, "}");
    }
    out += "]}\n";
    std::fputs(out.c_str(), ctx.out);
    return 0;
  }
  if (lists->empty()) {
    std::fprintf(ctx.out, "no lists yet (salvo import -c %s --list NAME FILE.csv)\n",
                 config_path.c_str());
    return 0;
  }
  size_t width = 4;
  for (const auto& l : *lists) width = std::max(width, SanitizeForLog(l.name, 200).size());
  std::fprintf(ctx.out, "%-*s  %12s\n", static_cast<int>(width), "LIST", "MEMBERS");
  for (const auto& l : *lists) {
    std::fprintf(ctx.out, "%-*s  %12s\n", static_cast<int>(width),
                 SanitizeForLog(l.name, 200).c_str(), Thousands(l.members).c_str());
  }
  return 0;
}

}  // namespace

void RegisterImportCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  auto a = std::make_shared<ImportArgs>();
  auto* imp = app.add_subcommand(
      "import", "Import recipients into a list from CSV (RFC 4180) or JSONL (one object per line)");
  imp->add_option("-c,--config", a->config, "config file")->capture_default_str();
  imp->add_option("--list", a->list, "list name")->required();
  imp->add_option("file", a->file, "FILE.csv | FILE.jsonl ('-' = stdin)")->required();
  imp->add_option("--rejects", a->rejects, "write rejected rows here (\"line N: reason\")");
  imp->add_flag("--json", a->json, "print the summary as one JSON object");
  imp->add_option("--format", a->format, "csv | jsonl | auto (by extension, then content)")
      ->capture_default_str();
  imp->add_flag("--sync", a->sync, "fsync the write-ahead log after every batch");
  imp->callback(
      [&ctx, rc, a] { *rc = ForwardOrRun(ctx, a->config, [&] { return RunImport(ctx, *a); }); });

  AddListCommand(app, ctx, rc, "lists", "Show lists with member counts",
                 "print {\"lists\":[{\"name\":...,\"members\":N}]}",
                 [&ctx](const std::string& config_path, const Config&, Store* store, bool json) {
                   return RunLists(ctx, config_path, store, json);
                 });
}

}  // namespace salvo
