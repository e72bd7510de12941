// A tiny HTTP/1.1 client for the feedback service tests (one request per connection, bounded in
// time), plus helpers to run `salvo serve` on a free loopback port.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return r;
  }
  std::string req = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&req, k, ": ", v, "\r\n");
  if (method == "POST" || !body.empty()) absl::StrAppend(&req, "Content-Length: ", body.size(), "\r\n");
  absl::StrAppend(&req, "\r\n", body);
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
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
