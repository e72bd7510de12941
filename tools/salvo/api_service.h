// The daemon's HTTP API in front of the feedback endpoints: routes /api/v1/... (bearer key,
// tools/salvo/api_auth.h) and /confirm/{token} (double opt-in) to the leads and inject
// handlers, and honours the Idempotency-Key header for 24 h: a request repeated with the same
// key by the same api key gets the first 202 reply again and does nothing
// (store/idempotency_store.h; concurrent repeats wait for the first).
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/links/key_ring_slot.h"
#include "store/store.h"
#include "tools/salvo/api_leads.h"
#include "tools/salvo/api_messages.h"
#include "tools/salvo/http_reply.h"
#include "tools/salvo/responders.h"

namespace salvo {

class ApiService {
 public:
  // Compiles the responder and delivery templates (errors name the section). `keys`: the
  // daemon's tracking key ring, which signs confirm tokens and the tokens of every message the
  // API queues (reloaded on SIGHUP; it outlives the service); null: config's keys.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ApiService>> Create(
      const Config& config, Store* store, const KeyRingSlot* keys = nullptr);

  // /api/... and /confirm/... are ours; everything else goes to the feedback service.
  static bool Serves(std::string_view path);
  HttpResponse Handle(const HttpRequest& req);

 private:
  ApiService(const Config& config, Store* store, std::unique_ptr<Responders> responders,
             const KeyRingSlot* keys);
  template <typename Fn>
  HttpResponse Idempotent(const HttpRequest& req, const ApiKey& key, Fn run);

  Store* store_;
  std::unique_ptr<Responders> responders_;
  LeadsApi leads_;
  MessagesApi messages_;
  std::array<std::mutex, 64> idem_mu_;  // by hash of (api key, Idempotency-Key)
};

}  // namespace salvo
