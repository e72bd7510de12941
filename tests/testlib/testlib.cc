#include "tests/testlib/testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"

namespace salvo::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/salvo-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string p = File(name);
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

sockaddr_in Ipv4Address(const std::string& host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

int EphemeralPortLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  if (in >> low >> high && low > 0) return low;
  return 32768;
}

namespace {

// True when a socket could bind host:port just now (without SO_REUSEADDR, so a port with
// connections in TIME_WAIT counts as taken).
bool CanBind(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const sockaddr_in a = Ipv4Address(host, port);
  const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace

// A port from bind(0) can be handed to anyone between our check and the server's bind: to a
// parallel test's own FreePort(), or as the local port of any outgoing connection (a test's
// client, a daemon's SMTP session), and the server then fails with "Address already in use" or,
// worse, the test talks to someone else's server. So ports come from below the ephemeral range,
// which the kernel never hands out by itself, and each test process walks its own slice of it
// (chosen by its pid), so parallel tests do not pick the same ones.
int FreePort(const std::string& host) {
  constexpr int kLowest = 10000, kSlice = 64;
  static std::atomic<unsigned> next{0};
  const int slices = (EphemeralPortLow() - kLowest) / kSlice;
  if (slices >= 16) {
    const int base = kLowest + static_cast<int>(getpid() % slices) * kSlice;
    for (int i = 0; i < kSlice; ++i) {
      const int port = base + static_cast<int>(next.fetch_add(1) % kSlice);
      if (CanBind(host, port)) return port;
    }
  }
  // A small ephemeral-range setting or a full slice: whatever the kernel picks.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = Ipv4Address(host, 0);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

bool WaitForPort(const std::string& host, int port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in a = Ipv4Address(host, port);
    int r = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    close(fd);
    if (r == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

namespace {

// In a forked child whose stdio is set up: closes every other descriptor, adds `env` and execs
// argv; exits 127 when that fails. Never returns.
[[noreturn]] void ExecChild(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env) {
  for (int i = 3; i < 1024; ++i) close(i);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env, const std::string& log_path) {
  log_path_ = log_path;
  if (log_path_.empty()) {
    char tmpl[] = "/tmp/salvo-sub-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    log_path_ = tmpl;
    owns_log_ = true;
  }
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    ExecChild(argv, env);
  }
}

Subprocess::~Subprocess() {
  if (Running()) Stop(SIGTERM, std::chrono::seconds(5));
  if (Running()) Stop(SIGKILL, std::chrono::seconds(5));
  if (owns_log_) unlink(log_path_.c_str());
}

bool Subprocess::Running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

int Subprocess::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

int Subprocess::Stop(int sig, std::chrono::milliseconds timeout) {
  if (Running()) kill(pid_, sig);
  return Wait(timeout);
}

std::string Subprocess::Log() const { return ReadFile(log_path_); }

std::optional<std::string> WaitForLogLine(Subprocess& p, size_t from, std::string_view marker,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const bool running = p.Running();  // read before the log: a last line still counts
    const std::string text = p.Log();
    const size_t at = from <= text.size() ? text.find(marker, from) : std::string::npos;
    const size_t eol = at == std::string::npos ? at : text.find('\n', at);
    if (eol != std::string::npos) return text.substr(at + marker.size(), eol - at - marker.size());
    if (!running) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

RunResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data,
              std::chrono::milliseconds timeout, const std::map<std::string, std::string>& env) {
  RunResult res;
  int in[2], out[2], err[2];
  if (pipe(in) || pipe(out) || pipe(err)) return res;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    ExecChild(argv, env);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (stdin_data.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0},
                     {in[1], POLLOUT, 0}};
    poll(fds, 3, static_cast<int>(std::min<long>(left.count(), 100)));
    if (fds[0].revents) {
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) out_open = false; else res.out.append(buf, n);
    }
    if (fds[1].revents) {
      ssize_t n = read(err[0], buf, sizeof buf);
      if (n <= 0) err_open = false; else res.err.append(buf, n);
    }
    if (in[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in[1], stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += n;
      if (n < 0 || written == stdin_data.size()) {
        close(in[1]);
        in[1] = -1;
      }
    }
  }
  if (in[1] >= 0) close(in[1]);
  close(out[0]);
  close(err[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (std::chrono::steady_clock::now() >= deadline) res.exit_code = -1;
  else res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}

static std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
std::string SalvoBin() { return Env("SALVO_BIN"); }
RunResult Salvo(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {SalvoBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", timeout);
}

std::string FixturesDir() { return Env("SALVO_FIXTURES"); }

std::vector<ReplyFixture> SmtpReplyFixtures() {
  std::vector<ReplyFixture> out;
  std::ifstream in(FixturesDir() + "/smtp_replies.tsv");
  EXPECT_TRUE(in) << "cannot open " << FixturesDir() << "/smtp_replies.tsv";
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "reply\tclass\tsource");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos) continue;
    out.push_back({line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1)});
  }
  return out;
}
std::string SourceRoot() { return Env("SALVO_SOURCE_ROOT"); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int CountOpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (readdir(d)) ++n;
  closedir(d);
  return n - 3;  // ".", "..", and the dir fd itself
}

std::string MissingParts(std::string_view text, std::initializer_list<std::string_view> parts) {
  std::string missing;
  for (std::string_view p : parts) {
    if (text.find(p) != std::string_view::npos) continue;
    if (!missing.empty()) missing += ' ';
    missing.append("\"").append(p).append("\"");
  }
  return missing;
}

std::string HttpExchange(int port, const std::string& request, int timeout_s) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const sockaddr_in a = Ipv4Address("127.0.0.1", port);
  std::string out;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
    size_t off = 0;
    while (off < request.size()) {
      ssize_t n = send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    char buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string HttpBody(const std::string& response) {
  const size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

std::string TokenAfter(const std::string& message, const std::string& prefix) {
  std::string flat;
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  auto value = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
  for (size_t i = 0; i < message.size(); ++i) {
    if (message.compare(i, 3, "=\r\n") == 0) { i += 2; continue; }
    // The encoder escapes a "." or "F" that starts a line ("=2E", "=46"), which a soft break
    // can put inside a URL or a token.
    if (message[i] == '=' && i + 2 < message.size() && hex(message[i + 1]) &&
        hex(message[i + 2])) {
      flat.push_back(static_cast<char>(value(message[i + 1]) * 16 + value(message[i + 2])));
      i += 2;
      continue;
    }
    flat.push_back(message[i]);
  }
  const size_t at = flat.find(prefix);
  if (at == std::string::npos) return "";
  const size_t from = at + prefix.size();
  return flat.substr(from, flat.find_first_not_of(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", from) - from);
}

}  // namespace salvo::test
