// Reply builders; see http_reply.h.
#include "tools/salvo/http_reply.h"

#include "absl/strings/str_cat.h"
#include "engine/base/json.h"
#include "engine/base/strings.h"

namespace salvo {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body.push_back('\n');
  return r;
}

HttpResponse Html(int status, std::string_view title, std::string_view inner) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = absl::StrCat("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", Av(title),
                        "</title><meta name=\"robots\" content=\"noindex\"></head>\n<body>", Av(inner),
                        "</body></html>\n");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Json(int status, std::string json) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(json);
  r.body.push_back('\n');
  return r;
}

HttpResponse JsonError(int status, std::string_view message) {
  std::string j("{\"error\":");
  AppendJsonString(&j, message);
  j.push_back('}');
  return Json(status, std::move(j));
}

HttpResponse JsonError(int status, const absl::Status& st) {
  return JsonError(status, Sv(st.message()));
}

}  // namespace salvo
