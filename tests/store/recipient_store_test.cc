// Tests for store/recipient_store.cc: upsert counts and merge rule, idempotence, list counts,
// per-shard range scans, shard balance.
#include "store/store_internals.h"
#include "store/recipient_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/shard.h"
#include "rocksdb/db.h"
#include "tests/store/schema1_layout.h"
#include "tests/store/store_fixture.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

Recipient Make(const std::string& raw, std::vector<std::pair<std::string, std::string>> fields = {},
               std::string opted_in_at = "2024-05-01T10:00:00Z") {
  auto n = NormalizeAddress(raw);
  EXPECT_TRUE(n.ok()) << n.status();
  Recipient r;
  r.address = n->address;
  r.key = n->key;
  r.shard = ShardOf(r.key);
  r.consent.opted_in_at = opted_in_at;
  r.consent.source = opted_in_at.empty() ? "" : "test";
  r.fields = std::move(fields);
  return r;
}

class RecipientStoreTest : public StoreFixture {
 protected:
};

TEST_F(RecipientStoreTest, UpsertCountsAndIdempotence) {
  RecipientStore rs(store_.get());
  std::vector<Recipient> batch = {Make("Ann@Example.com", {{"first_name", "Ann"}}),
                                  Make("bob@example.com", {{"first_name", "Bob"}}),
                                  Make("ANN@example.com", {{"first_name", "Other"}})};
  auto c = rs.Upsert("news", batch);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->imported, 2u);
  EXPECT_EQ(c->duplicate, 1u);  // same key within the batch: first one wins
  EXPECT_EQ(c->updated, 0u);
  auto ann = rs.Get("ann@example.com");
  ASSERT_TRUE(ann.ok() && ann->has_value());
  EXPECT_EQ((*ann)->address, "Ann@example.com");
  EXPECT_EQ(*(*ann)->Field("first_name"), "Ann");
  EXPECT_TRUE((*ann)->HasConsent());

  auto again = rs.Upsert("news", batch);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->imported, 0u);
  EXPECT_EQ(again->updated, 0u);
  EXPECT_EQ(again->unchanged, 2u);
  EXPECT_EQ(*rs.ListSize("news"), 2u);

  // Same recipient into another list: updated (new membership), record unchanged.
  auto other = rs.Upsert("vip", {Make("ann@example.com", {{"first_name", "Ann"}})});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->updated, 1u);
  EXPECT_EQ(*rs.ListSize("vip"), 1u);
  auto lists = rs.Lists();
  ASSERT_TRUE(lists.ok());
  ASSERT_EQ(lists->size(), 2u);
  EXPECT_EQ((*lists)[0].name, "news");
  EXPECT_EQ((*lists)[0].members, 2u);
  EXPECT_EQ((*lists)[1].name, "vip");
  EXPECT_EQ(*rs.ListSize("nothing"), 0u);
}

TEST_F(RecipientStoreTest, MergeRuleKeepsOtherFieldsAndConsent) {
  RecipientStore rs(store_.get());
  ASSERT_TRUE(rs.Upsert("l", {Make("c@example.com", {{"a", "1"}, {"b", "2"}})}).ok());
  auto c = rs.Upsert("l", {Make("C@example.com", {{"b", "3"}, {"c", "4"}}, "")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->updated, 1u);
  auto r = rs.Get("c@example.com");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->address, "C@example.com");
  std::vector<std::pair<std::string, std::string>> want = {{"a", "1"}, {"b", "3"}, {"c", "4"}};
  EXPECT_EQ((*r)->fields, want);
  EXPECT_EQ((*r)->consent.opted_in_at, "2024-05-01T10:00:00Z");  // empty value does not erase
}

TEST_F(RecipientStoreTest, RunIdMakesLaterBatchesDuplicates) {
  RecipientStore rs(store_.get());
  UpsertOptions o;
  o.run_id = 77;
  ASSERT_EQ(rs.Upsert("l", {Make("a@example.com")}, o)->imported, 1u);
  auto c = rs.Upsert("l", {Make("a@example.com", {{"x", "changed"}})}, o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->duplicate, 1u);
  EXPECT_EQ((*rs.Get("a@example.com"))->fields.size(), 0u);  // first occurrence won
  o.run_id = 78;  // a new run: unchanged again
  EXPECT_EQ(rs.Upsert("l", {Make("a@example.com")}, o)->unchanged, 1u);
}

TEST_F(RecipientStoreTest, RejectsBadListNames) {
  RecipientStore rs(store_.get());
  EXPECT_FALSE(rs.Upsert("", {Make("a@example.com")}).ok());
  EXPECT_FALSE(rs.Upsert(std::string("a\0b", 3), {Make("a@example.com")}).ok());
  EXPECT_FALSE(rs.Upsert(std::string(201, 'x'), {Make("a@example.com")}).ok());
}

TEST_F(RecipientStoreTest, ScanListShardIsAPagedRangeScanOfOneShard) {
  RecipientStore rs(store_.get());
  std::vector<Recipient> a, b;
  for (int i = 0; i < 2000; ++i) a.push_back(Make(absl::StrCat("user", i, "@example.com")));
  for (int i = 0; i < 500; ++i) b.push_back(Make(absl::StrCat("other", i, "@example.com")));
  ASSERT_TRUE(rs.Upsert("a", a).ok());
  ASSERT_TRUE(rs.Upsert("b", b).ok());
  ASSERT_TRUE(rs.Upsert("a", {Make("user0@example.com")}).ok());
  std::set<std::string> seen;
  for (uint32_t shard = 0; shard < kVirtualShards; ++shard) {
    std::string after;
    std::string prev;
    for (;;) {
      std::vector<Recipient> page;
      ASSERT_TRUE(rs.ScanListShard("a", shard, after, 7, &page).ok());
      if (page.empty()) break;
      EXPECT_LE(page.size(), 7u);
      for (const auto& r : page) {
        EXPECT_EQ(r.shard, shard);
        EXPECT_EQ(r.shard, ShardOf(r.key));
        EXPECT_GT(r.key, prev);
        prev = r.key;
        EXPECT_EQ(r.key.rfind("user", 0), 0u) << r.key;  // never another list's members
        EXPECT_TRUE(seen.insert(r.key).second);
      }
      after = page.back().key;
    }
  }
  EXPECT_EQ(seen.size(), 2000u);
  std::vector<Recipient> page;
  EXPECT_FALSE(rs.ScanListShard("a", kVirtualShards, "", 10, &page).ok());
}

TEST_F(RecipientStoreTest, AddressHashIndexResolvesNewRecipients) {
  RecipientStore rs(store_.get());
  ASSERT_TRUE(rs.Upsert("l", {Make("Ann@Example.com"), Make("bob@example.com")}).ok());
  ASSERT_TRUE(rs.Upsert("other", {Make("ann@example.com")}).ok());  // existing: no second entry
  auto keys = rs.KeysWithHash(AddressHash("ann@example.com"));
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, std::vector<std::string>{"ann@example.com"});
  keys = rs.KeysWithHash(AddressHash("bob@example.com"));
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, std::vector<std::string>{"bob@example.com"});
  keys = rs.KeysWithHash(AddressHash("nobody@example.com"));
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST_F(RecipientStoreTest, OlderStoresGetTheIndexBuiltOnOpen) {
  RecipientStore rs(store_.get());
  std::vector<Recipient> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(Make(absl::StrCat("u", i, "@example.com")));
  ASSERT_TRUE(rs.Upsert("l", batch).ok());
  // Make it look like a store from before the index: drop the index and its schema marker.
  auto* db = DbOf(store_.get());
  ASSERT_TRUE(db->DropColumnFamily(CfOf(store_.get(), Cf::kAddrHash)).ok());
  ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), CfOf(store_.get(), Cf::kMeta),
                         std::string("schema", 6) + '\0' + "addr_hash")
                  .ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  RecipientStore again(store_.get());
  for (int i = 0; i < 1000; i += 97) {
    std::string key = absl::StrCat("u", i, "@example.com");
    auto keys = again.KeysWithHash(AddressHash(key));
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(*keys, std::vector<std::string>{key});
  }
}

// Schema 2 keeps a shard's recipients together (recipients key: shard, address key); a store of
// schema 1 (keyed by address key) is migrated on open, and reads as before.
TEST_F(RecipientStoreTest, Schema1StoreIsMigratedOnOpen) {
  RecipientStore rs(store_.get());
  std::vector<Recipient> batch;
  std::map<std::string, uint32_t> shard_of;
  for (int i = 0; i < 3000; ++i) {
    batch.push_back(Make(absl::StrCat("m", i, "@example.com"), {{"n", absl::StrCat(i)}}));
    shard_of[batch.back().key] = batch.back().shard;
  }
  ASSERT_TRUE(rs.Upsert("a", batch).ok());
  batch.resize(1000);  // the first thousand are also on list b
  ASSERT_TRUE(rs.Upsert("b", batch).ok());
  // Written in key order by shard: the first byte of every key is its shard, ascending.
  {
    std::unique_ptr<rocksdb::Iterator> it(DbOf(store_.get())->NewIterator(
        rocksdb::ReadOptions(), CfOf(store_.get(), Cf::kRecipients)));
    int prev = -1, n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++n) {
      const int shard = static_cast<uint8_t>(it->key()[0]);
      EXPECT_GE(shard, prev);
      prev = shard;
    }
    EXPECT_EQ(n, 3000);
  }
  ASSERT_NO_FATAL_FAILURE(test::RewriteAsSchema1(store_.get()));
  for (int round = 0; round < 2; ++round) {  // the second open finds nothing left to migrate
    ASSERT_NO_FATAL_FAILURE(Reopen());
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.File("data"), &names).ok());
    EXPECT_EQ(std::count(names.begin(), names.end(), "recipients"), 0);
    RecipientStore again(store_.get());
    for (const char* list : {"a", "b"}) {
      std::set<std::string> seen;
      for (uint32_t shard = 0; shard < kVirtualShards; ++shard) {
        std::string after;
        while (true) {
          std::vector<Recipient> page;
          ASSERT_TRUE(again.ScanListShard(list, shard, after, 100, &page).ok());
          for (const auto& r : page) {
            EXPECT_EQ(r.shard, shard);
            EXPECT_EQ(shard_of.at(r.key), shard);
            EXPECT_TRUE(seen.insert(r.key).second) << r.key;
            ASSERT_FALSE(r.fields.empty());
          }
          if (page.size() < 100) break;
          after = page.back().key;
        }
      }
      EXPECT_EQ(seen.size(), std::string(list) == "a" ? 3000u : 1000u);
    }
    auto r = again.Get("m1234@example.com");
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ((*r)->Field("n") ? *(*r)->Field("n") : "", "1234");
    // Re-upserting the same rows after the migration changes nothing.
    auto counts = again.Upsert("b", batch);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->unchanged, 1000u);
  }
}

TEST(ShardBalance, MillionAddressesSpreadEvenly) {
  // Pure hashing: 1 M generated addresses -> each in exactly one shard (ShardOf is a function of
  // the key, in [0, 64)), and every shard within +-5% of the mean.
  std::vector<uint64_t> sizes(kVirtualShards, 0);
  const uint64_t n = 1000000;
  std::string addr;
  for (uint64_t i = 0; i < n; ++i) {
    addr.clear();
    absl::StrAppend(&addr, "user", i, "@", (i % 7 == 0 ? "example.test" : "mail.example.org"));
    uint32_t s = ShardOf(addr);
    ASSERT_LT(s, kVirtualShards);
    ++sizes[s];
  }
  uint64_t total = 0;
  for (uint64_t s : sizes) total += s;
  EXPECT_EQ(total, n);
  const double mean = static_cast<double>(n) / kVirtualShards;
  for (uint32_t s = 0; s < kVirtualShards; ++s) {
    EXPECT_NEAR(static_cast<double>(sizes[s]), mean, mean * 0.05) << "shard " << s;
  }
}

}  // namespace
}  // namespace salvo
