// The daemon's HTTP request and response as its services see them (independent of the HTTP
// library, see http_server.h), and the small reply builders they share: plain text, an HTML page
// (no-store, noindex) and JSON. Every outside string put into a page goes through HtmlEscape.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace salvo {

struct HttpRequest {
  std::string_view method;
  std::string_view path;  // without the query string
  std::function<std::string_view(std::string_view name)> header;  // "" when absent
  std::string_view body;
  bool body_too_large = false;  // the body was refused unread (over [http] max_body_bytes)
  std::string_view client_ip;   // the peer's address ("127.0.0.1", "::1"); "" when unknown
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, ...)
};

std::string HtmlEscape(std::string_view s);
// text/plain; a newline is added when missing.
HttpResponse Text(int status, std::string body);
// A minimal HTML page with `title` and `inner` (already escaped) as its body.
HttpResponse Html(int status, std::string_view title, std::string_view inner);
// application/json; `json` is a complete document.
HttpResponse Json(int status, std::string json);
// {"error": message} with the given status.
HttpResponse JsonError(int status, std::string_view message);
HttpResponse JsonError(int status, const absl::Status& st);  // its message

}  // namespace salvo
