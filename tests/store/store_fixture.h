// A gtest fixture with a fresh Store opened in a temporary data_dir (removed after the test).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "rocksdb/db.h"
#include "store/store.h"
#include "store/store_internals.h"
#include "tests/testlib/testlib.h"

namespace salvo {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  // Closes the store (as a process that ends or dies would) and opens its data_dir again; wrap
  // in ASSERT_NO_FATAL_FAILURE where the test cannot go on without it.
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.data_dir = dir_.File("data");
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  // How many keys of column family `cf` start with `prefix`.
  int CountKeys(Cf cf, std::string_view prefix) {
    int n = 0;
    std::unique_ptr<rocksdb::Iterator> it(
        DbOf(store_.get())->NewIterator(rocksdb::ReadOptions(), CfOf(store_.get(), cf)));
    const rocksdb::Slice p(prefix.data(), prefix.size());
    for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) ++n;
    return n;
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace salvo
