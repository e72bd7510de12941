// Tests for store/import_writer.cc and store/import_batch.cc: an import written as ingested SST
// files leaves the store exactly as the WriteBatch path does (same records, memberships, index
// keys, list counts and summaries) through first imports, re-imports, merges, duplicates within
// and across batches, rejects, a second list and JSONL; an import's leftover files are removed
// when the store is opened.
#include "store/import_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "store/importer.h"
#include "store/recipient_store.h"
#include "store/store_internals.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

struct Side {
  std::unique_ptr<Store> store;
  std::vector<std::string> rejects;
};

// Every key and value of the recipient column families, run markers replaced by the order in
// which they first appear (the markers are random per run).
std::vector<std::string> Dump(Store* s) {
  std::vector<std::string> out;
  std::map<std::string, int> markers;
  for (Cf cf : {Cf::kRecipients, Cf::kMembers, Cf::kLists, Cf::kAddrHash}) {
    std::unique_ptr<rocksdb::Iterator> it(
        DbOf(s)->NewIterator(rocksdb::ReadOptions(), CfOf(s, cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string value = it->value().ToString();
      if (cf == Cf::kMembers) {
        auto [pos, added] = markers.emplace(value, static_cast<int>(markers.size()));
        value = absl::StrCat("run#", pos->second);
      }
      out.push_back(absl::StrCat(static_cast<int>(cf), " ", SanitizeForLog(it->key().ToString()),
                                 " = ", SanitizeForLog(value)));
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  return out;
}

class ImportWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      StoreOptions o;
      o.data_dir = dir_.File(i == 0 ? "ingest" : "writebatch");
      auto s = Store::Open(o);
      ASSERT_TRUE(s.ok()) << s.status();
      side_[i].store = std::move(*s);
    }
  }

  // Imports `data` into both stores (side 0: every batch ingested, side 1: every batch through a
  // WriteBatch) and expects the same summary, rejects and store contents.
  void ImportBoth(const std::string& data, const std::string& name, const std::string& list,
                  size_t batch_rows, ImportSummary* out = nullptr, bool ingests = true) {
    ImportSummary sum[2];
    for (int i = 0; i < 2; ++i) {
      ImportOptions o;
      o.list = list;
      o.batch_rows = batch_rows;
      o.ingest_min_rows = i == 0 ? 1 : 1000000000;
      o.threads = 3;
      side_[i].rejects.clear();
      o.on_reject = [this, i](uint64_t line, std::string_view why) {
        side_[i].rejects.push_back(absl::StrCat("line ", line, ": ", Av(why)));
      };
      auto s = Importer(side_[i].store.get()).ImportString(data, name, o);
      ASSERT_TRUE(s.ok()) << s.status();
      sum[i] = *s;
    }
    EXPECT_EQ(sum[0].ingested_batches > 0, ingests);
    EXPECT_EQ(sum[1].ingested_batches, 0u);
    EXPECT_EQ(sum[0].rows, sum[1].rows);
    EXPECT_EQ(sum[0].imported, sum[1].imported);
    EXPECT_EQ(sum[0].updated, sum[1].updated);
    EXPECT_EQ(sum[0].unchanged, sum[1].unchanged);
    EXPECT_EQ(sum[0].duplicate, sum[1].duplicate);
    EXPECT_EQ(sum[0].rejected, sum[1].rejected);
    EXPECT_EQ(side_[0].rejects, side_[1].rejects);
    EXPECT_EQ(Dump(side_[0].store.get()), Dump(side_[1].store.get()));
    if (out != nullptr) *out = sum[0];
  }

  test::TempDir dir_;
  Side side_[2];
};

TEST_F(ImportWriterTest, IngestedImportsLeaveTheStoreAsWriteBatchesDo) {
  // 1. First import: duplicates in one batch and across batches, a bad row, consent on half.
  std::string csv = "email,n,opted_in_at\n";
  for (int i = 0; i < 3000; ++i) {
    absl::StrAppend(&csv, "u", i, "@example.com,", i, ",", i % 2 ? "" : "2024-05-01T10:00:00Z",
                    "\n");
    if (i == 7) absl::StrAppend(&csv, "U7@example.com,dup-same-batch,\n");
    if (i == 1500) absl::StrAppend(&csv, "u5@EXAMPLE.com,dup-later-batch,\n");
    if (i == 2000) absl::StrAppend(&csv, "bad@@x,1,\n");
  }
  ImportSummary s;
  ASSERT_NO_FATAL_FAILURE(ImportBoth(csv, "a.csv", "news", 500, &s));
  EXPECT_EQ(s.imported, 3000u);
  EXPECT_EQ(s.duplicate, 2u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(*RecipientStore(side_[0].store.get()).ListSize("news"), 3000u);
  EXPECT_EQ(*(*RecipientStore(side_[0].store.get()).Get("u5@example.com"))->Field("n"), "5");

  // 2. Re-import: all unchanged (no new recipients: written through WriteBatches).
  ASSERT_NO_FATAL_FAILURE(ImportBoth(csv, "a.csv", "news", 500, &s, /*ingests=*/false));
  EXPECT_EQ(s.unchanged, 3000u);
  EXPECT_EQ(s.imported + s.updated, 0u);

  // 3. Merges mixed with new rows in the same batches: changed fields, added consent, a new field.
  std::string merge = "email,n,tier,consent_source\n";
  for (int i = 2000; i < 5000; ++i) {
    absl::StrAppend(&merge, "u", i, "@example.com,", i % 3 ? std::to_string(i) : "changed", ",",
                    i % 5 ? "" : "gold", ",", i % 7 ? "" : "form", "\n");
  }
  ASSERT_NO_FATAL_FAILURE(ImportBoth(merge, "b.csv", "news", 700, &s));
  EXPECT_EQ(s.imported, 2000u);
  EXPECT_GT(s.updated, 0u);
  auto r = RecipientStore(side_[0].store.get()).Get("u2010@example.com");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(*(*r)->Field("tier"), "gold");
  EXPECT_TRUE((*r)->HasConsent());  // kept from the first import

  // 4. A second list over existing recipients, then JSONL into the first.
  std::string other = "email\n";
  for (int i = 0; i < 1200; ++i) absl::StrAppend(&other, "u", i * 3, "@example.com\n");
  ASSERT_NO_FATAL_FAILURE(ImportBoth(other, "c.csv", "other", 400, &s, /*ingests=*/false));
  EXPECT_EQ(s.updated, 1200u);  // existing recipients, new to this list
  std::string jsonl;
  for (int i = 4500; i < 6000; ++i) {
    absl::StrAppend(&jsonl, "{\"email\":\"u", i, "@example.com\",\"age\":", i % 90, "}\n");
  }
  absl::StrAppend(&jsonl, "not json\n");
  ASSERT_NO_FATAL_FAILURE(ImportBoth(jsonl, "d.jsonl", "news", 256, &s));
  EXPECT_EQ(s.imported, 1000u);
  EXPECT_EQ(s.updated, 500u);
  EXPECT_EQ(*RecipientStore(side_[0].store.get()).ListSize("news"), 6000u);
  EXPECT_EQ(*RecipientStore(side_[0].store.get()).ListSize("other"), 1200u);
  auto keys = RecipientStore(side_[0].store.get()).KeysWithHash(AddressHash("u5999@example.com"));
  ASSERT_TRUE(keys.ok());
  EXPECT_THAT(*keys, ::testing::ElementsAre("u5999@example.com"));
}

TEST_F(ImportWriterTest, OneRowBatchesAndAnEmptyFile) {
  std::string csv = "email\nann@example.com\nbob@example.com\nann@example.com\n";
  ASSERT_NO_FATAL_FAILURE(ImportBoth(csv, "a.csv", "l", 1));
  ASSERT_NO_FATAL_FAILURE(ImportBoth("email\n", "e.csv", "l", 1, nullptr, false));
}

TEST(ImportTmpDir, StoreOpenRemovesWhatAKilledImportLeft) {
  test::TempDir dir;
  std::string data_dir = dir.File("data");
  {
    StoreOptions o;
    o.data_dir = data_dir;
    ASSERT_TRUE(Store::Open(o).ok());
  }
  std::string run = absl::StrCat(data_dir, "/", kImportTmpDir, "/0000000000000001-123");
  std::filesystem::create_directories(run);
  dir.Write(absl::StrCat("data/", kImportTmpDir, "/0000000000000001-123/0-records.sst"), "x");
  StoreOptions o;
  o.data_dir = data_dir;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat(data_dir, "/", kImportTmpDir)));
}

}  // namespace
}  // namespace salvo
