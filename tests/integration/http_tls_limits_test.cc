// The HTTP surface of a running `salvo serve` (issue 15): HTTPS with a certificate made here
// (`curl --cacert` follows a tracking link to its 302), and after the certificate files are
// replaced and SIGHUP sent the new certificate is served (serial seen by `openssl s_client`)
// while the listener never stops accepting; with both listeners the plain one answers only
// /healthz and /metrics. Limits: 500 idle connections from 127.0.0.2 are cut to
// max_connections_per_ip and clicks from 127.0.0.1 are still served (latency figures: perf/
// http_idle_bench.sh); oversized headers are refused; a client that stops mid-request, or keeps
// trickling its headers, is disconnected after [http] timeout.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <thread>

#include "tests/integration/campaign_fixture.h"
#include "tests/integration/feedback_http.h"

namespace salvo {
namespace {

using namespace salvo::test;

// A self-signed certificate for 127.0.0.1 with the given serial (hex), as dir/<name>.{pem,key}.
void MakeServerCert(const TempDir& dir, const std::string& name, const std::string& serial) {
  auto r = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                       dir.File(name + ".key"), "-out", dir.File(name + ".pem"), "-days", "1",
                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                       "-set_serial", "0x" + serial});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// The serial of the certificate the server on `port` presents ("serial=1001").
std::string ServedSerial(int port) {
  auto c = RunProcess({"openssl", "s_client", "-connect", absl::StrCat("127.0.0.1:", port),
                       "-servername", "localhost"},
                      "", std::chrono::seconds(20));
  auto x = RunProcess({"openssl", "x509", "-noout", "-serial"}, c.out);
  return std::string(absl::StripAsciiWhitespace(x.out));
}

// A click token from `salvo render` (through the daemon, which stores the link table).
std::string ClickPath(const std::string& cfg, const std::string& campaign, const std::string& to) {
  RunResult render = RunProcess({SalvoBin(), "render", "-c", cfg, "--campaign", campaign, "--to", to});
  EXPECT_EQ(render.exit_code, 0) << render.out << render.err;
  std::string msg = render.out;
  // Quoted-printable soft breaks and =3D.
  msg = std::regex_replace(msg, std::regex("=\r?\n"), "");
  std::smatch m;
  if (!std::regex_search(msg, m, std::regex("/c/([A-Za-z0-9_-]+)"))) return "";
  return "/c/" + m[1].str();
}

// A TCP connection to 127.0.0.1:port from `source` (another loopback address); -1 on failure.
int ConnectFrom(const std::string& source, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True when the server closed `fd` within `ms` (EOF or reset).
bool ClosedWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return false;
  char c;
  return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

struct TrackingSetup {
  std::string config_text, campaign;
};

TrackingSetup Tracking(const TempDir& dir, const std::string& http) {
  TrackingSetup t;
  t.config_text = ConfigText(dir, {{"acct", FreePort(), {}}}, kOneAccountRoute, http);
  Population pop = Populate(dir.File("data"), "news", 3, "h", "example.test");
  t.campaign = CampaignFile(dir, "tls", "news");
  return t;
}

TEST(HttpTlsLimitsTest, HttpsClickAndCertificateReloadOnSighup) {
  TempDir dir;
  MakeServerCert(dir, "tls", "1001");
  const int tls_port = FreePort();
  TrackingSetup t = Tracking(dir, absl::StrCat("[http]\nlisten = \"127.0.0.1:PORT\"\nthreads = 2\n",
                                               "tls_listen = \"127.0.0.1:", tls_port, "\"\n",
                                               "tls_cert_file = \"tls.pem\"\ntls_key_file = \"tls.key\"\n"));
  ServeProcess serve(dir, t.config_text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  ASSERT_TRUE(WaitForPort("127.0.0.1", tls_port, std::chrono::seconds(10))) << serve.Log();
  const std::string click = ClickPath(serve.config(), t.campaign, "h1@example.test");
  ASSERT_FALSE(click.empty());

  auto curl = [&](const std::string& ca) {
    return RunProcess({"curl", "-sS", "--max-time", "10", "--cacert", ca, "-o", "/dev/null", "-w",
                       "%{http_code} %{redirect_url}",
                       absl::StrCat("https://127.0.0.1:", tls_port, click)});
  };
  RunResult r = curl(dir.File("tls.pem"));
  EXPECT_EQ(r.out, "302 https://shop.example.test/a") << r.err;
  EXPECT_EQ(ServedSerial(tls_port), "serial=1001");
  // The plain listener keeps /healthz and /metrics only.
  EXPECT_EQ(HttpDo(serve.port(), "GET", click).status, 404);
  EXPECT_EQ(HttpDo(serve.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(HttpDo(serve.port(), "GET", "/metrics").status, 200);
  EXPECT_EQ(HttpDo(serve.port(), "POST", "/webhooks/sendgrid", "[]",
                   {{"Content-Type", "application/json"}}).status, 404);

  // Renew: new files, SIGHUP. A client connecting all the while is never refused.
  std::atomic<bool> done{false};
  std::atomic<int> refused{0}, connects{0};
  std::thread prober([&] {
    while (!done.load()) {
      int fd = ConnectFrom("127.0.0.1", tls_port);
      if (fd < 0) ++refused;
      else close(fd);
      ++connects;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  MakeServerCert(dir, "tls", "2002");
  ASSERT_EQ(kill(serve.pid(), SIGHUP), 0);
  for (int i = 0; i < 100 && serve.Log().find("TLS certificate reloaded") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(serve.Log().find("TLS certificate reloaded"), std::string::npos) << serve.Log();
  EXPECT_EQ(ServedSerial(tls_port), "serial=2002");
  done = true;
  prober.join();
  EXPECT_EQ(refused.load(), 0) << "of " << connects.load() << " connects";
  EXPECT_GT(connects.load(), 10);
  r = curl(dir.File("tls.pem"));  // the new file: the new certificate
  EXPECT_EQ(r.out, "302 https://shop.example.test/a") << r.err;

  // A broken certificate file: the reload fails, the old certificate stays.
  dir.Write("tls.pem", "not a certificate\n");
  ASSERT_EQ(kill(serve.pid(), SIGHUP), 0);
  for (int i = 0; i < 100 && serve.Log().find("old one stays in use") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(serve.Log().find("old one stays in use"), std::string::npos) << serve.Log();
  EXPECT_EQ(ServedSerial(tls_port), "serial=2002");
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
}

TEST(HttpTlsLimitsTest, IdleFloodFromOneIpHeaderBoundAndTimeout) {
  TempDir dir;
  TrackingSetup t = Tracking(dir, "[http]\nlisten = \"127.0.0.1:PORT\"\nthreads = 2\ntimeout = \"3s\"\n");
  ServeProcess serve(dir, t.config_text);
  ASSERT_TRUE(serve.ready()) << serve.Log();
  const int port = serve.port();
  const std::string click = ClickPath(serve.config(), t.campaign, "h1@example.test");
  ASSERT_FALSE(click.empty());

  // 500 idle connections from 127.0.0.2: the kernel accepts them all, the daemon keeps at most
  // max_connections_per_ip (64) and closes the rest at once.
  std::vector<int> idle;
  for (int i = 0; i < 500; ++i) {
    int fd = ConnectFrom("127.0.0.2", port);
    if (fd >= 0) idle.push_back(fd);
  }
  ASSERT_EQ(idle.size(), 500u);
  int closed = 0;
  for (int fd : idle) closed += ClosedWithin(fd, 5) ? 1 : 0;
  for (int i = 0; i < 20 && closed < 500 - 64; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    closed = 0;
    for (int fd : idle) closed += ClosedWithin(fd, 0) ? 1 : 0;
  }
  EXPECT_GE(closed, 500 - 64);
  EXPECT_LT(closed, 500) << "connections within the limit stay until the timeout";
  // Meanwhile another client's clicks are served.
  for (int i = 0; i < 50; ++i) {
    auto r = HttpDo(port, "GET", click);
    // (CI once saw a 404 on the first click: the body and the daemon's log say whose.)
    ASSERT_EQ(r.status, 302) << i << " " << click << "\n" << r.body << "\n" << serve.Log();
  }
  for (int fd : idle) close(fd);

  // Request line and headers beyond the 16 KB connection buffer are refused.
  auto big = HttpDo(port, "GET", "/healthz", "", {{"X-Big", std::string(20000, 'a')}});
  EXPECT_TRUE(big.status == 431 || big.status == 413 || big.status == 414 || big.status == 0)
      << big.status;
  EXPECT_NE(big.status, 200);

  // Slowloris: a request that stops half-way is cut off after [http] timeout (3 s) ...
  const std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  int slow = ConnectFrom("127.0.0.1", port);
  ASSERT_GE(slow, 0);
  ASSERT_EQ(send(slow, partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
  EXPECT_FALSE(ClosedWithin(slow, 1000)) << "not before the timeout";
  EXPECT_TRUE(ClosedWithin(slow, 10000)) << "cut off after the timeout";
  close(slow);
  // ... and so is one that keeps trickling a byte every 300 ms (never idle).
  int trickle = ConnectFrom("127.0.0.1", port);
  ASSERT_GE(trickle, 0);
  ASSERT_EQ(send(trickle, partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
  bool cut = false;
  for (int i = 0; i < 40 && !cut; ++i) {  // 12 s at most
    cut = send(trickle, "a", 1, MSG_NOSIGNAL) != 1 || ClosedWithin(trickle, 300);
  }
  EXPECT_TRUE(cut) << "a trickling request head is cut off too";
  close(trickle);
  EXPECT_EQ(HttpDo(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(serve.Stop(), 0) << serve.Log();
}

}  // namespace
}  // namespace salvo
