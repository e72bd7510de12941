// tools/salvo/http_server.h on loopback with one listener thread: a blocking request (Options::
// blocking) runs on the pool while its connection is suspended, so the same listener thread
// answers other requests meanwhile; the blocked request then gets its own reply with its body;
// concurrent blocking requests run at once (up to the pool's size); Stop() with a blocking
// request in progress lets it finish and leaves no connection suspended.
#include "tools/salvo/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

using test::HttpBody;
using test::HttpExchange;

// A gate the blocking handler waits at until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void Wait() {
    std::unique_lock<std::mutex> l(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(l, [&] { return open; });
  }
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return waiting >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
};

struct Fixture {
  explicit Fixture(Gate* gate) {
    config.listen = "127.0.0.1:0";
    config.threads = 1;  // one listener thread: a request blocking it would block everything
    HttpServer::Options o;
    o.blocking = [](std::string_view path) { return path.rfind("/slow", 0) == 0; };
    o.blocking_threads = 4;
    auto s = HttpServer::Start(
        config,
        [gate](const HttpRequest& r) {
          if (r.path.rfind("/slow", 0) == 0) gate->Wait();
          return Text(200, std::string(r.path) + " " + std::string(r.body) + " " +
                               std::string(r.header("X-Test")) + " " + std::string(r.client_ip));
        },
        std::move(o));
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) server = *std::move(s);
  }
  HttpConfig config;
  std::unique_ptr<HttpServer> server;
};

TEST(HttpServerTest, BlockingRequestsRunOffTheListenerThread) {
  Gate gate;
  Fixture f(&gate);
  ASSERT_TRUE(f.server);
  const int port = f.server->port();
  auto slow = std::async(std::launch::async, [&] {
    return HttpExchange(port, "POST /slow/1 HTTP/1.0\r\nX-Test: a\r\nContent-Length: 5\r\n\r\nhello");
  });
  auto slow2 = std::async(std::launch::async, [&] {
    return HttpExchange(port, "POST /slow/2 HTTP/1.0\r\nX-Test: b\r\nContent-Length: 3\r\n\r\nbye");
  });
  ASSERT_TRUE(gate.WaitFor(2)) << "both blocking requests run at once";
  // The one listener thread still answers.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(HttpBody(HttpExchange(port, "GET /fast HTTP/1.0\r\nX-Test: c\r\n\r\n")), "/fast  c 127.0.0.1\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  gate.Open();
  EXPECT_EQ(HttpBody(slow.get()), "/slow/1 hello a 127.0.0.1\n");
  EXPECT_EQ(HttpBody(slow2.get()), "/slow/2 bye b 127.0.0.1\n");
  // The pool goes on taking blocking requests.
  EXPECT_EQ(HttpBody(HttpExchange(port, "GET /slow/3 HTTP/1.0\r\n\r\n")), "/slow/3   127.0.0.1\n");
}

TEST(HttpServerTest, StopLetsABlockingRequestFinish) {
  Gate gate;
  Fixture f(&gate);
  ASSERT_TRUE(f.server);
  const int port = f.server->port();
  auto slow = std::async(std::launch::async, [&] { return HttpExchange(port, "GET /slow HTTP/1.0\r\n\r\n"); });
  ASSERT_TRUE(gate.WaitFor(1));
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gate.Open();
  });
  f.server->Stop();  // waits for the handler; libmicrohttpd would abort on a suspended connection
  opener.join();
  slow.get();  // answered or closed: either way it returns
  f.server.reset();
}

}  // namespace
}  // namespace salvo
