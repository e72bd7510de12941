// libmicrohttpd glue for the daemon's HTTP listener. See http_server.h.
#include "tools/salvo/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/base/strings.h"
#include "shard/listen_address.h"

namespace salvo {
namespace {

struct ConnState {
  std::string body;
  bool too_large = false;
};

MHD_Result Send(MHD_Connection* conn, const HttpResponse& r) {
  MHD_Response* resp = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  for (const auto& [k, v] : r.headers) {
    if (HasLineBreak(k) || HasLineBreak(v)) continue;  // never a header injection
    MHD_add_response_header(resp, k.c_str(), v.c_str());
  }
  MHD_Result rc = MHD_queue_response(conn, static_cast<unsigned>(r.status), resp);
  MHD_destroy_response(resp);
  return rc;
}

MHD_Result Dispatch(HttpServer* srv, MHD_Connection* conn, const char* url, const char* method,
                    ConnState* st) {
  HttpRequest req;
  req.method = method;
  req.path = url;
  req.header = [conn](std::string_view name) -> std::string_view {
    std::string n(name);
    const char* v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, n.c_str());
    return v ? std::string_view(v) : std::string_view();
  };
  req.body = st->body;
  req.body_too_large = st->too_large;
  return Send(conn, srv->handler()(req));
}

MHD_Result Access(void* cls, MHD_Connection* conn, const char* url, const char* method,
                  const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                  void** con_cls) {
  auto* srv = static_cast<HttpServer*>(cls);
  auto* st = static_cast<ConnState*>(*con_cls);
  if (!st) {
    st = new ConnState;
    *con_cls = st;
    const char* cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(cl, &n) || n > srv->max_body()) {
        st->too_large = true;  // refuse before reading the body
        return Dispatch(srv, conn, url, method, st);
      }
      st->body.reserve(n);
    }
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    if (!st->too_large) {
      if (st->body.size() + *upload_data_size > srv->max_body()) {
        st->too_large = true;
        st->body.clear();
        st->body.shrink_to_fit();
      } else {
        st->body.append(upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  return Dispatch(srv, conn, url, method, st);
}

void Completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  delete static_cast<ConnState*>(*con_cls);
  *con_cls = nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpConfig& config,
                                                              Handler handler) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (absl::Status st = ParseListenAddress(config.listen, "[http] listen", &ss, &len); !st.ok())
    return st;
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  std::unique_ptr<HttpServer> srv(new HttpServer(std::move(handler), config.max_body_bytes));
  unsigned int threads = config.threads == 0 ? 1 : config.threads;
  unsigned int timeout = static_cast<unsigned int>(absl::ToInt64Seconds(config.timeout));
  if (timeout == 0) timeout = 1;
  srv->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Access, srv.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&ss),
      MHD_OPTION_THREAD_POOL_SIZE, threads,
      MHD_OPTION_CONNECTION_TIMEOUT, timeout,
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(20000),
      // libmicrohttpd zeroes a connection's whole memory pool at every keep-alive request: 64 KB
      // cost 12 % of the CPU of a click redirect. Request headers and the read buffer fit in 16 KB;
      // bodies are copied out of it as they arrive.
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(16 * 1024),
      MHD_OPTION_LISTEN_BACKLOG_SIZE, static_cast<unsigned int>(1024),
      MHD_OPTION_NOTIFY_COMPLETED, &Completed, nullptr,
      MHD_OPTION_END);
  if (!srv->daemon_)
    return absl::UnavailableError(
        absl::StrCat("[http] listen \"", config.listen, "\": cannot listen (address in use?)"));
  const MHD_DaemonInfo* info = MHD_get_daemon_info(srv->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  srv->port_ = info ? info->port
                    : ntohs(ss.ss_family == AF_INET6
                                ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  return srv;
}

void HttpServer::Stop() {
  if (daemon_) {
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace salvo
