// store/rocks_status.h: RocksDB codes map to absl codes a caller can act on.
#include "store/rocks_status.h"

#include <gtest/gtest.h>

namespace salvo {
namespace {

TEST(FromRocks, MapsCodes) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "x").ok());
  EXPECT_TRUE(absl::IsNotFound(FromRocks(rocksdb::Status::NotFound(), "x")));
  EXPECT_TRUE(absl::IsDataLoss(FromRocks(rocksdb::Status::Corruption("bad block"), "x")));
  EXPECT_TRUE(absl::IsUnavailable(FromRocks(rocksdb::Status::Busy(), "x")));
  EXPECT_TRUE(absl::IsUnavailable(FromRocks(rocksdb::Status::TryAgain(), "x")));
  EXPECT_TRUE(absl::IsUnavailable(FromRocks(rocksdb::Status::TimedOut(), "x")));
  EXPECT_TRUE(absl::IsUnavailable(FromRocks(rocksdb::Status::IOError("/data/000012.log"), "x")));
  EXPECT_TRUE(absl::IsResourceExhausted(FromRocks(rocksdb::Status::NoSpace(), "x")));
  EXPECT_TRUE(absl::IsInvalidArgument(FromRocks(rocksdb::Status::InvalidArgument(), "x")));
  EXPECT_TRUE(absl::IsUnimplemented(FromRocks(rocksdb::Status::NotSupported(), "x")));
}

TEST(FromRocks, MessageNamesWhatAndKeepsRocksDbsText) {
  absl::Status s = FromRocks(rocksdb::Status::IOError("While open a file", "/data/000012.log"),
                             "writing progress");
  EXPECT_EQ(std::string(s.message()),
            "writing progress: IO error: While open a file: /data/000012.log");
}

}  // namespace
}  // namespace salvo
