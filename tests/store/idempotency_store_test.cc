// store/idempotency_store.h: a reply is returned within the window and absent after it; Sweep
// deletes exactly the entries a window old (and ones it cannot read), leaving the others.
#include "store/idempotency_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "store/store_internals.h"
#include "tests/store/store_fixture.h"

namespace salvo {
namespace {

constexpr int64_t kHourUs = int64_t{3600} * 1000 * 1000;

class IdempotencyStoreTest : public StoreFixture {
 protected:
  int IdemKeys() { return CountKeys(Cf::kMeta, std::string_view("idem\0", 5)); }
};

TEST_F(IdempotencyStoreTest, WindowAndSweep) {
  IdempotencyStore s(store_.get());
  const int64_t t0 = 1'000 * kHourUs;
  for (int i = 0; i < 2500; ++i)  // more than one delete batch
    ASSERT_TRUE(s.Put("shop", absl::StrCat("old-", i), t0, {202, "{}"}).ok());
  ASSERT_TRUE(s.Put("shop", "new", t0 + 20 * kHourUs, {202, "{\"n\":1}"}).ok());
  // Something under the prefix this version did not write: unreadable, so swept as stale.
  ASSERT_TRUE(DbOf(store_.get())
                  ->Put(rocksdb::WriteOptions(), CfOf(store_.get(), Cf::kMeta),
                        std::string("idem\0shop\0junk", 14), std::string("\x09", 1))
                  .ok());
  // A neighbour key of the meta family that must survive.
  ASSERT_TRUE(DbOf(store_.get())
                  ->Put(rocksdb::WriteOptions(), CfOf(store_.get(), Cf::kMeta), "idemz", "keep")
                  .ok());
  ASSERT_EQ(IdemKeys(), 2502);

  auto within = s.Get("shop", "old-7", t0 + 23 * kHourUs);
  ASSERT_TRUE(within.ok());
  ASSERT_TRUE(within->has_value());
  EXPECT_EQ((*within)->status, 202);

  auto none = s.Sweep(t0 + 23 * kHourUs);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 1u) << "only the unreadable record";

  auto swept = s.Sweep(t0 + 24 * kHourUs);
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 2500u);
  EXPECT_EQ(IdemKeys(), 1);
  auto kept = s.Get("shop", "new", t0 + 24 * kHourUs);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->body, "{\"n\":1}");
  std::string v;
  EXPECT_TRUE(DbOf(store_.get())
                  ->Get(rocksdb::ReadOptions(), CfOf(store_.get(), Cf::kMeta), "idemz", &v)
                  .ok());
}

}  // namespace
}  // namespace salvo
