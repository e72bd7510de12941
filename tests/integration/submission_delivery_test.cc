// SMTP submission to delivery, end to end: a message submitted to `salvo serve` over SMTP
// (tests/integration/submission_client.py, AUTH PLAIN) with a key bound to route "r2" is
// delivered by the daemon's queue delivery loop through that route's account to its salvo-sink,
// and nothing goes through the other route's sink. A second key without a route picks "r1" with
// the X-Salvo-Route header.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

RunResult Salvo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", std::chrono::seconds(60));
}

TEST(SubmissionDelivery, SubmittedMailReachesTheSinkOfTheKeysRoute) {
  TempDir dir;
  Sink sink1(dir, "sink1"), sink2(dir, "sink2");
  const int smtp_port = FreePort();
  const std::string routes =
      "[[route]]\nname = \"r1\"\naccounts = [ { name = \"a1\" } ]\n"
      "[[route]]\nname = \"r2\"\naccounts = [ { name = \"a2\" } ]\n";
  const std::string text =
      "workers = 1\n" +
      ConfigText(dir, {{"a1", sink1.port()}, {"a2", sink2.port()}}, routes,
                 absl::StrCat("[http]\nlisten = \"127.0.0.1:PORT\"\n[sending]\nretry_base = \"1s\"\n"
                              "[submission]\nlisten = \"127.0.0.1:",
                              smtp_port, "\"\n"));
  // Keys first, on the store directly.
  std::string pre = text;
  ServeProcess::ReplaceAll(&pre, "PORT", "1");
  const std::string pre_cfg = dir.Write("pre.toml", pre);
  auto key = [&](const std::vector<std::string>& args) {
    std::vector<std::string> a = {"api-key", "create", "-c", pre_cfg};
    a.insert(a.end(), args.begin(), args.end());
    RunResult r = Salvo(a);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir.Write("key." + args[1], r.out.substr(0, r.out.find('\n')));
  };
  const std::string shop = key({"--name", "shop", "--scopes", "submission", "--route", "r2"});
  const std::string news = key({"--name", "news", "--scopes", "submission"});

  ServeProcess serve(dir, text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  ASSERT_TRUE(WaitForPort("127.0.0.1", smtp_port, std::chrono::seconds(10))) << serve.Log();
  auto submit = [&](const std::string& user, const std::string& key_file, const std::string& to,
                    const std::string& message) {
    const std::string msg = dir.Write("msg." + user + ".eml", message);
    RunResult r = RunProcess({"/usr/bin/python3",
                              SourceRoot() + "/tests/integration/submission_client.py", "--port",
                              std::to_string(smtp_port), "--mode", "plain", "--user", user,
                              "--password-file", key_file, "--from", "orders@shop.test", "--to", to,
                              "--file", msg},
                             "", std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  std::string out = submit("shop", shop, "ann@example.test",
                           "From: orders@shop.test\r\nSubject: order\r\n\r\nThanks.\r\n");
  ASSERT_TRUE(Has(out, "OK 2.0.0 Ok: queued as ")) << out << serve.Log();
  out = submit("news", news, "bob@example.test",
               "From: orders@shop.test\r\nX-Salvo-Route: r1\r\nSubject: news\r\n\r\nHello.\r\n");
  ASSERT_TRUE(Has(out, "OK 2.0.0 Ok: queued as ")) << out << serve.Log();

  bool delivered = false;
  for (int i = 0; i < 200 && !delivered; ++i) {
    RunResult r = Salvo({"queue", "list", "-c", serve.config(), "--state", "delivered", "--json"});
    delivered = Has(r.out, "ann@example.test") && Has(r.out, "bob@example.test");
    if (!delivered) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(delivered) << Salvo({"queue", "list", "-c", serve.config()}).out << serve.Log();
  auto got1 = sink1.StopAndRead();
  auto got2 = sink2.StopAndRead();
  EXPECT_EQ(got2.size(), 1u);
  EXPECT_EQ(got2["ann@example.test"].first, 1);
  EXPECT_EQ(got1.size(), 1u);
  EXPECT_EQ(got1["bob@example.test"].first, 1);
}

}  // namespace
}  // namespace salvo::test
