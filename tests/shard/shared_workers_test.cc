// The process-wide SMTP workers and interned accounts (shard/shared_workers.h).
#include "shard/shared_workers.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

TEST(SharedWorkers, OneGroupWhileHeldAndANewOneAfter) {
  SenderOptions so;
  so.workers = 2;
  auto a = AcquireSharedWorkers(so);
  ASSERT_TRUE(a.ok()) << a.status();
  so.workers = 1;  // a later acquirer shares the running group as it is
  auto b = AcquireSharedWorkers(so);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*b)->size(), 2u);
  a->reset();
  b->reset();  // the last holder stops it
  auto c = AcquireSharedWorkers(so);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->size(), 1u);
}

TEST(SharedWorkers, EqualAccountsShareOnePointerThatOutlivesTheirConfig) {
  const AccountConfig* first;
  {
    AccountConfig a;
    a.name = "sg-bulk";
    a.host = "smtp.example.test";
    first = InternAccount(a);
    AccountConfig same = a;
    EXPECT_EQ(InternAccount(same), first);
    AccountConfig other = a;
    other.max_connections = 3;
    EXPECT_NE(InternAccount(other), first);
  }
  EXPECT_EQ(first->name, "sg-bulk");  // still alive after the configs are gone
  EXPECT_EQ(first->host, "smtp.example.test");
}

}  // namespace
}  // namespace salvo
