// store/account_store.h: account pauses round-trip, survive a reopen, and expire by their time.
#include "store/account_store.h"

#include <gtest/gtest.h>

#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(AccountStore, RoundTripAcrossReopen) {
  test::TempDir dir;
  AccountRecord r;
  r.paused = true;
  r.reason = "account_quota";
  r.reply = "550 5.4.5 Daily user sending limit exceeded";
  r.changed_at = 1796000000;
  r.until = 1796083200;
  {
    auto store = Store::Open({dir.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    AccountStore as(store->get());
    auto none = as.Get("sg-bulk");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(as.Put("sg-bulk", r).ok());
  }
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  auto got = AccountStore(store->get()).Get("sg-bulk");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_TRUE((*got)->paused);
  EXPECT_EQ((*got)->reason, "account_quota");
  EXPECT_EQ((*got)->reply, r.reply);
  EXPECT_EQ((*got)->changed_at, r.changed_at);
  EXPECT_EQ((*got)->until, r.until);
  EXPECT_TRUE((*got)->PausedAt(r.until - 1));
  EXPECT_FALSE((*got)->PausedAt(r.until));  // the pause ended by itself
  AccountRecord manual = r;
  manual.until = 0;
  EXPECT_TRUE(manual.PausedAt(r.until + 86400 * 365));  // until resumed by hand
}

TEST(AccountStore, DamagedRecordIsDataLossNamingTheAccount) {
  AccountRecord r;
  EXPECT_TRUE(DecodeAccountRecord("acct", std::string("\x01\x01\x05", 3), &r).code() ==
              absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeAccountRecord("acct", "", &r).ok());
  std::string v;
  AccountRecord ok;
  ok.reason = "manual";
  EncodeAccountRecord(ok, &v);
  EXPECT_TRUE(DecodeAccountRecord("acct", v, &r).ok());
  EXPECT_FALSE(DecodeAccountRecord("acct", v + "x", &r).ok());
}

}  // namespace
}  // namespace salvo
