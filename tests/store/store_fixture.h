// A gtest fixture with a fresh Store opened in a temporary data_dir (removed after the test).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "store/store.h"
#include "tests/testlib/testlib.h"

namespace salvo {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
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
