// A tiny HTTP/1.1 client for the feedback service tests (one request per connection, bounded in
// time), plus helpers to run `salvo serve` on a free loopback port.
#pragma once

#include <chrono>
#include <csignal>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

// Undoes quoted-printable soft breaks and =3D so that URLs can be found in a raw message.
inline std::string Unqp(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 3) == "=\r\n") { i += 2; continue; }
    if (s.substr(i, 2) == "=\n") { i += 1; continue; }
    if (s.substr(i, 3) == "=3D") { out.push_back('='); i += 2; continue; }
    out.push_back(s[i]);
  }
  return out;
}

// salvo.toml of a daemon with tracking on a loopback port (ServeProcess fills in DATA and PORT;
// the test writes tracking.key). Tests append the keys they need to the [tracking] table.
inline constexpr char kTrackingServeConfig[] = R"(data_dir = "DATA"
[http]
listen = "127.0.0.1:PORT"
threads = 2
[tracking]
base_url = "http://127.0.0.1:PORT"
secret_file = "tracking.key"
)";

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
};

inline HttpReply HttpDo(int port, const std::string& method, const std::string& path,
                        const std::string& body = "",
                        const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  HttpReply r;
  std::string req = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&req, k, ": ", v, "\r\n");
  if (method == "POST" || !body.empty()) absl::StrAppend(&req, "Content-Length: ", body.size(), "\r\n");
  absl::StrAppend(&req, "\r\n", body);
  const std::string resp = HttpExchange(port, req);
  size_t hdr_end = resp.find("\r\n\r\n");
  if (resp.size() < 12 || hdr_end == std::string::npos) return r;
  r.status = std::atoi(resp.substr(9, 3).c_str());
  size_t pos = resp.find("\r\n") + 2;
  while (pos < hdr_end) {
    size_t eol = resp.find("\r\n", pos);
    std::string line = resp.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = absl::AsciiStrToLower(line.substr(0, colon));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = eol + 2;
  }
  r.body = resp.substr(hdr_end + 4);
  return r;
}

// A `salvo serve` on a free port of 127.0.0.1 with the given config text (`PORT` and `DATA` are
// replaced). Stops it with SIGTERM in Stop() / the destructor.
//
// Another test running in parallel may take the port between FreePort() and the daemon's bind.
// The daemon then exits, and a bare wait for the port would find the other test's listener (a
// daemon that answers 404 to our links). So ready() means: this daemon printed its start line
// (after every listener is up) and still runs; a daemon that could not bind is started again on
// another port, at most three times.
class ServeProcess {
 public:
  ServeProcess(const TempDir& dir, std::string config_text,
               const std::map<std::string, std::string>& env = {}) {
    for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
      if (proc_) proc_->Stop(SIGKILL, std::chrono::seconds(5));
      port_ = FreePort();
      std::string text = config_text;
      ReplaceAll(&text, "PORT", std::to_string(port_));
      ReplaceAll(&text, "DATA", dir.File("data"));
      config_ = dir.Write("salvo.toml", text);
      // The log is appended to (a test may restart the daemon in the same directory): only what
      // this daemon writes counts.
      log_start_ = ReadFile(dir.File("serve.log")).size();
      proc_ = std::make_unique<Subprocess>(
          std::vector<std::string>{SalvoBin(), "serve", "-c", config_}, env, dir.File("serve.log"));
      ready_ = WaitForStart(std::chrono::seconds(15));
      if (!ready_ && proc_->Log().find("in use", log_start_) == std::string::npos) break;
    }
  }
  ~ServeProcess() { Stop(); }
  int Stop() {
    if (!proc_) return -1;
    int rc = proc_->Stop(SIGTERM, std::chrono::seconds(20));
    log_ = proc_->Log();
    proc_.reset();
    return rc;
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }
  const std::string& config() const { return config_; }
  std::string Log() const { return proc_ ? proc_->Log() : log_; }
  // True once a line with `marker` is in the log this daemon wrote.
  bool WaitForLog(std::string_view marker, std::chrono::milliseconds timeout) {
    return proc_ && WaitForLogLine(*proc_, log_start_, marker, timeout).has_value();
  }
  static void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
    for (size_t p = s->find(from); p != std::string::npos; p = s->find(from, p + to.size()))
      s->replace(p, from.size(), to);
  }

 private:
  // True once the daemon's start line is in its log, it still runs and the port answers.
  bool WaitForStart(std::chrono::milliseconds timeout) {
    return WaitForLogLine(*proc_, log_start_, "salvo serve: data_dir ", timeout) &&
           proc_->Running() && WaitForPort("127.0.0.1", port_, std::chrono::seconds(5));
  }

  int port_ = 0;
  size_t log_start_ = 0;
  bool ready_ = false;
  std::string config_;
  std::string log_;
  std::unique_ptr<Subprocess> proc_;
};

}  // namespace salvo::test
