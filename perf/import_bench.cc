// import_bench: generates N synthetic recipients as CSV (perf/recipient_gen), imports them into a
// fresh temporary store through store/importer (the code `salvo import` runs), then re-imports
// the same file (all unchanged) and prints rows/s and peak RSS. A benchmark, not a test.
//   import_bench [--rows N] [--batch ROWS] [--no-reimport] [--keep]
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "perf/recipient_gen.h"
#include "store/importer.h"
#include "store/recipient_store.h"

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

long CurrentRssKb() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 1000000;
  size_t batch = 16384;
  bool keep = false;
  bool reimport = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--batch" && i + 1 < argc) {
      batch = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--no-reimport") {
      reimport = false;
    } else {
      std::fprintf(stderr,
                   "usage: import_bench [--rows N] [--batch ROWS] [--no-reimport] [--keep]\n");
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
  std::printf("import_bench: %llu rows, %.1f MB CSV, batch %zu rows, store in %s\n",
              static_cast<unsigned long long>(rows), bytes / 1e6, batch, base.c_str());
  std::printf("  rss before import: %ld MB\n", CurrentRssKb() / 1024);

  int rc = 0;
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
    for (const char* pass : {"first import", "re-import"}) {
      if (!reimport && std::string(pass) == "re-import") break;
      double cpu0 = CpuSeconds();
      auto s = importer.ImportFile(csv, io);
      double cpu = CpuSeconds() - cpu0;
      if (!s.ok()) {
        std::fprintf(stderr, "import_bench: %s\n", std::string(s.status().message()).c_str());
        rc = 1;
        break;
      }
      std::printf(
          "  %-13s %8.0f rows/s  %6.2f s  imported %llu updated %llu unchanged %llu duplicate "
          "%llu rejected %llu  cpu %.2f us/row  rss %ld MB\n",
          pass, s->rows / s->seconds, s->seconds, static_cast<unsigned long long>(s->imported),
          static_cast<unsigned long long>(s->updated),
          static_cast<unsigned long long>(s->unchanged),
          static_cast<unsigned long long>(s->duplicate),
          static_cast<unsigned long long>(s->rejected), cpu * 1e6 / (s->rows ? s->rows : 1),
          CurrentRssKb() / 1024);
    }
    auto size = salvo::RecipientStore(store->get()).ListSize("bench");
    if (size.ok()) std::printf("  list size: %llu\n", static_cast<unsigned long long>(*size));
  }
  std::printf("  peak RSS: %ld MB\n", PeakRssKb() / 1024);
  if (!keep) std::filesystem::remove_all(base, ec);
  return rc;
}
