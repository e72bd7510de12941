// Bearer key check; see api_auth.h.
#include "tools/salvo/api_auth.h"

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {

std::optional<HttpResponse> Authorize(Store* store, const HttpRequest& req, ApiScope scope,
                                      ApiKey* key) {
  auto unauthorized = [](std::string_view why) {
    HttpResponse r = JsonError(401, why);
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"salvo\"");
    return r;
  };
  std::string_view h = Trim(req.header("Authorization"), " \t");
  constexpr std::string_view kBearer = "bearer ";
  if (h.size() <= kBearer.size() || !EqualsAsciiNoCase(h.substr(0, kBearer.size()), kBearer))
    return unauthorized("missing Authorization: Bearer KEY");
  auto k = ApiKeyStore(store).Verify(Trim(h.substr(kBearer.size()), " \t"));
  if (!k.ok()) {
    if (absl::IsUnauthenticated(k.status())) return unauthorized("unknown api key");
    return JsonError(503, "cannot check the api key now");
  }
  if ((k->scopes & scope) == 0)
    return JsonError(403, absl::StrCat("api key \"", k->name, "\" lacks the scope \"",
                                       ApiScopesText(scope), "\""));
  *key = *std::move(k);
  return std::nullopt;
}

}  // namespace salvo
