// Authentication of the HTTP API: `Authorization: Bearer KEY` checked against the api keys of
// the store (store/api_key_store.h: SHA-256 compared in constant time). A missing, malformed or
// unknown key is 401, a key without the endpoint's scope 403. The key is never logged or
// echoed; replies name the key only by its name.
#pragma once

#include <optional>

#include "store/api_key_store.h"
#include "store/store.h"
#include "tools/salvo/http_reply.h"

namespace salvo {

// The caller's key when it may use `scope`; else the 401 / 403 reply to send.
std::optional<HttpResponse> Authorize(Store* store, const HttpRequest& req, ApiScope scope,
                                      ApiKey* key);

}  // namespace salvo
