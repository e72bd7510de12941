// MetricsFileWriter: periodic rewrites by atomic rename (a reader never sees a partial file), a
// last write at Stop, no temp files left, clear errors for bad paths.
#include "tools/salvo/metrics_file.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "engine/metrics/salvo_metrics.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

TEST(MetricsFileTest, RewritesPeriodicallyAndAtStop) {
  test::TempDir dir;
  const std::string path = dir.File("salvo.prom");
  std::atomic<int> n{0};
  // A big body with a trailer: a partial file would miss the trailer.
  auto render = [&] {
    const int v = n.fetch_add(1);
    return std::string(200000, '#') + "\nvalue " + std::to_string(v) + "\nend\n";
  };
  auto w = MetricsFileWriter::Start(path, absl::Milliseconds(10), render);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(test::ReadFile(path).substr(200000), "\nvalue 0\nend\n");  // written at Start
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop) {
      const std::string s = test::ReadFile(path);
      ASSERT_GE(s.size(), 5u);
      ASSERT_EQ(s.substr(s.size() - 5), "\nend\n");
      ++reads;
    }
  });
  for (int i = 0; i < 500 && (*w)->writes() < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  reader.join();
  EXPECT_GE((*w)->writes(), 6u);
  EXPECT_GT(reads.load(), 0);
  ASSERT_TRUE((*w)->Stop().ok());
  const int last = n.load() - 1;
  EXPECT_EQ(test::ReadFile(path).substr(200000),
            "\nvalue " + std::to_string(last) + "\nend\n");  // the final write at Stop
  EXPECT_TRUE((*w)->Stop().ok());  // idempotent, no further write
  EXPECT_EQ(n.load(), last + 1);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u) << "temp files left behind";
}

TEST(MetricsFileTest, DefaultRenderIsTheProcessRegistry) {
  test::TempDir dir;
  metrics::Metrics().opens->WithLabels({"file-test"}).Inc();
  {
    auto w = MetricsFileWriter::Start(dir.File("m.prom"));
    ASSERT_TRUE(w.ok()) << w.status();
    metrics::Metrics().opens->WithLabels({"file-test"}).Inc();
  }  // destructor: final write
  const std::string text = test::ReadFile(dir.File("m.prom"));
  EXPECT_NE(text.find("salvo_opens_total{campaign=\"file-test\"} 2\n"), std::string::npos) << text;
}

TEST(MetricsFileTest, BadPathFailsAtStartNamingIt) {
  auto w = MetricsFileWriter::Start("/nonexistent-dir-salvo/m.prom");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("/nonexistent-dir-salvo/m.prom"), std::string::npos)
      << w.status();
  EXPECT_FALSE(MetricsFileWriter::Start("").ok());
}

}  // namespace
}  // namespace salvo
