// perf/smtp_bench: sender CPU per message of the shard runtime vs Postfix smtp-source, in one
// run, against the same Postfix smtp-sink on loopback. Not a test: prints figures.
//
//   build-X/perf/smtp_bench [--messages 20000] [--size 20480] [--sessions 20] [--workers 1]
//
// salvo: a pre-rendered message of --size bytes (a few constant segments, as the renderer
// produces) submitted --messages times through one account with max_connections = --sessions
// (connections reused), CPU from getrusage(RUSAGE_SELF) around the run (all threads).
// smtp-source: `smtp-source -d -s SESSIONS -m MESSAGES -l SIZE` (reused connections), CPU from
// wait4()'s rusage.
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/config/config.h"
#include "shard/sender.h"

namespace {

double CpuSeconds(const rusage& r) {
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

pid_t Spawn(std::vector<std::string> args, bool quiet);

struct Figures {
  double seconds = 0, cpu = 0;
  long messages = 0;
  long failed = 0;
};

Figures RunSalvo(int port, long messages, size_t size, uint32_t sessions, uint32_t workers) {
  // A "rendered" message: headers (one filled slot) + constant body segments.
  static std::string headers, body, filled;
  headers = "From: News <news@example.com>\r\nSubject: benchmark\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nTo: ";
  filled = "someone@example.net\r\n\r\n";
  body.clear();
  while (headers.size() + filled.size() + body.size() < size)
    body += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
  auto msg = std::make_shared<salvo::RenderedMessage>();
  msg->envelope_from = "bounces+abc@example.com";
  msg->recipient = "someone@example.net";
  msg->segments = {headers, filled, body.substr(0, body.size() / 2)};
  static std::string body2;
  body2 = body.substr(body.size() / 2);
  msg->segments.push_back(body2);
  msg->size = headers.size() + filled.size() + body.size();

  salvo::AccountConfig acct;
  acct.name = "bench";
  acct.host = "127.0.0.1";
  acct.port = static_cast<uint16_t>(port);
  acct.tls = salvo::TlsMode::kNone;
  acct.max_connections = sessions / workers;
  acct.messages_per_connection = 1000000;

  salvo::WorkerGroup group;
  salvo::SenderOptions opt;
  opt.workers = workers;
  if (!group.Start(opt).ok()) std::abort();
  std::atomic<long> done{0}, failed{0};
  std::promise<void> all;
  rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  double t0 = Now();
  for (uint32_t w = 0; w < workers; ++w) {
    salvo::Worker& worker = group.worker(w);
    long share = messages / workers + (w < messages % workers ? 1 : 0);
    // Keep each pool fed without an unbounded queue: refill on every report.
    auto state = std::make_shared<long>(share);
    auto feed = std::make_shared<std::function<void()>>();
    *feed = [&, state, feed_w = std::weak_ptr<std::function<void()>>(feed), &worker = worker] {
      while (*state > 0 && worker.HasCapacity(&acct, "")) {
        --*state;
        salvo::SendRequest req;
        req.id = static_cast<uint64_t>(*state);
        req.message = msg;
        req.account = &acct;
        worker.Submit(std::move(req), [&, feed_w](const salvo::SendReport& r) {
          if (r.outcome.result != salvo::RcptResult::kDelivered) ++failed;
          if (++done == messages) all.set_value();
          if (auto f = feed_w.lock()) (*f)();
        });
      }
    };
    worker.Post([feed] { (*feed)(); });
    // keep `feed` alive through the run
    static std::vector<std::shared_ptr<std::function<void()>>> keep;
    keep.push_back(feed);
  }
  all.get_future().wait();
  double t1 = Now();
  getrusage(RUSAGE_SELF, &r1);
  group.Stop(salvo::StopMode::kDrain);
  return {t1 - t0, CpuSeconds(r1) - CpuSeconds(r0), messages, failed.load()};
}

Figures RunSmtpSource(int port, long messages, size_t size, uint32_t sessions) {
  // -d: keep the connection for the next message (as salvo reuses its connections).
  std::vector<std::string> args = {"/usr/sbin/smtp-source", "-d", "-s", std::to_string(sessions),
                                   "-m", std::to_string(messages), "-l", std::to_string(size),
                                   "-f", "bounces@example.com", "-t", "someone@example.net",
                                   absl::StrCat("127.0.0.1:", port)};
  double t0 = Now();
  pid_t pid = Spawn(args, false);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  double t1 = Now();
  long failed = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : messages;
  return {t1 - t0, CpuSeconds(ru), messages, failed};
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool WaitForPort(int port) {
  for (int i = 0; i < 500; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    int r = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    close(fd);
    if (r == 0) return true;
    usleep(20000);
  }
  return false;
}

pid_t Spawn(std::vector<std::string> args, bool quiet) {
  pid_t pid = fork();
  if (pid == 0) {
    if (quiet) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

void Print(const char* name, const Figures& f) {
  std::printf("%-12s %8ld msgs  %7.2f s  %9.0f msg/s  %7.1f us CPU/msg%s\n", name, f.messages,
              f.seconds, f.messages / f.seconds, f.cpu * 1e6 / f.messages,
              f.failed ? absl::StrCat("  (", f.failed, " FAILED)").c_str() : "");
}

}  // namespace

int main(int argc, char** argv) {
  long messages = 20000;
  size_t size = 20480;
  uint32_t sessions = 20, workers = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--messages") messages = std::atol(argv[i + 1]);
    else if (k == "--size") size = std::strtoul(argv[i + 1], nullptr, 10);
    else if (k == "--sessions") sessions = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (k == "--workers") workers = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: smtp_bench [--messages N] [--size B] [--sessions S] [--workers W]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  int port = FreePort();
  pid_t sink = Spawn({"/usr/sbin/smtp-sink", "-u", "root", absl::StrCat("127.0.0.1:", port),
                      "1000"}, true);
  if (!WaitForPort(port)) {
    std::fprintf(stderr, "smtp-sink did not start\n");
    kill(sink, SIGKILL);
    return 1;
  }
  std::printf("smtp_bench: %ld messages of %zu bytes over %u connections to smtp-sink "
              "127.0.0.1:%d (salvo workers: %u)\n", messages, size, sessions, port, workers);
  Figures warm = RunSalvo(port, std::min<long>(messages, 2000), size, sessions, workers);
  (void)warm;
  Figures salvo_f = RunSalvo(port, messages, size, sessions, workers);
  Figures source_f = RunSmtpSource(port, messages, size, sessions);
  Print("salvo", salvo_f);
  Print("smtp-source", source_f);
  double a = salvo_f.cpu / salvo_f.messages, b = source_f.cpu / source_f.messages;
  std::printf("salvo CPU/msg = %.2fx smtp-source's (target <= 0.5x)\n", a / b);
  kill(sink, SIGTERM);
  waitpid(sink, nullptr, 0);
  return salvo_f.failed || source_f.failed ? 1 : 0;
}
