// GET /metrics on libmicrohttpd (see metrics_http.h). Trusts nothing in the request: only the
// method and the path are looked at; uploads are refused.
#include "tools/salvo/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/metrics/exposition.h"
#include "engine/metrics/salvo_metrics.h"

namespace salvo {

namespace {

MHD_Result Reply(MHD_Connection* conn, unsigned int status, const std::string& body,
                 std::string_view content_type) {
  MHD_Response* resp =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                      MHD_RESPMEM_MUST_COPY);
  if (resp == nullptr) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, std::string(content_type).c_str());
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(resp, "Allow", "GET, HEAD");
  const MHD_Result r = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return r;
}

// Per-request state: bytes of request body seen (refused, but read so the reply is clean).
struct Request {
  size_t body_bytes = 0;
};
constexpr size_t kMaxIgnoredBody = 64 * 1024;

MHD_Result Handle(void* cls, MHD_Connection* conn, const char* url, const char* method,
                  const char* /*version*/, const char* /*upload_data*/, size_t* upload_size,
                  void** con_cls) {
  // First call per request: headers only. Answer once any body has been drained.
  if (*con_cls == nullptr) {
    *con_cls = new Request();
    return MHD_YES;
  }
  auto* req = static_cast<Request*>(*con_cls);
  if (*upload_size != 0) {
    req->body_bytes += *upload_size;
    *upload_size = 0;
    return req->body_bytes > kMaxIgnoredBody ? MHD_NO : MHD_YES;  // MHD_NO closes
  }
  const std::string_view m(method);
  if (m != MHD_HTTP_METHOD_GET && m != MHD_HTTP_METHOD_HEAD) {
    return Reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "text/plain");
  }
  if (req->body_bytes != 0) {
    return Reply(conn, MHD_HTTP_BAD_REQUEST, "no body expected\n", "text/plain");
  }
  if (std::string_view(url) != "/metrics") {
    return Reply(conn, MHD_HTTP_NOT_FOUND, "not found; try /metrics\n", "text/plain");
  }
  const auto* render = static_cast<const MetricsHttpServer::Render*>(cls);
  return Reply(conn, MHD_HTTP_OK, (*render)(), metrics::kContentType);
}

void Completed(void* /*cls*/, MHD_Connection* /*conn*/, void** con_cls,
               MHD_RequestTerminationCode /*toe*/) {
  delete static_cast<Request*>(*con_cls);
  *con_cls = nullptr;
}

// "127.0.0.1:9464", "[::1]:9464" -> sockaddr.
absl::Status ParseListen(const std::string& listen, sockaddr_storage* ss, socklen_t* len) {
  std::string_view s(listen);
  std::string host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics listen \"", listen, "\": expected [address]:port"));
    }
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics listen \"", listen, "\": expected address:port"));
    }
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  uint32_t p = 0;
  if (!absl::SimpleAtoi(Av(port), &p) || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics listen \"", listen, "\": bad port"));
  }
  std::memset(ss, 0, sizeof(*ss));
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    *len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics listen \"", listen, "\": \"", host, "\" is not an IP address"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, Render render) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (absl::Status st = ParseListen(listen, &ss, &len); !st.ok()) return st;
  if (!render) render = [] { return metrics::MetricsText(); };
  std::unique_ptr<MetricsHttpServer> srv(new MetricsHttpServer(std::move(render)));
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  srv->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Handle, &srv->render_,
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&ss),
      MHD_OPTION_NOTIFY_COMPLETED, &Completed, nullptr,
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned int>(30),
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(64),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(64 * 1024),
      MHD_OPTION_END);
  if (srv->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "metrics listen \"", listen, "\": cannot listen (address in use or not local?)"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(srv->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  srv->port_ = info != nullptr ? info->port : 0;
  return srv;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace salvo
