// RFC 4180 CSV record parsing over a buffer: quoted fields with "" escapes, embedded commas and
// line breaks, CRLF / LF / CR line ends. Trust: input is hostile; the parser never reads past
// `end`, reports NUL bytes (binary input) and unterminated quotes, and leaves size limits to the
// caller (it stops with kNeedMore, so the caller bounds how much it buffers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace salvo {

struct CsvRow {
  std::string arena;                                  // unescaped field bytes, back to back
  std::vector<std::pair<uint32_t, uint32_t>> fields;  // (offset, length) into arena
  std::string problem;                                // row-level defect found while parsing
  std::string_view Field(size_t i) const {
    return std::string_view(arena).substr(fields[i].first, fields[i].second);
  }
  void Clear() {
    arena.clear();
    fields.clear();
    problem.clear();
  }
};

enum class CsvParse { kRecord, kNeedMore, kBinary, kUnterminated };

// Parses one record from [p, end). `eof`: no more input follows `end`. On kRecord sets *consumed
// (bytes, including the line end) and *newlines (physical lines the record spans). A record with
// a stray character after a closing quote is returned with row->problem set.
CsvParse ParseCsvRecord(const char* p, const char* end, bool eof, CsvRow* row, size_t* consumed,
                        uint32_t* newlines);

}  // namespace salvo
