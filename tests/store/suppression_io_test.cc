// Tests for store/suppression_io.cc: CSV export format, import with rejects, round trip.
#include "store/suppression_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "tests/store/store_fixture.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

class SuppressionIoTest : public StoreFixture {
 protected:
  // The CSV export of `store` (by default the fixture's).
  std::string Export(Store* store = nullptr) {
    std::string out(kSuppressionCsvHeader);
    SuppressionStore ss(store ? store : store_.get());
    EXPECT_TRUE(ss.ForEach([&](const SuppressionEntry& e) {
                    AppendSuppressionCsvRow(e, &out);
                    return true;
                  }).ok());
    return out;
  }
};

TEST_F(SuppressionIoTest, ExportFormat) {
  SuppressionStore ss(store_.get());
  ASSERT_TRUE(ss.Add({"bob@example.com", SuppressionReason::kHardBounce, "dsn", 1714557600,
                      1714561200, "550 5.1.1 \"no\", user"})
                  .ok());
  ASSERT_TRUE(ss.Add({"@example.org", SuppressionReason::kManual, "cli", 1714557600, 1714557600, ""}).ok());
  EXPECT_EQ(Export(),
            "key,reason,source,first_seen,last_seen,detail\n"
            "@example.org,manual,cli,2024-05-01T10:00:00Z,2024-05-01T10:00:00Z,\n"
            "bob@example.com,hard_bounce,dsn,2024-05-01T10:00:00Z,2024-05-01T11:00:00Z,"
            "\"550 5.1.1 \"\"no\"\", user\"\n");
}

TEST_F(SuppressionIoTest, ImportRejectsBadRowsAndRoundTrips) {
  SuppressionStore ss(store_.get());
  std::vector<std::string> rejects;
  auto sum = ImportSuppressionCsv(
      &ss,
      "key,reason,source,first_seen,last_seen,detail\r\n"
      "Bob@Example.com,hard_bounce,sendgrid,2024-05-01T10:00:00Z,1714561200,evt-1\r\n"
      "@Bücher.de,,,,,\r\n"
      "bob@@x,manual,,,,\r\n"
      "carol@example.com,angry,,,,\r\n"
      "dave@example.com,complaint,,yesterday,,\r\n"
      "eve@example.com,unsubscribe\r\n",
      "sup.csv", "import",
      [&](uint64_t line, std::string_view why) { rejects.push_back(absl::StrCat(line, ": ", Av(why))); });
  ASSERT_TRUE(sum.ok()) << sum.status();
  // rows, added, rejected
  EXPECT_EQ(std::tie(sum->rows, sum->added, sum->rejected), std::make_tuple(6u, 2u, 4u));
  EXPECT_THAT(rejects, ElementsAre("4: invalid address \"bob@@x\": two '@'",
                                   StartsWith("5: invalid reason \"angry\""),
                                   StartsWith("6: invalid first_seen"),
                                   "7: 2 fields, the header has 6"));
  auto bob = ss.Check("bob@example.com");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->source, "sendgrid");
  EXPECT_EQ((*bob)->first_seen, 1714557600);
  EXPECT_EQ((*bob)->last_seen, 1714561200);
  EXPECT_EQ((*bob)->detail, "evt-1");
  auto dom = ss.Check("anyone@xn--bcher-kva.de");
  ASSERT_TRUE(dom.ok() && dom->has_value());
  EXPECT_EQ((*dom)->reason, SuppressionReason::kManual);
  EXPECT_EQ((*dom)->source, "import");

  // Export -> import into a fresh store gives the same export.
  std::string exported = Export();
  auto store2 = Store::Open({dir_.File("second")});
  ASSERT_TRUE(store2.ok());
  SuppressionStore ss2(store2->get());
  ASSERT_TRUE(ImportSuppressionCsv(&ss2, exported, "x.csv", "import", nullptr).ok());
  EXPECT_EQ(Export(store2->get()), exported);
}

TEST_F(SuppressionIoTest, BadFiles) {
  SuppressionStore ss(store_.get());
  auto nokey = ImportSuppressionCsv(&ss, "reason\nmanual\n", "s.csv", "import", nullptr);
  ASSERT_FALSE(nokey.ok());
  EXPECT_NE(std::string(nokey.status().message()).find("no \"key\" column"), std::string::npos);
  auto bin = ImportSuppressionCsv(&ss, std::string("key\n\0\0\0", 7), "s.csv", "import", nullptr);
  EXPECT_FALSE(bin.ok());
  auto cut = ImportSuppressionCsv(&ss, "key,detail\na@example.com,\"open", "s.csv", "import", nullptr);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(std::string(cut.status().message()).find("truncated"), std::string::npos);
  EXPECT_FALSE(ImportSuppressionCsv(&ss, "", "s.csv", "import", nullptr).ok());
}

TEST_F(SuppressionIoTest, StreamedInTinyReadsEqualsWholeBuffer) {
  // 20,000 rows (several write batches), a BOM, CRLF, a quoted detail spanning lines, a bad row:
  // read 7 bytes at a time, records straddle every read boundary.
  std::string csv = "\xEF\xBB\xBFkey,reason,detail\r\n";
  for (int i = 0; i < 20000; ++i) {
    if (i == 777) csv += "not-an-address,manual,x\r\n";
    absl::StrAppend(&csv, "User", i, "@Example.com,", i % 2 ? "complaint" : "hard_bounce",
                    i % 1000 == 5 ? ",\"multi\r\nline, \"\"quoted\"\"\"\r\n" : ",d\r\n");
  }
  SuppressionStore ss(store_.get());
  std::vector<uint64_t> reject_lines;
  uint64_t progress_calls = 0;
  size_t at = 0;
  auto sum = ImportSuppressionCsvStream(
      &ss,
      [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
        size_t n = std::min<size_t>({cap, 7, csv.size() - at});
        std::memcpy(buf, csv.data() + at, n);
        at += n;
        return n;
      },
      "s.csv", "import", [&](uint64_t line, std::string_view) { reject_lines.push_back(line); },
      [&](const SuppressionImportSummary&, uint64_t) { ++progress_calls; });
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->rows, 20001u);
  EXPECT_EQ(sum->added, 20000u);
  // Header line 1, rows 0..776 on lines 2..778 plus one for row 5's two-line detail.
  EXPECT_EQ(reject_lines, std::vector<uint64_t>{780});
  EXPECT_EQ(progress_calls, 0u);  // every 65,536 rows
  std::string streamed = Export();

  auto other = Store::Open({dir_.File("whole")});
  ASSERT_TRUE(other.ok());
  SuppressionStore whole(other->get());
  ASSERT_TRUE(ImportSuppressionCsv(&whole, csv, "s.csv", "import", nullptr).ok());
  const std::string expected = Export(other->get());
  // Same keys, reasons and details (times are "now" for both: compare without them).
  auto strip_times = [](const std::string& x) {
    std::string out;
    std::vector<std::string> lines = absl::StrSplit(x, '\n');
    for (const std::string& line : lines) {
      std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(',', 5));
      if (f.size() == 6) absl::StrAppend(&out, f[0], ",", f[1], ",", f[2], ",", f[5], "\n");
      else absl::StrAppend(&out, line, "\n");
    }
    return out;
  };
  EXPECT_EQ(strip_times(streamed), strip_times(expected));
  auto c = ss.Check("user5@example.com");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_NE((*c)->detail.find("line, \"quoted\""), std::string::npos) << (*c)->detail;
}

TEST_F(SuppressionIoTest, OverlongRecordAndReadErrorsStopWithTheLine) {
  SuppressionStore ss(store_.get());
  std::string csv = "key,detail\na@example.com,ok\nb@example.com,\"" + std::string(3 << 20, 'x');
  size_t at = 0;
  auto reader = [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    size_t n = std::min(cap, csv.size() - at);
    std::memcpy(buf, csv.data() + at, n);
    at += n;
    return n;
  };
  auto sum = ImportSuppressionCsvStream(&ss, reader, "big.csv", "import", nullptr);
  ASSERT_FALSE(sum.ok());
  EXPECT_NE(sum.status().message().find("big.csv: line 3: a record longer than 1 MiB"),
            std::string::npos)
      << sum.status();
  int calls = 0;
  auto failing = [&](char* buf, size_t) -> absl::StatusOr<size_t> {
    if (calls++ == 0) {
      std::memcpy(buf, "key\n", 4);
      return 4;
    }
    return absl::UnavailableError("s.csv: read error: Input/output error");
  };
  auto err = ImportSuppressionCsvStream(&ss, failing, "s.csv", "import", nullptr);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("read error"), std::string::npos);
}

TEST_F(SuppressionIoTest, BatchWithARepeatedKeyMergesLikeSeparateAdds) {
  SuppressionStore ss(store_.get());
  ASSERT_TRUE(ss.Add({"a@example.com", SuppressionReason::kManual, "cli", 1000, 1000, "first"}).ok());
  ASSERT_TRUE(ss.AddBatch({{"a@example.com", SuppressionReason::kHardBounce, "dsn", 2000, 2000, "x"},
                           {"a@example.com", SuppressionReason::kComplaint, "arf", 500, 1500, "y"}})
                  .ok());
  auto c = ss.Check("a@example.com");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->reason, SuppressionReason::kComplaint);  // the last row wins
  EXPECT_EQ((*c)->first_seen, 500);                        // the earliest
  EXPECT_EQ((*c)->last_seen, 2000);                        // the latest
  EXPECT_FALSE(ss.AddBatch({{"ok@example.com", SuppressionReason::kManual, "cli", 0, 0, ""},
                            {"no-at-sign", SuppressionReason::kManual, "cli", 0, 0, ""}})
                   .ok());
  auto none = ss.Check("ok@example.com");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value()) << "an invalid key fails the whole batch";
}

}  // namespace
}  // namespace salvo
