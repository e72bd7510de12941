// The state of each SMTP account in this process, shared by every campaign running in it (the
// daemon runs several at once): its rate (SharedRate: together within rate_per_second), its
// count of the UTC day (DailyCap: together within daily_limit; persisted as increments in the
// progress batches, store/campaign_store.h) and its pause (store/account_store.h: persisted when
// it changes, honoured by every later run until it ends or `salvo account resume`).
//
// Thread-safe. Checks on the send path (PausedAt, the rate, the daily cap) take no lock; pausing
// and resuming do (they are rare and write the store).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/policy/throttle.h"
#include "store/account_store.h"
#include "store/store.h"

namespace salvo {

class AccountState {
 public:
  explicit AccountState(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  SharedRate& rate() { return rate_; }
  DailyCap& daily() { return daily_; }

  // Paused at unix second `now` (lock-free). A pause whose end has passed is over.
  bool PausedAt(int64_t now) const {
    const int64_t until = paused_until_.load(std::memory_order_acquire);
    return until != 0 && now < until;
  }
  // Unix second the current pause ends: 0 when not paused, kManual until resumed by hand.
  int64_t paused_until() const { return paused_until_.load(std::memory_order_acquire); }
  static constexpr int64_t kManual = INT64_MAX;

  AccountRecord record() const;

  // Pauses the account for `reason` (account_quota, account_auth, ..., manual) because of
  // `reply`, from `now` until `until` (0: until resumed by hand); persisted before it takes
  // effect. Returns false (changing nothing) when it is already paused.
  [[nodiscard]] absl::StatusOr<bool> Pause(Store* store, std::string_view reason,
                                           std::string_view reply, int64_t now, int64_t until);
  // Ends a pause (by hand: `why` says so, e.g. "resumed by operator").
  [[nodiscard]] absl::Status Resume(Store* store, std::string_view why, int64_t now);

 private:
  friend class AccountStates;
  void SetGauge(const std::string& reason, double v) const;

  const std::string name_;
  SharedRate rate_{0, 1};
  DailyCap daily_;
  std::atomic<int64_t> paused_until_{0};
  mutable std::mutex mu_;
  AccountRecord record_;  // guarded by mu_
  int64_t loaded_day_ = -1;  // guarded by AccountStates::mu_
};

class AccountStates {
 public:
  // The registry of this process.
  static AccountStates& Process();

  // The state of `account` in the data_dir of `store`: created on first use from the store
  // (today's count, the stored pause); every call takes the account's rate and daily_limit from
  // `account` and reloads the count when the UTC day changed since it was loaded.
  [[nodiscard]] absl::StatusOr<AccountState*> Acquire(Store* store, const AccountConfig& account,
                                                      int64_t now_us);
  // The state of `name` if a run in this process has used it (nullptr otherwise).
  AccountState* Find(const std::string& data_dir, std::string_view name);

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<AccountState>> states_;  // guarded by mu_
  std::vector<std::string> keys_;                      // data_dir '\0' name, parallel
};

}  // namespace salvo
