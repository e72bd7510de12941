// libFuzzer target: the import-side parsers — RFC 4180 CSV records fed in pieces (as the
// streaming importers do), address normalization (RFC 5321 / IDN), suppression keys and RFC 3339
// times. Any crash, hang, sanitizer report or broken invariant is a bug. Build: see
// tests/fuzz/README.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/address.h"
#include "engine/base/rfc3339.h"
#include "store/csv.h"
#include "store/suppression_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // 1) CSV: grow the visible window a piece at a time, as a streaming reader does; a record
  //    must never be reported beyond the bytes it was given.
  const size_t step = size ? 1 + data[0] % 97 : 1;
  salvo::CsvRow row;
  size_t pos = 0, visible = 0;
  while (pos < size) {
    visible = std::min(size, visible + step);
    const bool eof = visible == size;
    size_t consumed = 0;
    uint32_t newlines = 0;
    salvo::CsvParse r = salvo::ParseCsvRecord(in.data() + pos, in.data() + visible, eof, &row,
                                              &consumed, &newlines);
    if (r == salvo::CsvParse::kRecord) {
      if (consumed == 0 || pos + consumed > visible) __builtin_trap();
      for (size_t i = 0; i < row.fields.size(); ++i)
        if (row.fields[i].first + row.fields[i].second > row.arena.size()) __builtin_trap();
      pos += consumed;
    } else if (r != salvo::CsvParse::kNeedMore || eof) {
      break;  // binary or unterminated: the caller reports the line
    }
  }

  // 2) Addresses and keys: a normalized address is bounded and has no control bytes (a quoted
  //    local part may hold spaces: "john smith"@example.com).
  auto a = salvo::NormalizeAddress(in);
  if (a.ok()) {
    if (a->key.empty() || a->key.size() > 254 || a->key.find('@') == std::string::npos)
      __builtin_trap();
    for (char c : a->key)
      if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) __builtin_trap();
    auto again = salvo::NormalizeAddress(a->key);  // idempotent
    if (!again.ok() || again->key != a->key) __builtin_trap();
  }
  (void)salvo::SuppressionKeyOf(in);

  // 3) Times.
  (void)salvo::ParseRfc3339Micros(in, salvo::Rfc3339Form::kDateOrDateTime);
  return 0;
}
