// Tests for store/suppression_io.cc: CSV export format, import with rejects, round trip.
#include "store/suppression_io.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "tests/store/store_fixture.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

class SuppressionIoTest : public StoreFixture {
 protected:
  std::string Export() {
    std::string out(kSuppressionCsvHeader);
    SuppressionStore ss(store_.get());
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
  EXPECT_EQ(sum->rows, 6u);
  EXPECT_EQ(sum->added, 2u);
  EXPECT_EQ(sum->rejected, 4u);
  ASSERT_EQ(rejects.size(), 4u);
  EXPECT_EQ(rejects[0], "4: invalid address \"bob@@x\": two '@'");
  EXPECT_EQ(rejects[1].rfind("5: invalid reason \"angry\"", 0), 0u);
  EXPECT_EQ(rejects[2].rfind("6: invalid first_seen", 0), 0u);
  EXPECT_EQ(rejects[3], "7: 2 fields, the header has 6");
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
  test::TempDir other;
  StoreOptions o;
  o.data_dir = other.File("data");
  auto store2 = Store::Open(o);
  ASSERT_TRUE(store2.ok());
  SuppressionStore ss2(store2->get());
  ASSERT_TRUE(ImportSuppressionCsv(&ss2, exported, "x.csv", "import", nullptr).ok());
  std::string again(kSuppressionCsvHeader);
  ASSERT_TRUE(ss2.ForEach([&](const SuppressionEntry& e) {
                   AppendSuppressionCsvRow(e, &again);
                   return true;
                 }).ok());
  EXPECT_EQ(again, exported);
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

}  // namespace
}  // namespace salvo
