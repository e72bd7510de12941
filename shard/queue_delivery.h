// The delivery loop of `salvo serve` for the durable queue (store/queue_store.h): whoever
// enqueued an entry (salvo inject, the HTTP API, SMTP submission, responders), this loop takes
// it when due and sends it through the accounts of its route, on the SMTP workers and account
// limits the process's campaigns use (shard/shared_workers.h, shard/account_state.h): same
// weights, throttles, rates, daily limits and pauses (shard/runner/egress_chooser.h), and every
// reply decided by engine/policy/outcome.h Decide():
//
//   2xx                 -> delivered
//   hard 5xx            -> bounced, the address into global suppression (hard_bounce, smtp)
//   other 5xx           -> failed
//   4xx, connection     -> deferred, next attempt after the [sending] backoff; expired once
//                          retry_for (from the first attempt) is over
//   throttling reply    -> deferred until the account x domain rate allows
//   account reply / 535 -> the ACCOUNT pauses; the entry is released (no attempt counted) and
//                          goes out on another account of the route or when it resumes
//   suppressed address  -> suppressed, never sent (checked just before sending)
//   no account now      -> waits in memory up to 2 s (rate, throttle), else released to the
//                          store, due when an account is usable, or in a minute
//
// Each sent entry carries "X-Salvo-ID: <entry id>", DKIM signatures of the From domain's
// [[dkim]] keys, and with [tracking] bounce_domain the broadcasts' VERP envelope sender
// (bounces+TAG@bounce_domain, TAG naming campaign = entry id and the recipient).
//
// State lives in the store: at start in_flight entries are queued again (RecoverInFlight: the
// attempt was cut by a crash), retries survive restarts. A background sweep deletes entries
// final for longer than [queue] keep. One thread; the SMTP workers are acquired while there is
// work and let go after a quiet minute.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config/config.h"
#include "engine/links/key_ring_slot.h"
#include "store/store.h"

namespace salvo {

struct QueueDeliveryOptions {
  // How often due entries are looked for without a wake-up (deferrals coming due, entries
  // released for later); an enqueue of mail due now wakes the loop at once.
  absl::Duration poll = absl::Milliseconds(100);
  absl::Duration sweep_every = absl::Minutes(1);
  absl::Duration idle_release = absl::Minutes(1);  // SMTP workers let go after this long idle
  // Log lines (store errors the loop goes on after); called from the loop's thread.
  std::function<void(std::string_view)> log;
  // The daemon's tracking key ring, reloaded on SIGHUP (it outlives the loop): VERP tags are
  // signed with its current key at send time. Null: a ring of config's [tracking] keys, fixed.
  const KeyRingSlot* keys = nullptr;
};

class QueueDelivery {
 public:
  // Loads the [[dkim]] keys (errors name the file), recovers in_flight entries and starts the
  // loop's thread. `config` and `store` must outlive the loop.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<QueueDelivery>> Start(
      const Config& config, Store* store, QueueDeliveryOptions options = {});
  ~QueueDelivery();  // Stop()

  // Takes nothing more; waits for the verdicts of what is on the wire (recorded), then lets the
  // SMTP workers go. Idempotent.
  void Stop();

  // Due entries are looked for now rather than at the next poll. Every Enqueue of mail due now
  // on the loop's Store calls it (QueueStore::SetEnqueueListener); commands call it after
  // operator actions.
  void Wake();

  struct Impl;

 private:
  explicit QueueDelivery(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace salvo
