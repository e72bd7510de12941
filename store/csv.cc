// RFC 4180 record parser. Trust: hostile input, see csv.h.
#include "store/csv.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace salvo {

CsvParse ParseCsvRecord(const char* p, const char* end, bool eof, CsvRow* row, size_t* consumed,
                        uint32_t* newlines) {
  row->Clear();
  const char* s = p;
  uint32_t nl = 0;
  for (;;) {
    uint32_t start = static_cast<uint32_t>(row->arena.size());
    if (s < end && *s == '"') {
      ++s;
      for (;;) {
        const char* q = static_cast<const char*>(std::memchr(s, '"', end - s));
        if (q == nullptr) return eof ? CsvParse::kUnterminated : CsvParse::kNeedMore;
        if (std::memchr(s, '\0', q - s) != nullptr) return CsvParse::kBinary;
        for (const char* c = s; c < q; ++c) nl += (*c == '\n');
        row->arena.append(s, q - s);
        if (q + 1 == end && !eof) return CsvParse::kNeedMore;
        if (q + 1 < end && q[1] == '"') {
          row->arena.push_back('"');
          s = q + 2;
          continue;
        }
        s = q + 1;
        break;
      }
      // After the closing quote: a delimiter, or text we keep but flag (RFC 4180 forbids it).
      if (s < end && *s != ',' && *s != '\n' && *s != '\r' && row->problem.empty()) {
        row->problem = absl::StrCat("text after the closing quote in column ",
                                    row->fields.size() + 1);
      }
    }
    // Unquoted part (the whole field, or stray text after a closing quote).
    const char* f = s;
    while (s < end) {
      char c = *s;
      if (c == ',' || c == '\n' || c == '\r') break;
      if (c == '\0') return CsvParse::kBinary;
      ++s;
    }
    row->arena.append(f, s - f);
    row->fields.emplace_back(start, static_cast<uint32_t>(row->arena.size() - start));
    if (s == end) {
      if (!eof) return CsvParse::kNeedMore;
      *consumed = s - p;
      *newlines = nl;
      return CsvParse::kRecord;
    }
    if (*s == ',') {
      ++s;
      continue;
    }
    if (*s == '\r') {
      if (s + 1 == end && !eof) return CsvParse::kNeedMore;
      s += (s + 1 < end && s[1] == '\n') ? 2 : 1;
    } else {
      ++s;
    }
    *consumed = s - p;
    *newlines = nl + 1;
    return CsvParse::kRecord;
  }
}


}  // namespace salvo
