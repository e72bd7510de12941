// Helper for importer_crash_test: imports a CSV into a store, printing "acked LINE" after each
// batch the store acknowledged, slowly enough that the test can SIGKILL it mid-import.
//   store_import_crash_child DATA_DIR FILE.csv [INGEST_MIN_ROWS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "store/importer.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) return 2;
  salvo::StoreOptions so;
  so.data_dir = argv[1];
  auto store = salvo::Store::Open(so);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  salvo::ImportOptions o;
  o.list = "crash";
  o.batch_rows = 500;
  if (argc == 4) o.ingest_min_rows = std::strtoull(argv[3], nullptr, 10);
  o.on_batch = [](uint64_t last_line, const salvo::ImportSummary&) {
    std::printf("acked %llu\n", static_cast<unsigned long long>(last_line));
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  };
  auto s = salvo::Importer(store->get()).ImportFile(argv[2], o);
  std::printf("done %s\n", s.ok() ? "ok" : std::string(s.status().message()).c_str());
  return s.ok() ? 0 : 1;
}
