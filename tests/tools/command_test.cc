// tools/salvo/command.h: StoreOptionsFor carries salvo.toml's [store] into the store's options,
// and both sides default alike.
#include "tools/salvo/command.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

TEST(StoreOptionsFor, DefaultsMatchTheStoresOwn) {
  auto c = ParseConfig("data_dir = \"/tmp/x\"\n", "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const StoreOptions o = StoreOptionsFor(*c);
  const StoreOptions d;
  EXPECT_EQ(o.data_dir, "/tmp/x");
  EXPECT_EQ(o.block_cache, d.block_cache);
  EXPECT_EQ(o.memtables, d.memtables);
  EXPECT_EQ(o.write_buffer_size, d.write_buffer_size);
  EXPECT_EQ(o.max_write_buffers, d.max_write_buffers);
}

TEST(StoreOptionsFor, CarriesTheStoreSection) {
  auto c = ParseConfig(
      "data_dir = \"/tmp/x\"\n[store]\nblock_cache = \"48MB\"\nmemtables = \"24MB\"\n"
      "write_buffer_size = \"8MB\"\nmax_write_buffers = 2\n",
      "s.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const StoreOptions o = StoreOptionsFor(*c);
  EXPECT_EQ(o.block_cache, 48u << 20);
  EXPECT_EQ(o.memtables, 24u << 20);
  EXPECT_EQ(o.write_buffer_size, 8u << 20);
  EXPECT_EQ(o.max_write_buffers, 2u);
}

}  // namespace
}  // namespace salvo
