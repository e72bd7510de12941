// A gtest fixture with a fresh Store opened in a temporary data_dir (removed after the test).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "store/store.h"
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
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace salvo
