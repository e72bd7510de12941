// store/webhook_nonce_store.h: a token passes once until its claim expires, per scope; Release
// reopens it; every 256th claim sweeps the expired claims and their index entries.
#include "store/webhook_nonce_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "store/store_internals.h"
#include "tests/store/store_fixture.h"

namespace salvo {
namespace {

class WebhookNonceStoreTest : public StoreFixture {
 protected:
  // Keys of the nonce store in the meta family (claims and expiry index).
  int NonceKeys() { return CountKeys(Cf::kMeta, "whnonce"); }
};

TEST_F(WebhookNonceStoreTest, OncePerScopeUntilExpiry) {
  WebhookNonceStore s(store_.get());
  auto claim = [&](std::string_view scope, std::string_view token, int64_t now, int64_t exp) {
    auto r = s.Claim(scope, token, now, exp);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && *r;
  };
  EXPECT_TRUE(claim("mailgun/", "t1", 1000, 1900));
  EXPECT_FALSE(claim("mailgun/", "t1", 1001, 1901)) << "replay";
  EXPECT_TRUE(claim("mailgun/bulk", "t1", 1001, 1901)) << "another account's URL";
  EXPECT_TRUE(claim("mailgun/", "t1", 1901, 2800)) << "the old claim expired";
  ASSERT_TRUE(s.Release("mailgun/", "t1").ok());
  EXPECT_TRUE(claim("mailgun/", "t1", 1902, 2800)) << "released";
}

TEST_F(WebhookNonceStoreTest, ExpiredClaimsAreSwept) {
  WebhookNonceStore s(store_.get());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(*s.Claim("mailgun/", absl::StrCat("old", i), 0, 10));
  EXPECT_EQ(NonceKeys(), 200);  // claim + index entry each
  // 156 more at a later time: the 256th claim sweeps the 100 expired ones.
  for (int i = 0; i < 156; ++i) ASSERT_TRUE(*s.Claim("mailgun/", absl::StrCat("new", i), 20, 900));
  EXPECT_EQ(NonceKeys(), 2 * 156);
  EXPECT_FALSE(*s.Claim("mailgun/", "new0", 21, 900)) << "live claims stay";
}

}  // namespace
}  // namespace salvo
