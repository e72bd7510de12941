// API routing and idempotency; see api_service.h.
#include "tools/salvo/api_service.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "store/idempotency_store.h"
#include "tools/salvo/api_auth.h"

namespace salvo {
namespace {

constexpr std::string_view kLists = "/api/v1/lists/";
constexpr std::string_view kLeads = "/leads";

}  // namespace

ApiService::ApiService(const Config& config, Store* store, std::unique_ptr<Responders> responders,
                       const KeyRingSlot* keys)
    : store_(store), responders_(std::move(responders)), leads_(store, responders_.get()),
      messages_(config, store, keys) {}

absl::StatusOr<std::unique_ptr<ApiService>> ApiService::Create(const Config& config, Store* store,
                                                               const KeyRingSlot* keys) {
  ASSIGN_OR_RETURN(std::unique_ptr<Responders> r, Responders::Create(config, store, keys));
  return std::unique_ptr<ApiService>(new ApiService(config, store, std::move(r), keys));
}

bool ApiService::Serves(std::string_view path) {
  return path.rfind("/api/", 0) == 0 || path.rfind("/confirm/", 0) == 0;
}

template <typename Fn>
HttpResponse ApiService::Idempotent(const HttpRequest& req, const ApiKey& key, Fn run) {
  const std::string_view idem = req.header("Idempotency-Key");
  if (idem.empty()) return run();
  if (!IdempotencyStore::ValidKey(idem))
    return JsonError(400, "Idempotency-Key: 1..200 printable ASCII characters");
  std::mutex& mu = idem_mu_[std::hash<std::string>{}(absl::StrCat(key.name, "\n", Av(idem))) %
                            idem_mu_.size()];
  std::lock_guard<std::mutex> lock(mu);
  IdempotencyStore store(store_);
  auto seen = store.Get(key.name, idem, NowUnixMicros());
  if (!seen.ok()) return JsonError(503, seen.status());
  if (seen->has_value()) {
    HttpResponse r = Json((*seen)->status, (*seen)->body);
    r.body.pop_back();  // Json() added the newline the stored body already has
    r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  }
  HttpResponse r = run();
  if (r.status == 202) {
    if (absl::Status st = store.Put(key.name, idem, NowUnixMicros(),
                                    StoredReply{r.status, r.body});
        !st.ok())
      r.headers.emplace_back("Warning", "199 salvo \"Idempotency-Key not remembered\"");
  }
  return r;
}

HttpResponse ApiService::Handle(const HttpRequest& req) {
  const std::string_view path = req.path;
  if (path.rfind("/confirm/", 0) == 0) {
    std::string_view token = path.substr(9);
    if (token.find('/') != std::string_view::npos) return Text(404, "not found");
    if (req.body_too_large) return Text(413, "body too large");
    return leads_.Confirm(req, token);
  }
  std::string_view list;
  ApiScope scope;
  if (path == "/api/v1/messages") {
    scope = kScopeMessages;
  } else if (path.rfind(kLists, 0) == 0 && path.size() > kLists.size() + kLeads.size() &&
             path.substr(path.size() - kLeads.size()) == kLeads) {
    list = path.substr(kLists.size(), path.size() - kLists.size() - kLeads.size());
    if (list.find('/') != std::string_view::npos) return JsonError(404, "not found");
    scope = kScopeLeads;
  } else {
    return JsonError(404, "not found");
  }
  if (req.method != "POST") {
    HttpResponse r = JsonError(405, "use POST");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  ApiKey key;
  if (std::optional<HttpResponse> denied = Authorize(store_, req, scope, &key)) return *denied;
  if (req.body_too_large) return JsonError(413, "body over [http] max_body_bytes");
  if (scope == kScopeMessages)
    return Idempotent(req, key, [&] { return messages_.Post(req, key); });
  return Idempotent(req, key, [&] { return leads_.Post(req, list); });
}

}  // namespace salvo
