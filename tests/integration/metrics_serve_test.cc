// `salvo serve` exports metrics: GET /metrics on its [http] listener answers with the 0.0.4
// content type and text that passes `promtool check metrics`; `--metrics-file F` is written at
// start, rewritten while it runs, and left complete (no temp file) after SIGTERM.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/integration/feedback_http.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

RunResult Promtool(const std::string& text) {
  return RunProcess({"/usr/bin/promtool", "check", "metrics"}, text, std::chrono::seconds(60));
}

TEST(MetricsServe, MetricsEndpointAndFile) {
  TempDir dir;
  dir.Write("tracking.key", "0123456789abcdef0123456789abcdef");
  const int port = FreePort();
  const std::string cfg = dir.Write(
      "salvo.toml", absl::StrCat("data_dir = \"", dir.File("data"), "\"\n[http]\nlisten = \"127.0.0.1:",
                                 port, "\"\nthreads = 2\n[tracking]\nbase_url = \"http://127.0.0.1:",
                                 port, "\"\nsecret_file = \"", dir.File("tracking.key"), "\"\n"));
  const std::string mfile = dir.File("salvo.prom");
  Subprocess serve({SalvoBin(), "serve", "-c", cfg, "--metrics-file", mfile}, {},
                   dir.File("serve.log"));
  ASSERT_TRUE(WaitForPort("127.0.0.1", port, std::chrono::seconds(15))) << serve.Log();

  const HttpReply r = HttpDo(port, "GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("content-type").rfind("text/plain; version=0.0.4", 0), 0u)
      << r.headers.at("content-type");
  EXPECT_NE(r.body.find("# TYPE salvo_messages_total counter\n"), std::string::npos);
  EXPECT_NE(r.body.find("salvo_build_info{version=\""), std::string::npos);
  const RunResult check = Promtool(r.body);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << r.body.substr(0, 2000);
  EXPECT_NE(r.body.find("\nsalvo_suppression_list_size 0\n"), std::string::npos);

  // The suppression gauge follows changes made while the daemon runs (here through the CLI,
  // forwarded over the admin socket), not only the size at start.
  const RunResult add = RunProcess({SalvoBin(), "suppress", "add", "-c", cfg, "a@example.com",
                                    "b@example.com", "@example.org", "--reason", "manual"});
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  const HttpReply after = HttpDo(port, "GET", "/metrics");
  EXPECT_NE(after.body.find("\nsalvo_suppression_list_size 3\n"), std::string::npos)
      << after.body.substr(0, 3000);

  // The file exists from the start and passes the same check.
  const std::string first = ReadFile(mfile);
  EXPECT_NE(first.find("# TYPE salvo_messages_total counter\n"), std::string::npos);
  EXPECT_EQ(Promtool(first).exit_code, 0);
  // Rewritten every 5 s while serving.
  const auto t0 = std::filesystem::last_write_time(mfile);
  for (int i = 0; i < 80 && std::filesystem::last_write_time(mfile) == t0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(std::filesystem::last_write_time(mfile), t0) << "not rewritten within 8 s";

  ASSERT_EQ(serve.Stop(SIGTERM, std::chrono::seconds(20)), 0) << serve.Log();
  const std::string last = ReadFile(mfile);
  EXPECT_EQ(Promtool(last).exit_code, 0);
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace salvo::test
