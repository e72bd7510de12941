// POST /api/v1/messages (scope `messages`): the inject API (engine/api/inject_request.h).
// Structured content is compiled like a campaign template (tools/salvo/queue_render.h: the
// recipient's substitutions fill {{...}}; tracked links and open pixel with "track": true;
// one-click unsubscribe always) and rendered per recipient; raw content is queued as given with
// its line ends made CRLF. Suppressed and invalid recipients are reported in failed_recipients
// and not queued; the others are queued durably (QueueStore::Enqueue, origin "api-key:NAME")
// before the reply:
//   202 {"success_count":N,"fail_count":M,"failed_recipients":[...],"errors":[...],"ids":[...]}
// A key created with --route sends only through that route (another route in the request is
// 403); else the request names a route that salvo.toml defines. A malformed body is 400 naming
// the field. Trust: the body is hostile; sizes are bounded by [http] max_body_bytes and the
// parser's limits.
#pragma once

#include "engine/config/config.h"
#include "engine/links/key_ring_slot.h"
#include "store/api_key_store.h"
#include "store/store.h"
#include "tools/salvo/http_reply.h"

namespace salvo {

class MessagesApi {
 public:
  // `keys`: the daemon's tracking key ring for structured content's tokens (null: config's key).
  MessagesApi(const Config& config, Store* store, const KeyRingSlot* keys = nullptr)
      : config_(config), store_(store), keys_(keys) {}

  HttpResponse Post(const HttpRequest& req, const ApiKey& key);

 private:
  const Config& config_;
  Store* store_;
  const KeyRingSlot* keys_;
};

}  // namespace salvo
