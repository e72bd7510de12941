// Reads tests/fixtures/MANIFEST.tsv for the feedback tests.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

struct ManifestRow {
  std::string path;      // relative to the fixtures dir
  std::string provider;  // sendgrid, ..., amazon_ses, dsn, arf
  std::vector<std::string> recipients;  // "-" means none
  std::vector<std::string> classes;
};

inline std::vector<ManifestRow> ReadManifest() {
  std::vector<ManifestRow> rows;
  std::string text = ReadFile(FixturesDir() + "/MANIFEST.tsv");
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (header) { header = false; continue; }
    if (line.empty()) continue;
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    if (cols.size() < 4) continue;
    ManifestRow r;
    r.path = cols[0];
    r.provider = cols[1];
    r.recipients = absl::StrSplit(cols[2], ',');
    r.classes = absl::StrSplit(cols[3], ',');
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace salvo::test
