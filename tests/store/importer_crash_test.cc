// A store killed with SIGKILL in the middle of an import reopens with every batch the importer
// had acknowledged intact (WAL on). The import runs in a child process (import_crash_child).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "store/importer.h"
#include "store/recipient_store.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(ImporterCrash, AcknowledgedBatchesSurviveSigkill) {
  test::TempDir dir;
  std::string csv = "email,n\n";
  const int kRows = 100000;  // 200 batches of 500: the child is far from done when killed
  for (int i = 0; i < kRows; ++i) absl::StrAppend(&csv, "u", i, "@example.com,", i, "\n");
  std::string file = dir.Write("big.csv", csv);
  std::string data_dir = dir.File("data");

  test::Subprocess child({IMPORT_CRASH_CHILD, data_dir, file}, {}, dir.File("child.log"));
  uint64_t acked = 0;
  int acks = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (acks < 6 && std::chrono::steady_clock::now() < deadline) {
    std::istringstream log(child.Log());
    std::string word;
    uint64_t line = 0;
    acks = 0;
    while (log >> word) {
      if (word == "acked" && log >> line) {
        ++acks;
        acked = std::max(acked, line);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(acks, 6) << child.Log();
  child.Stop(SIGKILL);
  // Lines acknowledged after our last read are also durable; re-read the final log.
  {
    std::istringstream log(child.Log());
    std::string word;
    uint64_t line = 0;
    while (log >> word) {
      if (word == "acked" && log >> line) acked = std::max(acked, line);
      ASSERT_NE(word, "done") << "the import finished before it was killed";
    }
  }
  ASSERT_LT(acked, static_cast<uint64_t>(kRows + 1));

  StoreOptions o;
  o.data_dir = data_dir;
  auto store = Store::Open(o);  // the dead child's lock is gone
  ASSERT_TRUE(store.ok()) << store.status();
  RecipientStore rs(store->get());
  // Data row i is on line i + 2.
  uint64_t present = 0;
  for (uint64_t line = 2; line <= acked; ++line) {
    auto r = rs.Get(absl::StrCat("u", line - 2, "@example.com"));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->has_value()) << "acknowledged row on line " << line << " lost";
    EXPECT_EQ(*(*r)->Field("n"), std::to_string(line - 2));
    ++present;
  }
  EXPECT_EQ(present, acked - 1);
  auto size = rs.ListSize("crash");
  ASSERT_TRUE(size.ok());
  EXPECT_GE(*size, acked - 1);  // batches are atomic: the count matches whole batches
  EXPECT_EQ(*size % 500, 0u);
}

// The same with every batch written as ingested SST files; then the interrupted import run again
// to the end leaves every row once, the list count exact, and no leftover files.
TEST(ImporterCrash, IngestedBatchesSurviveSigkillAndARerunCompletes) {
  test::TempDir dir;
  std::string csv = "email,n\n";
  const int kRows = 100000;
  for (int i = 0; i < kRows; ++i) absl::StrAppend(&csv, "u", i, "@example.com,", i, "\n");
  std::string file = dir.Write("big.csv", csv);
  std::string data_dir = dir.File("data");

  test::Subprocess child({IMPORT_CRASH_CHILD, data_dir, file, "1"}, {}, dir.File("child.log"));
  auto acked_lines = [&](int* acks) {
    std::istringstream log(child.Log());
    std::string word;
    uint64_t line = 0, acked = 0;
    *acks = 0;
    while (log >> word) {
      if (word == "acked" && log >> line) {
        ++*acks;
        acked = std::max(acked, line);
      }
      EXPECT_NE(word, "done") << "the import finished before it was killed";
    }
    return acked;
  };
  int acks = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (acks < 6 && std::chrono::steady_clock::now() < deadline) {
    acked_lines(&acks);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(acks, 6) << child.Log();
  child.Stop(SIGKILL);
  uint64_t acked = acked_lines(&acks);
  ASSERT_LT(acked, static_cast<uint64_t>(kRows + 1));

  StoreOptions o;
  o.data_dir = data_dir;
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  RecipientStore rs(store->get());
  for (uint64_t line = 2; line <= acked; ++line) {
    auto r = rs.Get(absl::StrCat("u", line - 2, "@example.com"));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->has_value()) << "acknowledged row on line " << line << " lost";
  }
  auto size = rs.ListSize("crash");
  ASSERT_TRUE(size.ok());
  EXPECT_GE(*size, acked - 1);
  EXPECT_EQ(*size % 500, 0u);  // batches are atomic: the count matches whole batches

  ImportOptions io;
  io.list = "crash";
  io.batch_rows = 500;
  io.ingest_min_rows = 1;
  auto sum = Importer(store->get()).ImportFile(file, io);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->imported + sum->updated + sum->unchanged, static_cast<uint64_t>(kRows));
  EXPECT_EQ(sum->unchanged, *size);
  EXPECT_EQ(*rs.ListSize("crash"), static_cast<uint64_t>(kRows));
  for (int i = 0; i < kRows; i += 997) {
    auto r = rs.Get(absl::StrCat("u", i, "@example.com"));
    ASSERT_TRUE(r.ok() && r->has_value()) << i;
    EXPECT_EQ(*(*r)->Field("n"), std::to_string(i));
  }
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat(data_dir, "/", kImportTmpDir)) &&
               !std::filesystem::is_empty(absl::StrCat(data_dir, "/", kImportTmpDir)));
}

}  // namespace
}  // namespace salvo
