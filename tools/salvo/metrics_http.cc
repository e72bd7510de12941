// GET /metrics on libmicrohttpd (see metrics_http.h). Trusts nothing in the request: only the
// method and the path are looked at; uploads are refused.
#include "tools/salvo/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/metrics/exposition.h"
#include "engine/metrics/salvo_metrics.h"
#include "shard/listen_address.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, Render render) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (absl::Status st = ParseListenAddress(listen, "metrics listen", &ss, &len); !st.ok())
    return st;
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
