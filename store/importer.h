// Streaming import of recipients into a list from CSV (RFC 4180) or JSONL (one JSON object per
// line). Trust: the file is hostile. Every row, field and header is bounded; a bad row is
// rejected with its line number and reason and the import goes on; a file that is not what it
// claims (binary data, truncated inside a quoted field, no email column, over-long row) is a
// clear error. Memory use is bounded whatever the file: rows are read, converted, checked against
// the store and stored in fixed-size batches (each one atomic unit: a WriteBatch, or for large
// batches sorted SST files ingested together), converting and checking on every core while one
// thread writes (store/import_writer.h), plus a set of at most 1.8 M key hashes (~36 MB) of the
// existing members the run left as they were.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace salvo {

enum class ImportFormat { kAuto, kCsv, kJsonl };

// Limits for hostile input.
inline constexpr size_t kImportMaxRowBytes = 1 << 20;     // one CSV record / JSONL line
inline constexpr size_t kImportMaxFieldBytes = 64 << 10;  // one field value
inline constexpr size_t kImportMaxColumns = 1024;
inline constexpr size_t kImportMaxFieldName = 128;

struct ImportProgress {
  uint64_t rows = 0;         // data rows read so far (accepted + rejected + duplicate)
  uint64_t bytes = 0;        // input bytes consumed
  uint64_t total_bytes = 0;  // input size when known (regular file), else 0
  double seconds = 0;
};

struct ImportSummary {
  uint64_t rows = 0;
  uint64_t imported = 0;   // new recipients
  uint64_t updated = 0;    // existing recipients whose record or membership changed
  uint64_t unchanged = 0;
  uint64_t duplicate = 0;  // repeated within the file (first occurrence wins)
  uint64_t rejected = 0;
  double seconds = 0;
  uint64_t ingested_batches = 0;  // batches written as ingested SST files (not in --json)
  // Where the time went, per stage (benchmarks; not in --json). CPU seconds of the threads.
  struct Stages {
    double reader_cpu = 0;      // reading the input, cutting records (the caller's thread)
    double reader_wait = 0;     // wall: the reader waiting for a free job (workers/writer behind)
    double convert_cpu = 0;     // workers: rows to recipients, encoding, sorting (sum)
    double check_cpu = 0;       // workers: existence checks made ahead (sum)
    double prebuild_cpu = 0;    // workers: SST files written ahead (sum)
    double writer_wait = 0;     // wall: the writer waiting for the next batch (workers behind)
    double check = 0;           // wall: the writer's existence checks (rows changed since)
    uint64_t rechecked_rows = 0;  // rows the writer read again
    double l0_wait = 0;           // wall: the writer waiting for compactions (level-0 files)
    double store = 0;           // wall: the writer building SST files and ingesting, or writing
  } stages;
};

struct ImportOptions {
  std::string list;
  ImportFormat format = ImportFormat::kAuto;  // kAuto: by extension (.jsonl/.ndjson), else content
  size_t batch_rows = 65536;  // data rows per batch (fewer when the rows are large)
  bool sync = false;  // fsync each batch's WAL write (ingested batches are always fsynced)
  // A batch with at least this many recipients new to the store is written as SST files and
  // ingested; others (small batches, re-imports, merges) go through a WriteBatch.
  size_t ingest_min_rows = 4096;
  unsigned threads = 0;  // workers converting rows; 0: one per core
  // Called once per rejected row, in line order: reason is e.g. `invalid address "bob@@x": ...`.
  // Runs on the importer's writer thread, before the rows of the same batch are stored.
  std::function<void(uint64_t line, std::string_view reason)> on_reject;
  // Called after each batch is durably acknowledged by the store (WAL written), with the last
  // input line that batch covers and the running summary. Runs on the importer's writer thread.
  std::function<void(uint64_t last_line, const ImportSummary& so_far)> on_batch;
  // Called about every batch with progress (for TTY progress lines).
  std::function<void(const ImportProgress&)> on_progress;
};

class Importer {
 public:
  explicit Importer(Store* store) : store_(store) {}

  // Imports `path` ("-" is stdin). Errors name the file (and line when there is one).
  [[nodiscard]]
  absl::StatusOr<ImportSummary> ImportFile(const std::string& path, const ImportOptions& options);
  // Imports from an open descriptor (not closed); `name` is used in messages and for kAuto.
  [[nodiscard]] absl::StatusOr<ImportSummary> ImportFd(int fd, const std::string& name,
                                         const ImportOptions& options);
  // Imports an in-memory document (tests, small forwarded inputs).
  [[nodiscard]]
  absl::StatusOr<ImportSummary> ImportString(std::string_view data, const std::string& name,
                                             const ImportOptions& options);

 private:
  Store* store_;
};

// Checks an RFC 3339 date-time ("2024-05-01T10:00:00Z", "2024-05-01 10:00:00.5+02:00").
bool IsRfc3339(std::string_view s);

}  // namespace salvo
