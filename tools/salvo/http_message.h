// One HTTP request and response as the daemon's handlers see them, independent of the HTTP
// library (tools/salvo/http_server.h fills and sends them).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace salvo {

struct HttpRequest {
  std::string_view method;
  std::string_view path;  // without the query string
  std::function<std::string_view(std::string_view name)> header;  // "" when absent
  std::string_view body;
  bool body_too_large = false;  // the body was refused unread (over [http] max_body_bytes)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, ...)
};

}  // namespace salvo
