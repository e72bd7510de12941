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
#include "engine/base/address.h"
#include "engine/base/shard.h"
#include "engine/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/table_properties.h"
#include "store/import_batch.h"
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

// A batch checked ahead by a worker (ImportWriter::Check) and written later: rows that this run's
// earlier batches wrote in between, and rows another writer wrote, are read again, so the counts
// are those of a check made at the write.
Recipient Row(const std::string& address, const std::string& n) {
  Recipient r;
  auto a = NormalizeAddress(address);
  EXPECT_TRUE(a.ok()) << a.status();
  r.address = a->address;
  r.key = a->key;
  r.shard = ShardOf(r.key);
  r.fields = {{"n", n}};
  return r;
}

absl::StatusOr<std::unique_ptr<Store>> OpenIn(const test::TempDir& dir) {
  StoreOptions o;
  o.data_dir = dir.File("data");
  return Store::Open(o);
}

void Fill(ImportBatch* b, const std::vector<Recipient>& rows) {
  b->Reset("l");
  for (const Recipient& r : rows) ASSERT_TRUE(b->Add(r).ok());
  b->Finish();
}

TEST(ImportWriterCheck, WritesAfterTheCheckAreSeen) {
  for (size_t ingest_min : {size_t{1}, size_t{1000000000}}) {
    SCOPED_TRACE(ingest_min);
    test::TempDir dir;
    auto store = OpenIn(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    UpsertOptions uo;
    uo.run_id = 7;
    ImportWriter w(store->get(), uo, ingest_min);
    ASSERT_TRUE(w.Init().ok());
    ImportBatch b1, b2, b3;
    Fill(&b1, {Row("a@example.com", "1"), Row("b@example.com", "1"), Row("c@example.com", "1")});
    Fill(&b2, {Row("c@example.com", "2"), Row("d@example.com", "1"), Row("e@example.com", "1")});
    Fill(&b3, {Row("a@example.com", "3"), Row("f@example.com", "1")});
    // Every batch checked before any is written: all rows new.
    w.Check(&b1);
    w.Check(&b2);
    w.Check(&b3);
    ASSERT_TRUE(b1.check.done && b2.check.done && b3.check.done);
    ASSERT_TRUE(w.Prebuild(&b1).ok());
    ASSERT_TRUE(w.Prebuild(&b2).ok());
    auto c1 = w.Write(&b1);
    ASSERT_TRUE(c1.ok()) << c1.status();
    EXPECT_EQ(c1->imported, 3u);
    // Another writer adds d (same record) and e (another record) to the list.
    auto up = RecipientStore(store->get())
                  .Upsert("l", {Row("d@example.com", "1"), Row("e@example.com", "9")});
    ASSERT_TRUE(up.ok()) << up.status();
    auto c2 = w.Write(&b2);
    ASSERT_TRUE(c2.ok()) << c2.status();
    EXPECT_EQ(c2->duplicate, 1u);  // c: written by b1 after b2's check
    EXPECT_EQ(c2->imported, 0u);
    EXPECT_EQ(c2->unchanged, 1u);  // d
    EXPECT_EQ(c2->updated, 1u);    // e: n 9 -> 1
    const uint64_t reread = w.rechecked_rows();
    EXPECT_GE(reread, 3u);
    auto c3 = w.Write(&b3);
    ASSERT_TRUE(c3.ok()) << c3.status();
    EXPECT_EQ(c3->duplicate, 1u);  // a
    EXPECT_EQ(c3->imported, 1u);   // f
    w.Discard(&b1);
    w.Discard(&b2);
    w.Discard(&b3);
    EXPECT_EQ(*RecipientStore(store->get()).ListSize("l"), 6u);
    auto e = RecipientStore(store->get()).Get("e@example.com");
    ASSERT_TRUE(e.ok() && e->has_value());
    EXPECT_EQ(*(*e)->Field("n"), "1");
    auto a = RecipientStore(store->get()).Get("a@example.com");
    ASSERT_TRUE(a.ok() && a->has_value());
    EXPECT_EQ(*(*a)->Field("n"), "1");  // first occurrence wins
  }
}

// Past its bound, the set of memberships left as they were stops growing and such memberships are
// re-marked with the run id instead: a re-import with keys repeated across batches counts the
// same duplicates either way.
TEST(ImportWriterCheck, PastTheKeptBoundMembershipsAreReMarked) {
  for (size_t max_kept : {size_t{0}, size_t{2}, kImportMaxKept}) {
    SCOPED_TRACE(max_kept);
    test::TempDir dir;
    auto store = OpenIn(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<Recipient> rows;
    for (int i = 0; i < 6; ++i) rows.push_back(Row(absl::StrCat("u", i, "@example.com"), "1"));
    ASSERT_TRUE(RecipientStore(store->get()).Upsert("l", rows).ok());
    UpsertOptions uo;
    uo.run_id = 11;
    ImportWriter w(store->get(), uo, 1, max_kept);
    ASSERT_TRUE(w.Init().ok());
    ImportBatch b1, b2, b3;
    Fill(&b1, {rows[0], rows[1], rows[2], rows[3]});
    Fill(&b2, {rows[4], rows[0], rows[3]});  // u0, u3 again
    Fill(&b3, {rows[5], rows[2], rows[4], rows[1]});  // u2, u4, u1 again
    uint64_t unchanged = 0, duplicate = 0, other = 0;
    for (ImportBatch* b : {&b1, &b2, &b3}) {
      w.Check(b);
      auto c = w.Write(b);
      ASSERT_TRUE(c.ok()) << c.status();
      unchanged += c->unchanged;
      duplicate += c->duplicate;
      other += c->imported + c->updated;
      w.Discard(b);
    }
    EXPECT_EQ(unchanged, 6u);
    EXPECT_EQ(duplicate, 5u);
    EXPECT_EQ(other, 0u);
    EXPECT_EQ(*RecipientStore(store->get()).ListSize("l"), 6u);
  }
}

// A column family's level-0 compaction trigger as RocksDB has it now.
int L0Trigger(Store* store, Cf cf) {
  return DbOf(store)->GetOptions(CfOf(store, cf)).level0_file_num_compaction_trigger;
}

// An import's SST files are written for their short life in level 0 (uncompressed, one whole
// filter and index) and compactions then rewrite them with the column family's own options; while
// the import runs, level-0 compactions of the recipient column families wait for more files, and
// the column families' own trigger comes back when it ends.
TEST(ImportWriterFiles, UncompressedWholeFilterFilesAndTheTriggerComesBack) {
  test::TempDir dir;
  auto store = OpenIn(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  rocksdb::DB* db = DbOf(store->get());
  auto trigger = [&](Cf cf) { return L0Trigger(store->get(), cf); };
  const int own = trigger(Cf::kRecipients);
  ASSERT_LT(own, 16);
  {
    UpsertOptions uo;
    uo.run_id = 5;
    ImportWriter w(store->get(), uo, /*ingest_min_rows=*/1);
    ASSERT_TRUE(w.Init().ok());
    for (Cf cf : {Cf::kRecipients, Cf::kMembers, Cf::kAddrHash}) EXPECT_EQ(trigger(cf), 16);
    EXPECT_EQ(w.trigger_failures(), 0u);
    ImportBatch b;
    std::vector<Recipient> rows;
    for (int i = 0; i < 50; ++i) rows.push_back(Row(absl::StrCat("u", i, "@example.com"), "1"));
    Fill(&b, rows);
    w.Check(&b);
    ASSERT_TRUE(w.Prebuild(&b).ok());
    for (const std::string& path : {b.records_file, b.members_file, b.hashes_file}) {
      SCOPED_TRACE(path);
      rocksdb::SstFileReader reader{rocksdb::Options()};
      ASSERT_TRUE(reader.Open(path).ok());
      auto props = reader.GetTableProperties();
      ASSERT_NE(props, nullptr);
      EXPECT_EQ(props->compression_name, "NoCompression");
      EXPECT_EQ(props->index_partitions, 0u);
      EXPECT_GT(props->filter_size, 0u);
    }
    auto c = w.Write(&b);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->imported, 50u);
    EXPECT_EQ(w.ingested_batches(), 1u);
  }
  for (Cf cf : {Cf::kRecipients, Cf::kMembers, Cf::kAddrHash}) EXPECT_EQ(trigger(cf), own);
  // A compaction writes the rows again with the column family's compression.
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  ASSERT_TRUE(db->CompactRange(co, CfOf(store->get(), Cf::kRecipients), nullptr, nullptr).ok());
  rocksdb::TablePropertiesCollection all;
  ASSERT_TRUE(db->GetPropertiesOfAllTables(CfOf(store->get(), Cf::kRecipients), &all).ok());
  ASSERT_FALSE(all.empty());
  for (const auto& [name, props] : all) {
    EXPECT_NE(props->compression_name, "NoCompression") << name;
  }
  EXPECT_EQ(*RecipientStore(store->get()).ListSize("l"), 50u);
}

// Each column family gets its own trigger back, and one already at or above the import's is
// left alone (it was restored to the recipients' trigger before).
TEST(ImportWriterFiles, EachColumnFamilyGetsItsOwnTriggerBack) {
  test::TempDir dir;
  auto store = OpenIn(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  rocksdb::DB* db = DbOf(store->get());
  auto trigger = [&](Cf cf) { return L0Trigger(store->get(), cf); };
  auto set = [&](Cf cf, int files) {
    ASSERT_TRUE(db->SetOptions(CfOf(store->get(), cf),
                               {{"level0_file_num_compaction_trigger", absl::StrCat(files)}})
                    .ok());
  };
  set(Cf::kRecipients, 3);
  set(Cf::kMembers, 6);
  set(Cf::kAddrHash, 17);
  {
    ImportWriter w(store->get(), UpsertOptions{}, /*ingest_min_rows=*/1);
    ASSERT_TRUE(w.Init().ok());
    EXPECT_EQ(trigger(Cf::kRecipients), 16);
    EXPECT_EQ(trigger(Cf::kMembers), 16);
    EXPECT_EQ(trigger(Cf::kAddrHash), 17);
  }
  EXPECT_EQ(trigger(Cf::kRecipients), 3);
  EXPECT_EQ(trigger(Cf::kMembers), 6);
  EXPECT_EQ(trigger(Cf::kAddrHash), 17);
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
