#include "tools/salvo/preflight_http.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

constexpr size_t kMaxResponseBytes = 4u << 20;

// A connected TCP socket with send/receive timeouts (which also bound connect on Linux), or -1.
int Connect(const std::string& host, uint16_t port, absl::Duration timeout, std::string* why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    *why = absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv = absl::ToTimeval(timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    *why = absl::StrCat("connect to ", host, ":", port, ": ", strerror(errno));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

}  // namespace

absl::StatusOr<std::string> HttpPost(const std::string& url, const std::string& path,
                                     std::string_view body, absl::Duration timeout) {
  if (!absl::StartsWith(url, "http://")) return absl::InvalidArgumentError(absl::StrCat(url, ": not http://"));
  std::string hostport = url.substr(7);
  hostport = hostport.substr(0, hostport.find('/'));
  std::string host = hostport;
  uint32_t port = 80;
  if (size_t c = hostport.rfind(':'); c != std::string::npos) {
    host = hostport.substr(0, c);
    if (!absl::SimpleAtoi(hostport.substr(c + 1), &port) || port == 0 || port > 65535)
      return absl::InvalidArgumentError(absl::StrCat(url, ": bad port"));
  }
  std::string why;
  int fd = Connect(host, port, timeout, &why);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(url, ": ", why));
  std::string req = absl::StrCat("POST ", path, " HTTP/1.0\r\nHost: ", hostport,
                                 "\r\nContent-Length: ", body.size(), "\r\n\r\n");
  req.append(body);
  for (size_t off = 0; off < req.size();) {
    ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat(url, ": send: ", strerror(errno)));
    }
    off += n;
  }
  std::string resp;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      close(fd);
      return absl::DeadlineExceededError(absl::StrCat(url, ": no complete answer (", strerror(errno), ")"));
    }
    if (n == 0) break;
    resp.append(buf, n);
    if (resp.size() > kMaxResponseBytes) break;
  }
  close(fd);
  size_t head_end = resp.find("\r\n\r\n");
  if (head_end == std::string::npos) return absl::UnavailableError(absl::StrCat(url, ": malformed answer"));
  std::string status = resp.substr(0, resp.find("\r\n"));
  if (status.size() < 12 || status.substr(9, 3) != "200")
    return absl::UnavailableError(absl::StrCat(url, path, ": ", SanitizeForLog(status, 200)));
  return resp.substr(head_end + 4);
}

HttpsProbe ProbeHttps(const std::string& host, const std::string& address, uint16_t port,
                      absl::Duration timeout) {
  HttpsProbe out;
  std::string why;
  int fd = Connect(address, port, timeout, &why);
  if (fd < 0) {
    out.state = HttpsProbe::State::kUnreachable;
    out.detail = why;
    return out;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_default_verify_paths(ctx);  // honours SSL_CERT_FILE / SSL_CERT_DIR
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, host.c_str());
  SSL_set1_host(ssl, host.c_str());
  if (SSL_connect(ssl) != 1) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
      out.state = HttpsProbe::State::kCertificate;
      out.detail = absl::StrCat("certificate not valid for ", host, ": ",
                                X509_verify_cert_error_string(v));
    } else {
      out.state = HttpsProbe::State::kUnreachable;
      char err[256];
      ERR_error_string_n(ERR_get_error(), err, sizeof err);
      out.detail = absl::StrCat("TLS handshake with ", host, ":", port, " failed: ", err);
    }
  } else {
    std::string req = absl::StrCat("HEAD / HTTP/1.0\r\nHost: ", host, "\r\n\r\n");
    SSL_write(ssl, req.data(), static_cast<int>(req.size()));
    char buf[512];
    int n = SSL_read(ssl, buf, sizeof buf - 1);
    std::string line = n > 0 ? std::string(buf, n) : "";
    line = line.substr(0, line.find("\r\n"));
    out.state = HttpsProbe::State::kOk;
    out.detail = absl::StrCat(SSL_get_version(ssl), ", certificate valid for ", host,
                              line.empty() ? "" : absl::StrCat(", ", SanitizeForLog(line, 100)));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return out;
}

}  // namespace salvo
