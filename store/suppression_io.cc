// CSV import / export of the suppression list. Trust: imported text is hostile (see header).
#include "engine/base/clock.h"
#include "store/suppression_io.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <ctime>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/base/address.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "store/csv.h"

namespace salvo {
namespace {

void AppendCsvField(std::string_view v, std::string* out) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Empty -> 0 (now); unix seconds or RFC 3339.
bool ParseTime(std::string_view s, int64_t* out) {
  s = Trim(s, kBlanks);
  if (s.empty()) {
    *out = 0;
    return true;
  }
  bool digits = s.size() <= 12;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    int64_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    *out = v;
    return true;
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &err)) return false;
  *out = absl::ToUnixSeconds(t);
  return true;
}

}  // namespace

void AppendSuppressionCsvRow(const SuppressionEntry& e, std::string* out) {
  AppendCsvField(e.key, out);
  out->push_back(',');
  out->append(SuppressionReasonName(e.reason));
  out->push_back(',');
  AppendCsvField(e.source, out);
  out->push_back(',');
  out->append(FormatUnixTime(e.first_seen));
  out->push_back(',');
  out->append(FormatUnixTime(e.last_seen));
  out->push_back(',');
  AppendCsvField(e.detail, out);
  out->push_back('\n');
}

[[nodiscard]] absl::StatusOr<std::string> SuppressionKeyOf(std::string_view raw) {
  std::string_view s = Trim(raw, kBlanks);
  if (!s.empty() && s.front() == '@') return NormalizeDomainKey(s);
  ASSIGN_OR_RETURN(NormalizedAddress a, NormalizeAddress(s));
  return a.key;
}

[[nodiscard]] absl::StatusOr<SuppressionImportSummary> ImportSuppressionCsv(
    SuppressionStore* store, std::string_view data, const std::string& name,
    std::string_view default_source,
    const std::function<void(uint64_t line, std::string_view reason)>& on_reject) {
  size_t at = 0;
  return ImportSuppressionCsvStream(
      store,
      [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
        size_t n = std::min(cap, data.size() - at);
        std::memcpy(buf, data.data() + at, n);
        at += n;
        return n;
      },
      name, default_source, on_reject);
}

[[nodiscard]] absl::StatusOr<SuppressionImportSummary> ImportSuppressionCsvStream(
    SuppressionStore* store, const SuppressionReadFn& read, const std::string& name,
    std::string_view default_source,
    const std::function<void(uint64_t line, std::string_view reason)>& on_reject,
    const std::function<void(const SuppressionImportSummary&, uint64_t bytes)>& on_progress) {
  constexpr size_t kChunk = 1 << 20;       // read size; memory stays ~2 chunks + one batch
  constexpr size_t kMaxRecord = 1 << 20;   // one CSV record (a key and a detail are far less)
  constexpr size_t kBatch = 4096;          // rows per atomic write
  SuppressionImportSummary sum;
  std::string buf;
  size_t pos = 0;
  bool eof = false;
  uint64_t bytes = 0;
  std::unique_ptr<char[]> chunk(new char[kChunk]);
  auto fill = [&]() -> absl::Status {
    buf.erase(0, pos);
    pos = 0;
    absl::StatusOr<size_t> n = read(chunk.get(), kChunk);
    if (!n.ok()) return n.status();
    buf.append(chunk.get(), std::min(*n, kChunk));
    bytes += *n;
    if (*n == 0) eof = true;
    return absl::OkStatus();
  };
  std::vector<SuppressionEntry> batch;
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(store->AddBatch(batch));
    sum.added += batch.size();
    batch.clear();
    return absl::OkStatus();
  };

  RETURN_IF_ERROR(fill());
  while (!eof && buf.size() < 3) RETURN_IF_ERROR(fill());
  if (buf.size() >= 3 && std::memcmp(buf.data(), "\xEF\xBB\xBF", 3) == 0) pos = 3;
  uint64_t line = 1;
  CsvRow row;
  int col_key = -1, col_reason = -1, col_source = -1, col_first = -1, col_last = -1,
      col_detail = -1;
  size_t ncols = 0;
  bool have_header = false;
  auto reject = [&](uint64_t l, std::string_view why) {
    ++sum.rejected;
    if (on_reject) on_reject(l, why);
  };
  for (;;) {
    if (pos == buf.size()) {
      if (eof) break;
      RETURN_IF_ERROR(fill());
      continue;
    }
    size_t consumed = 0;
    uint32_t newlines = 0;
    CsvParse r = ParseCsvRecord(buf.data() + pos, buf.data() + buf.size(), eof, &row, &consumed,
                                &newlines);
    if (r == CsvParse::kNeedMore && !eof) {
      if (buf.size() - pos > kMaxRecord)
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": line ", line, ": a record longer than ", kMaxRecord >> 20, " MiB"));
      RETURN_IF_ERROR(fill());
      continue;
    }
    if (r == CsvParse::kBinary) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": line ", line, ": binary data (NUL byte): not a CSV file"));
    }
    if (r != CsvParse::kRecord) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": line ", line, ": file ends inside a quoted field (truncated file?)"));
    }
    pos += consumed;
    uint64_t row_line = line;
    line += newlines;
    if (row.fields.size() == 1 && row.fields[0].second == 0) continue;
    if (!have_header) {
      have_header = true;
      ncols = row.fields.size();
      for (size_t i = 0; i < ncols; ++i) {
        std::string n = AsciiLower(Trim(row.Field(i), kBlanks));
        int c = static_cast<int>(i);
        if (n == "key" || n == "email" || n == "address") col_key = c;
        else if (n == "reason") col_reason = c;
        else if (n == "source") col_source = c;
        else if (n == "first_seen") col_first = c;
        else if (n == "last_seen") col_last = c;
        else if (n == "detail") col_detail = c;
      }
      if (col_key < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": line ", row_line, ": no \"key\" column in the header (want ",
            Av(kSuppressionCsvHeader.substr(0, kSuppressionCsvHeader.size() - 1)), ")"));
      }
      continue;
    }
    ++sum.rows;
    if (on_progress && sum.rows % 65536 == 0) on_progress(sum, bytes);
    if (row.fields.size() != ncols) {
      reject(row_line, absl::StrCat(row.fields.size(), " fields, the header has ", ncols));
      continue;
    }
    auto field = [&](int c) { return c < 0 ? std::string_view() : row.Field(c); };
    auto key = SuppressionKeyOf(field(col_key));
    if (!key.ok()) {
      reject(row_line, Sv(key.status().message()));
      continue;
    }
    SuppressionEntry e;
    e.key = *key;
    std::string_view reason = Trim(field(col_reason), kBlanks);
    if (reason.empty()) {
      e.reason = SuppressionReason::kManual;
    } else if (!ParseSuppressionReason(reason, &e.reason)) {
      reject(row_line, absl::StrCat("invalid reason \"", SanitizeForLog(reason, 40),
                                    "\" (unsubscribe, hard_bounce, complaint or manual)"));
      continue;
    }
    std::string_view source = Trim(field(col_source), kBlanks);
    e.source = std::string(source.empty() ? default_source : source);
    if (!ParseTime(field(col_first), &e.first_seen) || !ParseTime(field(col_last), &e.last_seen)) {
      reject(row_line, "invalid first_seen / last_seen (RFC 3339 or unix seconds)");
      continue;
    }
    e.detail = std::string(field(col_detail));
    batch.push_back(std::move(e));
    if (batch.size() >= kBatch) RETURN_IF_ERROR(flush());
  }
  RETURN_IF_ERROR(flush());
  if (!have_header) return absl::InvalidArgumentError(absl::StrCat(name, ": empty file: no header row"));
  return sum;
}

}  // namespace salvo
