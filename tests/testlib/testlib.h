// Helpers for tests: temp dirs, free ports, child processes bounded in time, paths to the
// salvo binary and tests/fixtures. Tests that need a server start it with these on
// 127.0.0.1 / 127.0.0.x and stop it in their destructor.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace salvo::test {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to File(name) and returns that path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The IPv4 socket address host:port (`host` in dotted form).
sockaddr_in Ipv4Address(const std::string& host, int port);
// The low end of the kernel's ephemeral port range (bind to port 0 and every outgoing connection
// take their ports from it): ip_local_port_range, 32768 when it cannot be read.
int EphemeralPortLow();

// A TCP port that was free on `host` a moment ago, below the kernel's ephemeral range and from
// this process's own slice of it (see testlib.cc).
int FreePort(const std::string& host = "127.0.0.1");

// One raw HTTP exchange with 127.0.0.1:port over a fresh connection: writes `request` as given,
// reads until the server closes or `timeout_s` passes without data; the whole response ("" when
// the connection failed).
std::string HttpExchange(int port, const std::string& request, int timeout_s = 10);
// What follows the head of an HTTP response ("" without a complete head).
std::string HttpBody(const std::string& response);

// The base64url token right after the first `prefix` in a message, quoted-printable soft line
// breaks removed and =XX escapes decoded first ("" when the prefix is absent), e.g. the TOKEN of ".../c/TOKEN".
std::string TokenAfter(const std::string& message, const std::string& prefix);

// Waits until something accepts TCP connections on host:port. False on timeout.
bool WaitForPort(const std::string& host, int port, std::chrono::milliseconds timeout);

// A child process with stdout+stderr to a log file; killed (SIGTERM, then SIGKILL) on destruction.
class Subprocess {
 public:
  Subprocess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
             const std::string& log_path = "");
  ~Subprocess();
  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `sig`; waits up to `timeout` for exit. Returns the exit status (or -1 on timeout).
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int Wait(std::chrono::milliseconds timeout);  // exit code, 128+signal, or -1 on timeout
  std::string Log() const;                      // what it printed so far

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
  bool owns_log_ = false;
};

// Polls `p`'s log, from byte `from` on (a restarted process appends to its log), for a complete
// line containing `marker`, while `p` runs. Returns what follows the marker on that line, or
// nullopt when `p` exits first or `timeout` passes.
std::optional<std::string> WaitForLogLine(Subprocess& p, size_t from, std::string_view marker,
                                          std::chrono::milliseconds timeout);

struct RunResult {
  int exit_code = -1;   // 128+signal when killed; -1 on timeout
  std::string out;      // stdout
  std::string err;      // stderr
};

// Runs argv to completion (killed after `timeout`), feeding `stdin_data`.
RunResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data = "",
              std::chrono::milliseconds timeout = std::chrono::seconds(120),
              const std::map<std::string, std::string>& env = {});

std::string SalvoBin();       // $SALVO_BIN
// Runs `salvo ARGS...` to completion (killed after `timeout`).
RunResult Salvo(const std::vector<std::string>& args,
                std::chrono::milliseconds timeout = std::chrono::seconds(120));
std::string FixturesDir();    // $SALVO_FIXTURES (tests/fixtures)
// The rows of tests/fixtures/smtp_replies.tsv: a reply as logs show it and its class (hard,
// policy, soft, throttle, quota, auth). Fails the calling test when the file is missing.
struct ReplyFixture {
  std::string reply, klass;
};
std::vector<ReplyFixture> SmtpReplyFixtures();
std::string SourceRoot();     // $SALVO_SOURCE_ROOT
std::string ReadFile(const std::string& path);
// The `parts` that `text` does not contain, quoted and joined by spaces; empty when it contains
// them all: EXPECT_EQ(MissingParts(r.out, {"OK:", "PIPELINING"}), "") << r.out;
std::string MissingParts(std::string_view text, std::initializer_list<std::string_view> parts);
int CountOpenFds();           // of this process (leak checks)

}  // namespace salvo::test
