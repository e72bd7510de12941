// Tests for store/importer.cc (and store/csv.cc through it): RFC 4180 edge cases, JSONL, rejects
// with line numbers, fatal input errors, idempotent re-import, duplicates across batches.
#include "store/importer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "store/recipient_store.h"
#include "tests/store/store_fixture.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

class ImporterTest : public StoreFixture {
 protected:

  absl::StatusOr<ImportSummary> Import(const std::string& data, const std::string& name = "in.csv",
                                       size_t batch_rows = 16384) {
    rejects_.clear();
    ImportOptions o;
    o.list = "news";
    o.batch_rows = batch_rows;
    o.on_reject = [&](uint64_t line, std::string_view why) {
      rejects_.push_back(absl::StrCat("line ", line, ": ", Av(why)));
    };
    return Importer(store_.get()).ImportString(data, name, o);
  }

  std::optional<Recipient> Get(const std::string& key) {
    auto r = RecipientStore(store_.get()).Get(key);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }

  std::vector<std::string> rejects_;
};

TEST_F(ImporterTest, QuotedFieldsEmbeddedCommasNewlinesCrlfAndBom) {
  std::string csv =
      "\xEF\xBB\xBF" "email,first_name,notes,opted_in_at,consent_source,consent_ip\r\n"
      "Ann@Example.com,\"Ann, the first\",\"said \"\"hi\"\"\r\nand left\",2024-05-01T10:00:00Z,"
      "form,192.0.2.1\r\n"
      "bob@example.com,Bob,,,,\r\n"
      "\r\n"
      "\"carol@example.com\",Carol,\"\",2024-05-01 10:00:00.123+02:00,import,2001:db8::1";  // no final EOL
  auto s = Import(csv);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->rows, 3u);
  EXPECT_EQ(s->imported, 3u);
  EXPECT_EQ(s->rejected, 0u) << (rejects_.empty() ? "" : rejects_[0]);
  auto ann = Get("ann@example.com");
  ASSERT_TRUE(ann.has_value());
  EXPECT_EQ(ann->address, "Ann@example.com");
  EXPECT_EQ(*ann->Field("first_name"), "Ann, the first");
  EXPECT_EQ(*ann->Field("notes"), "said \"hi\"\r\nand left");
  EXPECT_EQ(ann->consent.opted_in_at, "2024-05-01T10:00:00Z");
  EXPECT_EQ(ann->consent.source, "form");
  EXPECT_EQ(ann->consent.ip, "192.0.2.1");
  EXPECT_EQ(ann->Field("opted_in_at"), nullptr);  // consent columns are not fields
  auto bob = Get("bob@example.com");
  ASSERT_TRUE(bob.has_value());
  EXPECT_FALSE(bob->HasConsent());
  auto carol = Get("carol@example.com");
  ASSERT_TRUE(carol.has_value());
  EXPECT_EQ(carol->consent.ip, "2001:db8::1");
  EXPECT_EQ(*RecipientStore(store_.get()).ListSize("news"), 3u);
}

TEST_F(ImporterTest, FieldsAreSortedByName) {
  auto s = Import("zeta,email,alpha,Mid\nz,a@example.com,a,m\n");
  ASSERT_TRUE(s.ok()) << s.status();
  auto r = Get("a@example.com");
  ASSERT_TRUE(r.has_value());
  std::vector<std::pair<std::string, std::string>> want = {{"Mid", "m"}, {"alpha", "a"}, {"zeta", "z"}};
  EXPECT_EQ(r->fields, want);
}

using ::testing::ElementsAre;
using ::testing::StartsWith;

TEST_F(ImporterTest, BadRowsAreRejectedWithLineNumbersAndTheRestImported) {
  std::string csv =
      "email,name,opted_in_at,consent_ip\n"          // line 1
      "ok1@example.com,A,,\n"                        // 2
      "bob@@x,B,,\n"                                 // 3
      "\"multi\nline@example.com\",C,,\n"            // 4-5: invalid address (LF inside)
      "ok2@example.com,\"D\nE\",,\n"                 // 6-7: fine, embedded newline
      "too,many,fields,here,x\n"                     // 8
      "ok3@example.com,F,yesterday,\n"               // 9: bad opted_in_at
      "ok4@example.com,G,,999.1.1.1\n"               // 10: bad consent_ip
      "ok5@example.com,\"H\"x,,\n"                   // 11: text after closing quote
      "ok6@example.com,\xff\xfe,,\n"                 // 12: invalid UTF-8
      "ok7@example.com,I,2024-02-30T00:00:00Z,\n"    // 13: no such day
      "ok8@example.com,J,,\n";                       // 14
  auto s = Import(csv);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->rows, 11u);
  EXPECT_EQ(s->imported, 3u);
  EXPECT_EQ(s->rejected, 8u);
  EXPECT_THAT(rejects_, ElementsAre("line 3: invalid address \"bob@@x\": two '@'",
                                    StartsWith("line 4: invalid address"),
                                    "line 8: 5 fields, the header has 4",
                                    StartsWith("line 9: invalid opted_in_at \"yesterday\""),
                                    "line 10: invalid consent_ip \"999.1.1.1\"",
                                    StartsWith("line 11: text after the closing quote"),
                                    "line 12: invalid UTF-8 in column \"name\"",
                                    StartsWith("line 13: invalid opted_in_at")));
  EXPECT_TRUE(Get("ok2@example.com").has_value());
  EXPECT_EQ(*Get("ok2@example.com")->Field("name"), "D\nE");
  EXPECT_TRUE(Get("ok8@example.com").has_value());
  EXPECT_FALSE(Get("ok3@example.com").has_value());
}

TEST_F(ImporterTest, MissingEmailColumnIsAClearError) {
  auto s = Import("name,mail\nA,a@example.com\n", "people.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "people.csv: line 1: no \"email\" column in the header (columns: name, mail)");
  EXPECT_TRUE(RecipientStore(store_.get()).Lists()->empty());
}

TEST_F(ImporterTest, EmptyBinaryAndTruncatedFilesAreErrors) {
  auto empty = Import("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(std::string(empty.status().message()).find("empty file"), std::string::npos);

  std::string gz("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xed\x9d", 12);
  auto bin = Import(gz, "list.csv.gz");
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(std::string(bin.status().message()).find("binary data"), std::string::npos)
      << bin.status();

  auto nul = Import(std::string("email\na@example.com\nb@exa\0mple.com\n", 35));
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(std::string(nul.status().message()).find("line 3: binary data"), std::string::npos)
      << nul.status();

  auto cut = Import("email,note\na@example.com,ok\nb@example.com,\"unterminated...");
  ASSERT_FALSE(cut.ok());
  std::string msg(cut.status().message());
  EXPECT_NE(msg.find("in.csv: line 3: file ends inside a quoted field (truncated file?)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("1 rows before it were stored"), std::string::npos) << msg;
  EXPECT_TRUE(Get("a@example.com").has_value());

  auto dup = Import("email,Email\na@example.com,b@example.com\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(std::string(dup.status().message()).find("appears twice"), std::string::npos);
}

TEST_F(ImporterTest, OverlongRowIsAnError) {
  std::string csv = "email,blob\na@example.com,\"" + std::string(kImportMaxRowBytes + 10, 'x') + "\"\n";
  auto s = Import(csv);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("row longer than"), std::string::npos)
      << s.status();
  // A field over the per-field limit but within the row limit is only a reject.
  std::string csv2 =
      "email,blob\na@example.com," + std::string(kImportMaxFieldBytes + 1, 'x') + "\nb@example.com,y\n";
  auto s2 = Import(csv2);
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_EQ(s2->rejected, 1u);
  EXPECT_EQ(s2->imported, 1u);
}

TEST_F(ImporterTest, ReimportIsIdempotentAndDuplicatesCountAcrossBatches) {
  std::string csv = "email,n\n";
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&csv, "user", i, "@example.com,", i, "\n");
  absl::StrAppend(&csv, "USER5@example.com,again\n");  // same key as row 6, later batch
  absl::StrAppend(&csv, "user999@example.com,again\n");
  auto first = Import(csv, "in.csv", /*batch_rows=*/64);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->rows, 1002u);
  EXPECT_EQ(first->imported, 1000u);
  EXPECT_EQ(first->duplicate, 2u);
  EXPECT_EQ(*Get("user5@example.com")->Field("n"), "5");  // first occurrence wins
  auto second = Import(csv, "in.csv", 64);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->imported, 0u);
  EXPECT_EQ(second->updated, 0u);
  EXPECT_EQ(second->unchanged, 1000u);
  EXPECT_EQ(second->duplicate, 2u);
  EXPECT_EQ(*RecipientStore(store_.get()).ListSize("news"), 1000u);
}

TEST_F(ImporterTest, Jsonl) {
  std::string jsonl =
      "{\"email\":\"Ann@Example.com\",\"first_name\":\"Ann\",\"age\":41,\"vip\":true,"
      "\"tags\":[\"a\",\"b\"],\"gone\":null,\"opted_in_at\":\"2024-05-01T10:00:00Z\","
      "\"consent_source\":\"form\"}\r\n"
      "\n"
      "{\"email\":\"bob@@x\"}\n"
      "not json\n"
      "[1,2]\n"
      "{\"name\":\"no email\"}\n"
      "{\"email\":\"carol@example.com\",\"x\":\"1\",\"x\":\"2\"}";
  auto s = Import(jsonl, "people.jsonl");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->imported, 2u);
  EXPECT_EQ(s->rejected, 4u);
  EXPECT_THAT(rejects_, ElementsAre("line 3: invalid address \"bob@@x\": two '@'",
                                    StartsWith("line 4: invalid JSON"), "line 5: not a JSON object",
                                    "line 6: no \"email\" key"));
  auto ann = Get("ann@example.com");
  ASSERT_TRUE(ann.has_value());
  EXPECT_EQ(*ann->Field("first_name"), "Ann");
  EXPECT_EQ(*ann->Field("age"), "41");
  EXPECT_EQ(*ann->Field("vip"), "true");
  EXPECT_EQ(*ann->Field("tags"), "[\"a\",\"b\"]");
  EXPECT_EQ(ann->Field("gone"), nullptr);
  EXPECT_TRUE(ann->HasConsent());
  EXPECT_EQ(*Get("carol@example.com")->Field("x"), "2");
  // Content detection without an extension.
  auto s2 = Import("{\"email\":\"d@example.com\"}\n", "<stdin>");
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_EQ(s2->imported, 1u);
}

TEST_F(ImporterTest, BatchCallbackReportsAcknowledgedLines) {
  std::string csv = "email\n";
  for (int i = 0; i < 250; ++i) absl::StrAppend(&csv, "u", i, "@example.com\n");
  std::vector<uint64_t> acked;
  ImportOptions o;
  o.list = "l";
  o.batch_rows = 100;
  o.on_batch = [&](uint64_t last_line, const ImportSummary& so_far) {
    acked.push_back(last_line);
    EXPECT_EQ(so_far.imported, std::min<uint64_t>(250, acked.size() * 100));
  };
  auto s = Importer(store_.get()).ImportString(csv, "x.csv", o);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(acked, (std::vector<uint64_t>{101, 201, 251}));
}

TEST(Rfc3339, Accepts) {
  for (const char* s : {"2024-05-01T10:00:00Z", "2024-05-01t10:00:00z",
                        "2024-02-29T23:59:60.123456+05:30", "2024-05-01 10:00:00-07:00"}) {
    EXPECT_TRUE(IsRfc3339(s)) << s;
  }
  for (const char* s : {"2023-02-29T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01",
                        "2024-13-01T10:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:00:00+0200",
                        "2024-05-01T10:00:00.Z"}) {
    EXPECT_FALSE(IsRfc3339(s)) << s;
  }
}

}  // namespace
}  // namespace salvo
