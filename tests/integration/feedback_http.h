// A tiny HTTP/1.1 client for the feedback service tests (one request per connection, bounded in
// time), plus helpers to run `salvo serve` on a free loopback port.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

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
class ServeProcess {
 public:
  ServeProcess(const TempDir& dir, std::string config_text,
               const std::map<std::string, std::string>& env = {}) {
    port_ = FreePort();
    ReplaceAll(&config_text, "PORT", std::to_string(port_));
    ReplaceAll(&config_text, "DATA", dir.File("data"));
    config_ = dir.Write("salvo.toml", config_text);
    proc_ = std::make_unique<Subprocess>(
        std::vector<std::string>{SalvoBin(), "serve", "-c", config_}, env, dir.File("serve.log"));
    ready_ = WaitForPort("127.0.0.1", port_, std::chrono::seconds(15));
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
  static void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
    for (size_t p = s->find(from); p != std::string::npos; p = s->find(from, p + to.size()))
      s->replace(p, from.size(), to);
  }

 private:
  int port_ = 0;
  bool ready_ = false;
  std::string config_;
  std::string log_;
  std::unique_ptr<Subprocess> proc_;
};

}  // namespace salvo::test
