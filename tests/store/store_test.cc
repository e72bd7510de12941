// Tests for store/store.cc: opening, column families, the one-process-per-data_dir lock.
#include "store/store_internals.h"
#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "rocksdb/db.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

// Options for a store at dir/name.
StoreOptions InDir(const test::TempDir& dir, const std::string& name = "data") {
  StoreOptions o;
  o.data_dir = dir.File(name);
  return o;
}

TEST(Store, OpensWithEveryColumnFamilyAndReopens) {
  test::TempDir dir;
  const StoreOptions o = InDir(dir);
  {
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
      ASSERT_NE(CfOf(store->get(), static_cast<Cf>(i)), nullptr);
    }
    EXPECT_EQ(CfOf(store->get(), Cf::kSuppression)->GetName(), "suppression");
    EXPECT_EQ(CfOf(store->get(), Cf::kMembers)->GetName(), "members");
    ASSERT_TRUE(DbOf(store->get())->Put(rocksdb::WriteOptions(), CfOf(store->get(), Cf::kMeta), "k", "v").ok());
    ASSERT_TRUE((*store)->Flush().ok());
    // The lock file names this process.
    std::string holder = test::ReadFile(o.data_dir + "/salvo.lock");
    EXPECT_EQ(holder.substr(0, holder.find(' ')), std::to_string(getpid()));
  }
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  std::string v;
  ASSERT_TRUE(DbOf(store->get())->Get(rocksdb::ReadOptions(), CfOf(store->get(), Cf::kMeta), "k", &v).ok());
  EXPECT_EQ(v, "v");
}

// [store]'s memory settings reach RocksDB: the memtables are charged to the one block cache and
// flushed when together they pass `memtables`.
TEST(Store, MemoryOptionsCapMemtablesInTheBlockCache) {
  test::TempDir dir;
  StoreOptions o = InDir(dir);
  o.block_cache = 16 << 20;
  o.memtables = 4 << 20;
  o.write_buffer_size = 2 << 20;
  o.max_write_buffers = 2;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  rocksdb::DB* db = DbOf(store->get());
  rocksdb::ColumnFamilyHandle* cf = CfOf(store->get(), Cf::kRecipients);
  EXPECT_EQ(db->GetOptions(cf).write_buffer_size, 2u << 20);
  EXPECT_EQ(db->GetOptions(cf).max_write_buffer_number, 2);
  EXPECT_EQ(db->GetOptions(CfOf(store->get(), Cf::kProgress)).write_buffer_size, 512u << 10);
  const std::string value(1000, 'x');
  for (int i = 0; i < 20000; ++i)  // ~20 MB: several times the memtable budget
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, "k" + std::to_string(i), value).ok());
  uint64_t mem = 0;
  ASSERT_TRUE(db->GetIntProperty(cf, rocksdb::DB::Properties::kSizeAllMemTables, &mem));
  EXPECT_LE(mem, 3u * o.write_buffer_size);  // flushed along the way, not all held
  uint64_t cached = 0;
  ASSERT_TRUE(db->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &cached));
  EXPECT_LE(cached, 2 * o.block_cache);
  std::string v;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, "k12345", &v).ok());
  EXPECT_EQ(v, value);
}

TEST(Store, MissingDirWithoutCreateIsAnError) {
  test::TempDir dir;
  StoreOptions o = InDir(dir, "nope");
  o.create_if_missing = false;
  auto store = Store::Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(std::string(store.status().message()).find("does not exist"), std::string::npos);
}

TEST(Store, SecondOpenNamesTheHolder) {
  test::TempDir dir;
  const StoreOptions o = InDir(dir);
  auto first = Store::Open(o);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Store::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  std::string msg(second.status().message());
  EXPECT_NE(msg.find("data_dir " + o.data_dir + " is in use by pid " + std::to_string(getpid()) +
                     " ("),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("store_test"), std::string::npos) << msg;  // our command line
  EXPECT_EQ(msg.find("LOCK"), std::string::npos) << msg;         // never RocksDB's message

  // Another process gets the same clear error while we hold it...
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = Store::Open(o);
    bool ok = !s.ok() && std::string(s.status().message()).find(
                             "in use by pid " + std::to_string(getppid())) != std::string::npos;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // ... and the data_dir is free again once the holder closes it.
  first->reset();
  auto third = Store::Open(o);
  EXPECT_TRUE(third.ok()) << third.status();
}

}  // namespace
}  // namespace salvo
