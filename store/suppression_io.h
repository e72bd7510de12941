// The suppression list's CSV exchange format (salvo suppress list / export / import):
//   key,reason,source,first_seen,last_seen,detail
// key is "user@example.com" or "@example.com"; times are RFC 3339 UTC on output, RFC 3339 or unix
// seconds on input. Trust: imported files are hostile: every row is normalized and validated,
// bad rows are rejected with their line number, binary or truncated files are an error.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "store/suppression_store.h"

namespace salvo {

inline constexpr std::string_view kSuppressionCsvHeader =
    "key,reason,source,first_seen,last_seen,detail\n";

// One CSV line (LF-terminated), fields quoted when needed.
void AppendSuppressionCsvRow(const SuppressionEntry& e, std::string* out);
// "2024-05-01T10:00:00Z"

// A suppression key from user input: "@domain" -> NormalizeDomainKey, else NormalizeAddress().key.
[[nodiscard]] absl::StatusOr<std::string> SuppressionKeyOf(std::string_view raw);

struct SuppressionImportSummary {
  uint64_t rows = 0;
  uint64_t added = 0;
  uint64_t rejected = 0;
};

// Imports CSV text with a header naming at least `key` (or `email`); reason defaults to manual,
// source to `default_source`. on_reject gets (line, reason) for each bad row. Valid rows are
// written in atomic batches of 4096 (a failure part-way leaves earlier batches applied; importing
// the same file again is idempotent).
[[nodiscard]] absl::StatusOr<SuppressionImportSummary> ImportSuppressionCsv(
    SuppressionStore* store, std::string_view data, const std::string& name,
    std::string_view default_source,
    const std::function<void(uint64_t line, std::string_view reason)>& on_reject);

// Reads up to `cap` bytes into `buf`: the count, 0 at the end of the input, or an error.
using SuppressionReadFn = std::function<absl::StatusOr<size_t>(char* buf, size_t cap)>;

// The same over a stream of any size, in bounded memory (1 MiB reads; a record over 1 MiB is an
// error naming its line). on_progress, when set, is called every 65,536 rows with the bytes read.
[[nodiscard]] absl::StatusOr<SuppressionImportSummary> ImportSuppressionCsvStream(
    SuppressionStore* store, const SuppressionReadFn& read, const std::string& name,
    std::string_view default_source,
    const std::function<void(uint64_t line, std::string_view reason)>& on_reject,
    const std::function<void(const SuppressionImportSummary&, uint64_t bytes)>& on_progress =
        nullptr);

}  // namespace salvo
