// import_bench: generates N synthetic recipients as CSV (perf/recipient_gen), imports them into a
// fresh temporary store through store/importer (the code `salvo import` runs), then re-imports
// the same file (all unchanged), then imports a file that gives every row a new field (all
// merged: `updated`), and prints rows/s, CPU per row, peak RSS and the load average, then one
// JSON line with the figures (keys as in perf/out/report.json). A benchmark, not a test.
//   import_bench [--rows N] [--batch ROWS] [--threads N] [--ingest-min KEYS] [--no-reimport]
//                [--no-update] [--compact] [--keep]
//   --compact compacts the store after each pass, untimed (how much the overlapping level-0 files
//   an import leaves cost the next pass's lookups).
//   --ingest-min 1000000000 writes every batch through a WriteBatch (the path before ingestion).
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "perf/recipient_gen.h"
#include "store/importer.h"
#include "rocksdb/db.h"
#include "store/recipient_store.h"
#include "store/store_internals.h"

namespace {

long PeakRssKb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of RocksDB's own threads (named "rocksdb:low" / "rocksdb:high": compactions and
// flushes), from /proc/self/task/*/stat: how much of a pass's CPU is background work, some of it
// left by the pass before.
double RocksDbThreadsCpu() {
  double ticks = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    if (stat.compare(open + 1, 8, "rocksdb:") != 0) continue;
    // After "(comm) ": state is field 3; utime and stime are fields 14 and 15.
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int f = 3; f <= 15 && rest >> field; ++f) {
      if (f == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
      if (f == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    ticks += static_cast<double>(utime + stime);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long CurrentRssKb() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

// Files per level of the recipient column families ("recipients 4,0,0,0,0,0,9"): how many
// files a lookup of the next pass may probe.
std::string LsmShape(salvo::Store* store) {
  std::string out;
  for (auto [cf, name] : {std::pair{salvo::Cf::kRecipients, "recipients"},
                          std::pair{salvo::Cf::kMembers, "members"}}) {
    out += out.empty() ? "" : "  ";
    out += name;
    for (int level = 0; level < 7; ++level) {
      std::string v;
      salvo::DbOf(store)->GetProperty(salvo::CfOf(store, cf),
                                      "rocksdb.num-files-at-level" + std::to_string(level), &v);
      out += (level ? "," : " ") + v;
    }
  }
  return out;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The first column (email) of every data row of `csv`, with a new field: every row merges.
bool WriteUpdateFile(const std::string& csv, const std::string& out_path) {
  std::ifstream in(csv);
  std::ofstream out(out_path);
  std::string line;
  if (!std::getline(in, line)) return false;
  out << "email,tier\n";
  while (std::getline(in, line)) out << line.substr(0, line.find(',')) << ",gold\n";
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 1000000;
  size_t batch = 16384;
  bool keep = false;
  bool compact = false;  // compact the store after each pass (untimed): lookups on one level
  bool reimport = true;
  bool update = true;
  unsigned threads = 0;
  size_t ingest_min = salvo::ImportOptions().ingest_min_rows;
  batch = salvo::ImportOptions().batch_rows;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--batch" && i + 1 < argc) {
      batch = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--ingest-min" && i + 1 < argc) {
      ingest_min = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--compact") {
      compact = true;
    } else if (a == "--no-update") {
      update = false;
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--no-reimport") {
      reimport = false;
    } else {
      std::fprintf(stderr,
                   "usage: import_bench [--rows N] [--batch ROWS] [--threads N] [--ingest-min KEYS] "
                   "[--no-reimport] [--no-update] [--compact] [--keep]\n");
      return 2;
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/salvo-import-bench-XXXXXX";
  if (mkdtemp(base.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string csv = base + "/recipients.csv";
  {
    salvo::perf::GenOptions o;
    o.count = rows;
    o.no_consent_every = 50;
    o.domains = {"example.test", "example.org", "example.net", "mail.example.com"};
    FILE* f = std::fopen(csv.c_str(), "w");
    if (!f) {
      std::perror(csv.c_str());
      return 1;
    }
    std::string buf;
    salvo::perf::AppendCsvHeader(&buf);
    for (uint64_t from = 0; from < rows; from += 8192) {
      salvo::perf::AppendCsvRows(o, from, std::min<uint64_t>(rows, from + 8192), &buf);
      std::fwrite(buf.data(), 1, buf.size(), f);
      buf.clear();
    }
    std::fclose(f);
  }
  std::error_code ec;
  uint64_t bytes = std::filesystem::file_size(csv, ec);
  std::string updates = base + "/updates.csv";
  if (update && !WriteUpdateFile(csv, updates)) {
    std::fprintf(stderr, "import_bench: cannot write %s\n", updates.c_str());
    return 1;
  }
  std::printf("import_bench: %llu rows, %.1f MB CSV, batch %zu rows, ingest from %zu keys, "
              "threads %u (0: one per core), store in %s\n",
              static_cast<unsigned long long>(rows), bytes / 1e6, batch, ingest_min, threads,
              base.c_str());
  std::printf("  rss before import: %ld MB\n", CurrentRssKb() / 1024);

  int rc = 0;
  double rate[3] = {0, 0, 0}, us_per_row[3] = {0, 0, 0};
  {
    salvo::StoreOptions so;
    so.data_dir = base + "/data";
    auto store = salvo::Store::Open(so);
    if (!store.ok()) {
      std::fprintf(stderr, "import_bench: %s\n", std::string(store.status().message()).c_str());
      return 1;
    }
    salvo::Importer importer(store->get());
    salvo::ImportOptions io;
    io.list = "bench";
    io.batch_rows = batch;
    io.threads = threads;
    io.ingest_min_rows = ingest_min;
    const char* passes[] = {"first import", "re-import", "merge-update"};
    for (int p = 0; p < 3; ++p) {
      const char* pass = passes[p];
      if (p == 1 && !reimport) continue;
      if (p == 2 && !update) continue;
      std::string load = LoadAverage();
      double cpu0 = CpuSeconds();
      const double background0 = RocksDbThreadsCpu();
      auto s = importer.ImportFile(p == 2 ? updates : csv, io);
      double cpu = CpuSeconds() - cpu0;
      const double background = RocksDbThreadsCpu() - background0;
      if (!s.ok()) {
        std::fprintf(stderr, "import_bench: %s\n", std::string(s.status().message()).c_str());
        rc = 1;
        break;
      }
      std::printf(
          "  %-13s %8.0f rows/s  %6.2f s  imported %llu updated %llu unchanged %llu duplicate "
          "%llu rejected %llu  cpu %.2f us/row  rss %ld MB  load %s\n",
          pass, s->rows / s->seconds, s->seconds, static_cast<unsigned long long>(s->imported),
          static_cast<unsigned long long>(s->updated),
          static_cast<unsigned long long>(s->unchanged),
          static_cast<unsigned long long>(s->duplicate),
          static_cast<unsigned long long>(s->rejected), cpu * 1e6 / (s->rows ? s->rows : 1),
          CurrentRssKb() / 1024, load.c_str());
      const auto& st = s->stages;
      std::printf("    stages: reader %.2f s cpu (waited %.2f s)  workers: convert %.2f s, "
                  "check %.2f s, prebuild %.2f s cpu  writer: waited %.2f s, check %.2f s "
                  "(%llu rows), store %.2f s, waited for compactions %.2f s  "
                  "rocksdb threads (compactions, flushes): %.2f s cpu\n",
                  st.reader_cpu, st.reader_wait, st.convert_cpu, st.check_cpu, st.prebuild_cpu,
                  st.writer_wait, st.check, static_cast<unsigned long long>(st.rechecked_rows),
                  st.store, st.l0_wait, background);
      std::printf("    files per level after it: %s\n", LsmShape(store->get()).c_str());
      if (compact) {
        const double compact_cpu0 = CpuSeconds();
        const auto compact_t0 = std::chrono::steady_clock::now();
        for (salvo::Cf cf : {salvo::Cf::kRecipients, salvo::Cf::kMembers, salvo::Cf::kAddrHash}) {
          rocksdb::CompactRangeOptions co;
          auto cs = salvo::DbOf(store->get())
                        ->CompactRange(co, salvo::CfOf(store->get(), cf), nullptr, nullptr);
          if (!cs.ok()) std::fprintf(stderr, "import_bench: compact: %s\n", cs.ToString().c_str());
        }
        std::printf("    compacted (untimed): %s in %.2f s, %.2f s cpu\n",
                    LsmShape(store->get()).c_str(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - compact_t0)
                        .count(),
                    CpuSeconds() - compact_cpu0);
      }
      rate[p] = s->rows / s->seconds;
      us_per_row[p] = cpu * 1e6 / (s->rows ? s->rows : 1);
    }
    auto size = salvo::RecipientStore(store->get()).ListSize("bench");
    if (size.ok()) std::printf("  list size: %llu\n", static_cast<unsigned long long>(*size));
  }
  std::printf("  peak RSS: %ld MB  load %s\n", PeakRssKb() / 1024, LoadAverage().c_str());
  std::printf(
      "{\"rows\":%llu,\"import_rows_per_s\":%.0f,\"reimport_rows_per_s\":%.0f,"
      "\"update_rows_per_s\":%.0f,\"import_cpu_us_per_row\":%.2f,"
      "\"reimport_cpu_us_per_row\":%.2f,\"update_cpu_us_per_row\":%.2f,"
      "\"import_peak_rss_mb\":%ld,\"loadavg\":\"%s\"}\n",
      static_cast<unsigned long long>(rows), rate[0], rate[1], rate[2], us_per_row[0],
      us_per_row[1], us_per_row[2], PeakRssKb() / 1024, LoadAverage().c_str());
  if (!keep) std::filesystem::remove_all(base, ec);
  return rc;
}
