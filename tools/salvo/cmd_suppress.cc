// salvo suppress add|remove|check|list|import|export: the global suppression list by hand.
// Thin: normalization in engine/base/address, storage in store/suppression_store, CSV in
// store/suppression_io. Trust: addresses and imported files are hostile and validated there.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "store/run_control.h"
#include "store/suppression_io.h"
#include "store/suppression_store.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {


struct SuppressArgs {
  std::string config = "salvo.toml";
  std::vector<std::string> addresses;
  std::string reason;
  std::string detail;
  std::string file;
  std::string output;
  bool json = false;
};

[[nodiscard]]
absl::StatusOr<SuppressionStore> OpenSuppression(CommandContext& ctx, const std::string& config) {
  ASSIGN_OR_RETURN(Store * store, ctx.OpenStore(config));
  return SuppressionStore(store);
}

// Normalizes every argument first: nothing is changed when one of them is invalid.
bool Keys(CommandContext& ctx, const std::vector<std::string>& raw, std::vector<std::string>* out) {
  bool ok = true;
  for (const auto& a : raw) {
    auto k = SuppressionKeyOf(a);
    if (!k.ok()) {
      ctx.Fail(k.status());
      ok = false;
    } else {
      out->push_back(*k);
    }
  }
  return ok;
}

void PrintEntry(CommandContext& ctx, std::string_view asked, const SuppressionEntry& e) {
  std::string via = asked == e.key ? "" : absl::StrCat(" (domain-wide entry ", e.key, ")");
  std::fprintf(ctx.out, "%s is suppressed%s\n", std::string(asked).c_str(), via.c_str());
  std::fprintf(ctx.out, "  reason      %s\n", std::string(SuppressionReasonName(e.reason)).c_str());
  std::fprintf(ctx.out, "  source      %s\n", e.source.c_str());
  std::fprintf(ctx.out, "  first_seen  %s\n", FormatUnixTime(e.first_seen).c_str());
  std::fprintf(ctx.out, "  last_seen   %s\n", FormatUnixTime(e.last_seen).c_str());
  if (!e.detail.empty()) std::fprintf(ctx.out, "  detail      %s\n", e.detail.c_str());
}

// When sends are running on the busy data_dir, queues `entries` for them (store/run_control.h)
// and sets *rc; false when no send is running (the caller reports the busy store).
bool QueueForRunningSends(CommandContext& ctx, const std::string& config,
                          const std::vector<SuppressionEntry>& entries, int* rc) {
  auto c = ctx.LoadConfigOnce(config);
  if (!c.ok()) return false;
  const std::string& data_dir = (*c)->data_dir;
  const std::vector<std::string> running = RunningSends(data_dir);
  if (running.empty()) return false;
  if (absl::Status st = QueueSuppressions(data_dir, entries); !st.ok()) {
    *rc = ctx.Fail(st);
    return true;
  }
  std::string who;
  for (const auto& id : running) {
    int pid = 0;
    if (auto text = ReadStatusFile(data_dir, id); text.ok()) {
      if (size_t p = text->find("\"pid\":"); p != std::string::npos)
        pid = std::atoi(text->c_str() + p + 6);
    }
    absl::StrAppend(&who, who.empty() ? "" : ", ", "campaign ", id);
    if (pid > 0) absl::StrAppend(&who, " pid ", pid);
  }
  for (const auto& e : entries)
    std::fprintf(ctx.out, "queued %s (%s)\n", e.key.c_str(),
                 std::string(SuppressionReasonName(e.reason)).c_str());
  std::fprintf(ctx.out, "queued %zu suppressions for the running send(s) (%s): applied within ~1 s\n",
               entries.size(), who.c_str());
  *rc = 0;
  return true;
}

int Add(CommandContext& ctx, const SuppressArgs& a) {
  SuppressionReason reason;
  if (!ParseSuppressionReason(a.reason, &reason)) {
    return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(
                        "--reason must be unsubscribe, hard_bounce, complaint or manual, not \"",
                        SanitizeForLog(a.reason, 40), "\"")),
                    2);
  }
  std::vector<std::string> keys;
  if (!Keys(ctx, a.addresses, &keys)) return 2;
  std::vector<SuppressionEntry> entries;
  for (const auto& k : keys) {
    SuppressionEntry e;
    e.key = k;
    e.reason = reason;
    e.source = "cli";
    e.detail = a.detail;
    entries.push_back(std::move(e));
  }
  auto ss = OpenSuppression(ctx, a.config);
  if (!ss.ok()) {
    // A `salvo send` running in another process holds the data_dir: hand the entries to it.
    if (absl::IsFailedPrecondition(ss.status())) {
      if (int rc = 0; QueueForRunningSends(ctx, a.config, entries, &rc)) return rc;
    }
    return ctx.Fail(ss.status());
  }
  for (const auto& e : entries) {
    const std::string& k = e.key;
    if (auto s = ss->Add(e); !s.ok()) return ctx.Fail(s);
    std::fprintf(ctx.out, "suppressed %s (%s)\n", k.c_str(),
                 std::string(SuppressionReasonName(reason)).c_str());
  }
  return 0;
}

int Remove(CommandContext& ctx, const SuppressArgs& a) {
  std::vector<std::string> keys;
  if (!Keys(ctx, a.addresses, &keys)) return 2;
  auto ss = OpenSuppression(ctx, a.config);
  if (!ss.ok()) return ctx.Fail(ss.status());
  int rc = 0;
  for (const auto& k : keys) {
    auto removed = ss->Remove(k);
    if (!removed.ok()) return ctx.Fail(removed.status());
    if (*removed) {
      std::fprintf(ctx.out, "removed %s\n", k.c_str());
    } else {
      std::fprintf(ctx.out, "not suppressed: %s\n", k.c_str());
      rc = 1;
    }
  }
  return rc;
}

// Exit 0: suppressed; 1: not suppressed; 2: bad input or config.
int Check(CommandContext& ctx, const SuppressArgs& a) {
  std::vector<std::string> keys;
  if (!Keys(ctx, a.addresses, &keys)) return 2;
  auto ss = OpenSuppression(ctx, a.config);
  if (!ss.ok()) return ctx.Fail(ss.status(), 2);
  bool all = true;
  for (const auto& k : keys) {
    auto e = ss->Check(k);
    if (!e.ok()) return ctx.Fail(e.status(), 2);
    if (e->has_value()) {
      if (a.json) {
        std::string line;
        AppendSuppressionCsvRow(**e, &line);
        std::fprintf(ctx.out,
                     "{\"address\":\"%s\",\"suppressed\":true,\"key\":\"%s\",\"reason\":\"%s\","
                     "\"source\":\"%s\",\"first_seen\":%lld,\"last_seen\":%lld}\n",
                     SanitizeForLog(k).c_str(), SanitizeForLog((*e)->key).c_str(),
                     std::string(SuppressionReasonName((*e)->reason)).c_str(),
                     SanitizeForLog((*e)->source).c_str(),
                     static_cast<long long>((*e)->first_seen),
                     static_cast<long long>((*e)->last_seen));
      } else {
        PrintEntry(ctx, k, **e);
      }
    } else {
      all = false;
      if (a.json) {
        std::fprintf(ctx.out, "{\"address\":\"%s\",\"suppressed\":false}\n",
                     SanitizeForLog(k).c_str());
      } else {
        std::fprintf(ctx.out, "%s: not suppressed\n", k.c_str());
      }
    }
  }
  return all ? 0 : 1;
}

int List(CommandContext& ctx, const SuppressArgs& a) {
  auto ss = OpenSuppression(ctx, a.config);
  if (!ss.ok()) return ctx.Fail(ss.status());
  FILE* out = ctx.out;
  std::unique_ptr<FILE, int (*)(FILE*)> file(nullptr, &std::fclose);
  if (!a.output.empty() && a.output != "-") {
    std::string path = ctx.Path(a.output);
    file.reset(std::fopen(path.c_str(), "w"));
    if (!file) {
      return ctx.Fail(absl::UnavailableError(
          absl::StrCat("cannot write ", path, ": ", std::strerror(errno))));
    }
    out = file.get();
  }
  std::fwrite(kSuppressionCsvHeader.data(), 1, kSuppressionCsvHeader.size(), out);
  std::string line;
  uint64_t n = 0;
  auto s = ss->ForEach([&](const SuppressionEntry& e) {
    line.clear();
    AppendSuppressionCsvRow(e, &line);
    std::fwrite(line.data(), 1, line.size(), out);
    ++n;
    return true;
  });
  if (!s.ok()) return ctx.Fail(s);
  if (file) {
    if (std::fflush(file.get()) != 0) {
      return ctx.Fail(absl::UnavailableError(absl::StrCat("cannot write ", a.output)));
    }
    std::fprintf(ctx.err, "exported %llu entries to %s\n", static_cast<unsigned long long>(n),
                 ctx.Path(a.output).c_str());
  }
  return 0;
}

int Import(CommandContext& ctx, const SuppressArgs& a) {
  std::string path = ctx.Path(a.file);
  FILE* in = ctx.in;
  std::unique_ptr<FILE, int (*)(FILE*)> file(nullptr, &std::fclose);
  if (path != "-") {
    file.reset(std::fopen(path.c_str(), "rb"));
    if (!file) {
      return ctx.Fail(absl::NotFoundError(
          absl::StrCat("cannot open ", path, ": ", std::strerror(errno))));
    }
    in = file.get();
  }
  auto ss = OpenSuppression(ctx, a.config);
  if (!ss.ok()) return ctx.Fail(ss.status());
  std::string display = path == "-" ? "<stdin>" : path;
  // Streamed: memory stays bounded whatever the file size; a progress line on a terminal.
  const auto t0 = std::chrono::steady_clock::now();
  bool progress_shown = false;
  auto read = [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    if (!in) return 0;
    size_t n = std::fread(buf, 1, cap, in);
    if (n == 0 && std::ferror(in))
      return absl::UnavailableError(absl::StrCat(display, ": read error: ", std::strerror(errno)));
    return n;
  };
  auto progress = [&](const SuppressionImportSummary& p, uint64_t bytes) {
    if (!ctx.tty || a.json) return;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(ctx.out, "\r  importing suppressions: %llu rows  %.0f MB  %.0f rows/s   ",
                 static_cast<unsigned long long>(p.rows), bytes / 1e6, secs > 0 ? p.rows / secs : 0);
    std::fflush(ctx.out);
    progress_shown = true;
  };
  auto sum = ImportSuppressionCsvStream(&*ss, read, display, "import",
                                        [&](uint64_t line, std::string_view why) {
                                          std::fprintf(ctx.err, "salvo: %s: line %llu: %.*s\n",
                                                       display.c_str(),
                                                       static_cast<unsigned long long>(line),
                                                       static_cast<int>(why.size()), why.data());
                                        },
                                        progress);
  if (progress_shown) std::fputs("\r\033[K", ctx.out);
  if (!sum.ok()) return ctx.Fail(sum.status());
  if (a.json) {
    std::fprintf(ctx.out, "{\"rows\":%llu,\"added\":%llu,\"rejected\":%llu}\n",
                 static_cast<unsigned long long>(sum->rows),
                 static_cast<unsigned long long>(sum->added),
                 static_cast<unsigned long long>(sum->rejected));
  } else {
    std::fprintf(ctx.out, "suppression import %s: %llu rows, %llu added or refreshed, %llu rejected\n",
                 display.c_str(), static_cast<unsigned long long>(sum->rows),
                 static_cast<unsigned long long>(sum->added),
                 static_cast<unsigned long long>(sum->rejected));
  }
  return 0;
}

void Wire(CLI::App* sub, CommandContext& ctx, int* rc, std::shared_ptr<SuppressArgs> a,
          int (*fn)(CommandContext&, const SuppressArgs&)) {
  sub->add_option("-c,--config", a->config, "config file")->capture_default_str();
  sub->callback(
      [&ctx, rc, a, fn] { *rc = ForwardOrRun(ctx, a->config, [&] { return fn(ctx, *a); }); });
}

}  // namespace

void RegisterSuppressCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  CLI::App* sup =
      AddCommandGroup(app, "suppress", "The global suppression list (all lists, routes, accounts)");

  // `suppress NAME`: fresh arguments, the options `options` adds (then -c), run by `fn`.
  auto sub = [&](const char* name, const char* help, auto options,
                 int (*fn)(CommandContext&, const SuppressArgs&)) {
    auto a = std::make_shared<SuppressArgs>();
    CLI::App* cmd = sup->add_subcommand(name, help);
    options(cmd, *a);
    Wire(cmd, ctx, rc, a, fn);
  };
  // The subject of add, remove and check: ADDRESS... (required).
  auto addresses = [](CLI::App* c, SuppressArgs& a, const char* help) {
    c->add_option("addresses", a.addresses, help)->required();
  };
  sub(
      "add", "Suppress addresses or whole domains (@example.com)",
      [&](CLI::App* c, SuppressArgs& a) {
        addresses(c, a, "ADDRESS... or @DOMAIN...");
        c->add_option("--reason", a.reason, "unsubscribe | hard_bounce | complaint | manual")
            ->required();
        c->add_option("--detail", a.detail, "free text kept with the entry");
      },
      &Add);
  sub(
      "remove", "Remove suppression entries (exit 1 if one was absent)",
      [&](CLI::App* c, SuppressArgs& a) { addresses(c, a, "ADDRESS... or @DOMAIN..."); }, &Remove);
  sub(
      "check", "Print the entry that suppresses ADDRESS; exit 0 suppressed, 1 not suppressed",
      [&](CLI::App* c, SuppressArgs& a) {
        addresses(c, a, "ADDRESS...");
        c->add_flag("--json", a.json, "one JSON object per address");
      },
      &Check);
  sub("list", "Print every entry as CSV: key,reason,source,first_seen,last_seen,detail",
      [](CLI::App*, SuppressArgs&) {}, &List);
  sub("export", "Write every entry as CSV (stdout or --output)",
      [](CLI::App* c, SuppressArgs& a) {
        c->add_option("-o,--output", a.output, "file to write ('-' = stdout)");
      },
      &List);
  sub("import", "Add entries from CSV (header: key,reason,source,first_seen,last_seen,detail)",
      [](CLI::App* c, SuppressArgs& a) {
        c->add_option("file", a.file, "FILE.csv ('-' = stdin)")->required();
        c->add_flag("--json", a.json, "print the summary as JSON");
      },
      &Import);
}

}  // namespace salvo
