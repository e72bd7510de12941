// Tests for store/suppression_store.cc: global (list-independent) entries, domain-wide entries,
// reasons and sources, first/last seen, batched checks.
#include "store/store_internals.h"
#include "store/suppression_store.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "rocksdb/db.h"
#include "tests/store/store_fixture.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

class SuppressionStoreTest : public StoreFixture {
 protected:
};

TEST_F(SuppressionStoreTest, AddCheckRemove) {
  SuppressionStore ss(store_.get());
  std::string key = NormalizeAddress("Bob@Example.com")->key;
  ASSERT_TRUE(ss.Add({key, SuppressionReason::kHardBounce, "dsn", 100, 100, "550 5.1.1 no such user"}).ok());
  auto e = ss.Check(key);
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->key, "bob@example.com");
  EXPECT_EQ((*e)->reason, SuppressionReason::kHardBounce);
  EXPECT_EQ((*e)->source, "dsn");
  EXPECT_EQ((*e)->detail, "550 5.1.1 no such user");
  EXPECT_FALSE(ss.Check("alice@example.com")->has_value());

  // Refresh: first_seen kept, last_seen / reason / source updated.
  ASSERT_TRUE(ss.Add({key, SuppressionReason::kComplaint, "mailgun", 500, 500, "event abc"}).ok());
  e = ss.Check(key);
  EXPECT_EQ((*e)->first_seen, 100);
  EXPECT_EQ((*e)->last_seen, 500);
  EXPECT_EQ((*e)->reason, SuppressionReason::kComplaint);
  EXPECT_EQ((*e)->source, "mailgun");
  // An older event does not move last_seen back, nor first_seen forward.
  ASSERT_TRUE(ss.Add({key, SuppressionReason::kComplaint, "arf", 300, 300, ""}).ok());
  e = ss.Check(key);
  EXPECT_EQ((*e)->first_seen, 100);
  EXPECT_EQ((*e)->last_seen, 500);
  EXPECT_EQ(*ss.Count(), 1u);

  EXPECT_TRUE(*ss.Remove(key));
  EXPECT_FALSE(*ss.Remove(key));
  EXPECT_FALSE(ss.Check(key)->has_value());
}

TEST_F(SuppressionStoreTest, ZeroTimesMeanNowAndDetailIsSanitized) {
  SuppressionStore ss(store_.get());
  int64_t before = time(nullptr);
  ASSERT_TRUE(ss.Add({"x@example.com", SuppressionReason::kManual, "cli", 0, 0,
                      std::string("line1\r\nInjected: yes") + std::string(2000, 'z')})
                  .ok());
  auto e = ss.Check("x@example.com");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_GE((*e)->first_seen, before);
  EXPECT_EQ((*e)->first_seen, (*e)->last_seen);
  EXPECT_EQ((*e)->detail.find('\n'), std::string::npos);
  EXPECT_LE((*e)->detail.size(), 520u);
  EXPECT_FALSE(ss.Add({"Upper@example.com", SuppressionReason::kManual, "cli"}).ok());
  EXPECT_FALSE(ss.Add({"", SuppressionReason::kManual, "cli"}).ok());
}

TEST_F(SuppressionStoreTest, DomainWideEntries) {
  SuppressionStore ss(store_.get());
  std::string dom = *NormalizeDomainKey("Bücher.de");
  ASSERT_TRUE(ss.Add({dom, SuppressionReason::kManual, "cli"}).ok());
  auto e = ss.Check(NormalizeAddress("Anyone@BÜCHER.de")->key);
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->key, "@xn--bcher-kva.de");
  EXPECT_FALSE(ss.Check("anyone@sub.xn--bcher-kva.de")->has_value());  // exact domain only
  EXPECT_TRUE(ss.Check("@xn--bcher-kva.de")->has_value());
  // An address entry wins over the domain entry when both exist.
  ASSERT_TRUE(ss.Add({"ann@xn--bcher-kva.de", SuppressionReason::kUnsubscribe, "one-click"}).ok());
  EXPECT_EQ((*ss.Check("ann@xn--bcher-kva.de"))->reason, SuppressionReason::kUnsubscribe);
}

TEST_F(SuppressionStoreTest, CheckBatchAndGlobalAcrossReopen) {
  {
    SuppressionStore ss(store_.get());
    for (int i = 0; i < 3000; i += 3) {
      ASSERT_TRUE(ss.Add({absl::StrCat("u", i, "@example.com"), SuppressionReason::kHardBounce, "smtp"}).ok());
    }
    ASSERT_TRUE(ss.Add({"@blocked.example", SuppressionReason::kManual, "cli"}).ok());
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  SuppressionStore ss(store_.get());
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back(absl::StrCat("u", i, "@example.com"));
  keys.push_back("who@blocked.example");
  keys.push_back("@blocked.example");
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<bool> out;
  ASSERT_TRUE(ss.CheckBatch(views, &out).ok());
  ASSERT_EQ(out.size(), keys.size());
  for (int i = 0; i < 3000; ++i) EXPECT_EQ(out[i], i % 3 == 0) << i;
  EXPECT_TRUE(out[3000]);
  EXPECT_TRUE(out[3001]);
  EXPECT_EQ(*ss.Count(), 1001u);
  uint64_t n = 0;
  ASSERT_TRUE(ss.ForEach([&](const SuppressionEntry& e) {
                  EXPECT_FALSE(e.key.empty());
                  return ++n < 10;
                }).ok());
  EXPECT_EQ(n, 10u);
}

TEST_F(SuppressionStoreTest, CountIsKeptExactlyThroughEveryChange) {
  SuppressionStore ss(store_.get());
  auto walk = [&] {
    uint64_t n = 0;
    EXPECT_TRUE(ss.ForEach([&](const SuppressionEntry&) { return ++n, true; }).ok());
    return n;
  };
  ASSERT_TRUE(ss.Add({"a@example.com", SuppressionReason::kManual, "cli"}).ok());
  ASSERT_TRUE(ss.Add({"b@example.com", SuppressionReason::kManual, "cli"}).ok());
  // An older store: no count kept yet. The first Count() walks and keeps it from then on.
  ASSERT_TRUE(DbOf(store_.get())
                  ->Delete(rocksdb::WriteOptions(), CfOf(store_.get(), Cf::kMeta),
                           std::string("count", 5) + '\0' + "suppression")
                  .ok());
  EXPECT_EQ(*ss.Count(), 2u);
  ASSERT_TRUE(ss.Add({"a@example.com", SuppressionReason::kHardBounce, "dsn"}).ok());  // refresh
  ASSERT_TRUE(ss.AddBatch({{"c@example.com", SuppressionReason::kManual, "cli"},
                           {"c@example.com", SuppressionReason::kComplaint, "arf"},
                           {"b@example.com", SuppressionReason::kManual, "cli"},
                           {"@example.org", SuppressionReason::kManual, "cli"}})
                  .ok());
  EXPECT_EQ(*ss.Count(), 4u);
  EXPECT_TRUE(*ss.Remove("a@example.com"));
  EXPECT_FALSE(*ss.Remove("a@example.com"));
  EXPECT_FALSE(*ss.Remove("nobody@example.com"));
  EXPECT_EQ(*ss.Count(), 3u);
  EXPECT_EQ(walk(), 3u);
  // Kept across reopen.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  SuppressionStore again(store_.get());
  EXPECT_EQ(*again.Count(), 3u);
}

}  // namespace
}  // namespace salvo
