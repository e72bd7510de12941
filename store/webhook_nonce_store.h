// One-time webhook tokens (Mailgun's signature.token): a token is claimed once and refused after,
// until it would be stale anyway (the provider's timestamp window), so a replayed post is refused
// also across a restart. Keys in the meta family:
//   "whnonce" '\0' scope '\0' token              -> fixed64 LE expiry (unix seconds)
//   "whnonce_exp" '\0' expiry (8 bytes BE) scope '\0' token -> ""  (sweeps the stale ones)
// Trust: tokens come from requests; they are bounded by the caller and never logged.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace salvo {

class WebhookNonceStore {
 public:
  explicit WebhookNonceStore(Store* store) : store_(store) {}

  // True when `token` of `scope` (e.g. "mailgun/bulk") was not claimed before (or its claim has
  // expired at `now`): the claim is then written with `expires_at`. False: a replay; nothing
  // written. Every 256th claim also deletes claims that expired before `now`.
  [[nodiscard]] absl::StatusOr<bool> Claim(std::string_view scope, std::string_view token,
                                           int64_t now, int64_t expires_at);
  // Undoes a claim (the post it came with could not be applied: the provider's retry must pass).
  [[nodiscard]] absl::Status Release(std::string_view scope, std::string_view token);

 private:
  [[nodiscard]] absl::Status SweepExpired(int64_t now);

  Store* store_;
  std::mutex mu_;  // check-then-write of one claim
  uint64_t claims_ = 0;
};

}  // namespace salvo
