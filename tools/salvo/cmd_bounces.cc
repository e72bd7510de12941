// salvo bounces ingest -c salvo.toml FILE|DIR|- : DSNs and ARF reports, and unsubscribe mails
// to [tracking] unsubscribe_mailto, from files, a maildir (cur/ and new/) or stdin -> classified,
// applied to suppression once per report and recipient. A mail that cannot be understood is
// reported with its file name and reason, never dropped silently; the exit code is then 1. An
// unsubscribe mail whose tag names nobody (forged, altered, missing) is reported and counted,
// with exit code 0: an MTA piping it in must not bounce it back to its (forged) sender.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/feedback/report_parser.h"
#include "engine/feedback/unsubscribe_mail.h"
#include "tools/salvo/command.h"
#include "tools/salvo/feedback_service.h"
#include "tools/salvo/mailto_unsubscribe.h"

namespace salvo {
namespace {

namespace fs = std::filesystem;

struct IngestSummary {
  uint64_t files = 0, reports = 0, unreadable = 0;
  uint64_t hard = 0, soft = 0, complaint = 0, unsubscribe = 0, ignore = 0;
  uint64_t mailto = 0, mailto_rejected = 0;  // unsubscribe mails: applied / naming nobody
  ApplyCounts counts;
};

struct IngestInput {
  FeedbackService* svc;
  std::string unsubscribe_mailbox;  // normalized [tracking] unsubscribe_mailto, or ""
  bool verbose = false;
};

// True when `mail` was an unsubscribe mail (handled here: applied, or reported).
bool IngestUnsubscribe(CommandContext& ctx, const IngestInput& in, const std::string& name,
                       const std::string& mail, IngestSummary* sum) {
  if (in.unsubscribe_mailbox.empty()) return false;
  std::optional<UnsubscribeMail> u = ParseUnsubscribeMail(mail, in.unsubscribe_mailbox);
  if (!u) return false;
  ++sum->reports;
  std::string detail;
  auto outcome = ApplyUnsubscribeMail(*in.svc, *u, &sum->counts, &detail);
  if (!outcome.ok()) {
    ++sum->unreadable;
    std::fprintf(ctx.err, "salvo: %s: %s\n", name.c_str(),
                 std::string(outcome.status().message()).c_str());
  } else if (*outcome == MailtoOutcome::kUnsubscribed) {
    ++sum->mailto;
    ++sum->unsubscribe;
    if (in.verbose) std::fprintf(ctx.out, "%s: %s unsubscribe mailto\n", name.c_str(), detail.c_str());
  } else {
    ++sum->mailto_rejected;
    std::fprintf(ctx.err, "salvo: %s: unsubscribe mail names nobody: %s\n", name.c_str(),
                 detail.c_str());
  }
  return true;
}

[[nodiscard]] absl::StatusOr<std::string> ReadBounded(std::istream& in, const std::string& name) {
  std::string s;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    s.append(buf, static_cast<size_t>(in.gcount()));
    if (s.size() > kMaxReportBytes)
      return absl::OutOfRangeError(absl::StrCat(name, ": larger than ", kMaxReportBytes, " bytes"));
  }
  return s;
}

// Files to read for `arg`: a file, every regular file of a maildir's new/ and cur/, or of a dir.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ListInputs(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return std::vector<std::string>{path};
  if (!fs::is_directory(path, ec)) return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
  std::vector<std::string> dirs;
  if (fs::is_directory(fs::path(path) / "new", ec) || fs::is_directory(fs::path(path) / "cur", ec)) {
    for (const char* sub : {"new", "cur"})
      if (fs::is_directory(fs::path(path) / sub, ec)) dirs.push_back((fs::path(path) / sub).string());
  } else {
    dirs.push_back(path);
  }
  std::vector<std::string> files;
  for (const std::string& d : dirs) {
    std::vector<std::string> here;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.is_regular_file(ec) && e.path().filename().string()[0] != '.') here.push_back(e.path().string());
    std::sort(here.begin(), here.end());
    files.insert(files.end(), here.begin(), here.end());
  }
  return files;
}

void Ingest(CommandContext& ctx, const IngestInput& in, const std::string& name,
            const std::string& mail, IngestSummary* sum) {
  ++sum->files;
  if (IngestUnsubscribe(ctx, in, name, mail, sum)) return;
  FeedbackService& svc = *in.svc;
  const bool verbose = in.verbose;
  auto report = ParseReport(mail, svc.TagVerifier());
  if (!report.ok()) {
    ++sum->unreadable;
    std::fprintf(ctx.err, "salvo: %s: not understood: %s\n", name.c_str(),
                 std::string(report.status().message()).c_str());
    return;
  }
  ++sum->reports;
  ApplyCounts before = sum->counts;
  absl::Status st = svc.Apply(report->events, report->kind == ReportKind::kArf ? "arf" : "dsn",
                              &sum->counts);
  if (!st.ok()) {
    ++sum->unreadable;
    std::fprintf(ctx.err, "salvo: %s: %s\n", name.c_str(), std::string(st.message()).c_str());
    return;
  }
  for (const FeedbackEvent& ev : report->events) {
    switch (ev.klass) {
      case FeedbackClass::kHardBounce: ++sum->hard; break;
      case FeedbackClass::kSoftBounce: ++sum->soft; break;
      case FeedbackClass::kComplaint: ++sum->complaint; break;
      case FeedbackClass::kUnsubscribe: ++sum->unsubscribe; break;
      case FeedbackClass::kIgnore: ++sum->ignore; break;
    }
    if (verbose)
      std::fprintf(ctx.out, "%s: %s %s %s\n", name.c_str(), ev.recipient.c_str(),
                   std::string(FeedbackClassName(ev.klass)).c_str(), ev.reason.c_str());
  }
  (void)before;
}

int RunIngest(CommandContext& ctx, const Config& config, Store* store,
              const std::vector<std::string>& inputs, bool json, bool verbose) {
  auto svc = FeedbackService::Create(config, store, /*webhook_auth=*/false);
  if (!svc.ok()) return ctx.Fail(svc.status(), 2);
  IngestInput input{svc->get(), "", verbose};
  if (config.tracking && !config.tracking->unsubscribe_mailto.empty()) {
    auto m = NormalizeAddress(config.tracking->unsubscribe_mailto);
    if (m.ok()) input.unsubscribe_mailbox = m->key;
  }
  IngestSummary sum;
  for (const std::string& arg : inputs) {
    if (arg == "-") {
      std::string mail;
      char buf[65536];
      size_t n;
      bool too_big = false;
      while ((n = std::fread(buf, 1, sizeof buf, ctx.in)) > 0) {
        mail.append(buf, n);
        if (mail.size() > kMaxReportBytes) too_big = true;
        if (too_big) mail.clear();
      }
      if (too_big) {
        ++sum.files;
        ++sum.unreadable;
        std::fprintf(ctx.err, "salvo: -: not understood: larger than %zu bytes\n", kMaxReportBytes);
        continue;
      }
      Ingest(ctx, input, "-", mail, &sum);
      continue;
    }
    std::string path = ctx.Path(arg);
    auto files = ListInputs(path);
    if (!files.ok()) {
      ++sum.unreadable;
      std::fprintf(ctx.err, "salvo: %s\n", std::string(files.status().message()).c_str());
      continue;
    }
    for (const std::string& f : *files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        ++sum.files;
        ++sum.unreadable;
        std::fprintf(ctx.err, "salvo: %s: cannot read\n", f.c_str());
        continue;
      }
      auto mail = ReadBounded(in, f);
      if (!mail.ok()) {
        ++sum.files;
        ++sum.unreadable;
        std::fprintf(ctx.err, "salvo: %s: not understood: %s\n", f.c_str(),
                     std::string(mail.status().message()).c_str());
        continue;
      }
      Ingest(ctx, input, f, *mail, &sum);
    }
  }
  if (json) {
    const std::pair<const char*, uint64_t> fields[] = {
        {"files", sum.files}, {"reports", sum.reports}, {"unreadable", sum.unreadable},
        {"events", sum.counts.events}, {"applied", sum.counts.applied},
        {"duplicates", sum.counts.duplicates}, {"suppressed", sum.counts.suppressed},
        {"hard_bounce", sum.hard}, {"soft_bounce", sum.soft}, {"complaint", sum.complaint},
        {"unsubscribe", sum.unsubscribe}, {"ignore", sum.ignore},
        {"unsubscribe_mailto", sum.mailto}, {"unsubscribe_rejected", sum.mailto_rejected}};
    std::string json;
    for (const auto& [key, value] : fields)
      absl::StrAppend(&json, json.empty() ? "{\"" : ",\"", key, "\":", value);
    std::fprintf(ctx.out, "%s}\n", json.c_str());
  } else {
    std::fprintf(ctx.out,
                 "files %llu, reports %llu, not understood %llu; events %llu (hard_bounce %llu, "
                 "soft_bounce %llu, complaint %llu, unsubscribe %llu, ignore %llu); "
                 "suppressed %llu, already seen %llu; unsubscribe mails %llu, naming nobody %llu\n",
                 (unsigned long long)sum.files, (unsigned long long)sum.reports,
                 (unsigned long long)sum.unreadable, (unsigned long long)sum.counts.events,
                 (unsigned long long)sum.hard, (unsigned long long)sum.soft,
                 (unsigned long long)sum.complaint, (unsigned long long)sum.unsubscribe,
                 (unsigned long long)sum.ignore, (unsigned long long)sum.counts.suppressed,
                 (unsigned long long)sum.counts.duplicates, (unsigned long long)sum.mailto,
                 (unsigned long long)sum.mailto_rejected);
  }
  return sum.unreadable ? 1 : 0;
}

}  // namespace

void RegisterBouncesCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  struct Args {
    std::string config = "salvo.toml";
    std::vector<std::string> inputs;
    bool json = false, verbose = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* bounces = AddCommandGroup(app, "bounces", "Bounce and complaint processing");
  CLI::App* ingest = bounces->add_subcommand(
      "ingest", "Read DSNs / ARF reports and unsubscribe mails from files, a maildir or stdin (-) "
                "into suppression");
  ingest->add_option("-c,--config", a->config, "salvo.toml");
  ingest->add_option("inputs", a->inputs, "FILE, DIR (maildir or plain) or - for stdin")->required();
  ingest->add_flag("--json", a->json, "print the summary as one JSON object");
  ingest->add_flag("-v,--verbose", a->verbose, "print one line per recipient");
  ingest->callback([&ctx, rc, a] {
    *rc = ForwardOrRunOnStore(ctx, a->config, [&](const Config& config, Store* store) {
      return RunIngest(ctx, config, store, a->inputs, a->json, a->verbose);
    });
  });
}

}  // namespace salvo
