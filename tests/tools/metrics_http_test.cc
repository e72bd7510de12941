// MetricsHttpServer on loopback: GET /metrics returns the registry text with the 0.0.4 content
// type and passes `promtool check metrics`; other paths 404, other methods 405; bad listen
// addresses are refused with a message naming them.
#include "tools/salvo/metrics_http.h"

#include <gtest/gtest.h>

#include "engine/metrics/exposition.h"
#include "engine/metrics/salvo_metrics.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

// One HTTP/1.0 request over a fresh connection; returns the whole response.
std::string Http(int port, const std::string& request) {
  return test::HttpExchange(port, request, 5);
}

// "200" from "HTTP/1.1 200 OK..." (libmicrohttpd answers HTTP/1.1).
std::string Code(const std::string& resp) {
  return resp.rfind("HTTP/1.", 0) == 0 && resp.size() >= 12 ? resp.substr(9, 3) : "none";
}

TEST(MetricsHttpTest, ServesMetrics) {
  auto srv = MetricsHttpServer::Start("127.0.0.1:0");
  ASSERT_TRUE(srv.ok()) << srv.status();
  const int port = (*srv)->port();
  ASSERT_GT(port, 0);
  metrics::Metrics().clicks->WithLabels({"http-test"}).Add(7);
  const std::string resp = Http(port, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Code(resp), "200") << resp.substr(0, 200);
  EXPECT_NE(resp.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  const std::string body = test::HttpBody(resp);
  EXPECT_NE(body.find("salvo_clicks_total{campaign=\"http-test\"} 7\n"), std::string::npos);
  EXPECT_NE(body.find("# TYPE salvo_messages_total counter\n"), std::string::npos);
  const test::RunResult check =
      test::RunProcess({"/usr/bin/promtool", "check", "metrics"}, body, std::chrono::seconds(60));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // The counter moves between scrapes.
  metrics::Metrics().clicks->WithLabels({"http-test"}).Inc();
  EXPECT_NE(test::HttpBody(Http(port, "GET /metrics HTTP/1.0\r\n\r\n"))
                .find("salvo_clicks_total{campaign=\"http-test\"} 8\n"),
            std::string::npos);
}

TEST(MetricsHttpTest, OtherPathsAndMethods) {
  auto srv = MetricsHttpServer::Start("127.0.0.1:0", [] { return std::string("x_total 1\n"); });
  ASSERT_TRUE(srv.ok()) << srv.status();
  const int port = (*srv)->port();
  EXPECT_EQ(Code(Http(port, "GET /other HTTP/1.0\r\n\r\n")), "404");
  EXPECT_EQ(Code(Http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")), "405");
  const std::string head = Http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(Code(head), "200");
  EXPECT_EQ(test::HttpBody(head), "");
  EXPECT_EQ(test::HttpBody(Http(port, "GET /metrics HTTP/1.0\r\n\r\n")), "x_total 1\n");
}

TEST(MetricsHttpTest, BadListenAddresses) {
  for (const char* bad : {"", "127.0.0.1", "localhost:9464", "127.0.0.1:99999", "[::1", "1.2.3:x"}) {
    auto srv = MetricsHttpServer::Start(bad);
    ASSERT_FALSE(srv.ok()) << bad;
    EXPECT_NE(srv.status().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << srv.status();
  }
  // A port in use.
  auto a = MetricsHttpServer::Start("127.0.0.1:0");
  ASSERT_TRUE(a.ok());
  auto b = MetricsHttpServer::Start("127.0.0.1:" + std::to_string((*a)->port()));
  EXPECT_FALSE(b.ok());
}

}  // namespace
}  // namespace salvo
