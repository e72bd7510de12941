// The state of each SMTP account in this process, shared by every campaign running in it (the
// daemon runs several at once): its rate (SharedRate: together within rate_per_second), its
// count of the UTC day (DailyCap: together within daily_limit; persisted as increments in the
// progress batches, store/campaign_store.h) and its pause (store/account_store.h: persisted when
// it changes, honoured by every later run until it ends or `salvo account resume`).
//
// A [[warmup]] of the account (engine/policy/warmup.h) lowers the daily cap to the warm-up cap
// of each UTC day (LimitOn, SyncDay: the queue's delivery loop and the campaign runner both go
// through daily()), and its reply-rate guard halts the day's sending when bounces pass the
// threshold (a pause until the next UTC day, reason "warmup_reply_rate"). A [[warmup]] of a
// source IP gives that IP its own daily cap and guard (IpWarmup), shared by every account that
// binds it, counted under "ip:ADDRESS" in the daily counts; a tripped guard halts the IP for the
// rest of the UTC day.
//
// A [[throttle]]'s rate_per_second and max_connections hold for each (account, source IP,
// domain) in the whole process (DomainLimit): every campaign and the queue's delivery loop
// together stay within them; each feeder's own share and adaptive cut come on top
// (shard/runner/egress_chooser.h).
//
// Thread-safe. Checks on the send path (PausedAt, the rate, the daily cap, a domain's limits)
// take no lock; pausing and resuming do (they are rare and write the store), and so does the
// first use of a domain limit by a feeder.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/config/config.h"
#include "engine/policy/throttle.h"
#include "engine/policy/warmup.h"
#include "store/account_store.h"
#include "store/store.h"

namespace salvo {

// The warm-up of one source IP in this process (see above). Thread-safe like AccountState.
struct IpWarmup {
  std::string ip;
  WarmupConfig cfg;
  DailyCap daily;
  ReplyRateGuard guard;
  std::atomic<int64_t> limit_day{-1};
  std::atomic<int64_t> halted_day{-1};  // the guard tripped: no more on this UTC day
  int64_t loaded_day = -1;              // guarded by AccountStates::mu_

  std::string CountKey() const { return "ip:" + ip; }
  // True when the IP may take one more message on the UTC day of `now_us`.
  bool Allowed(int64_t now_us) {
    SyncDay(now_us);
    return halted_day.load(std::memory_order_acquire) != DailyCap::DayOf(now_us) &&
           daily.Allowed(now_us);
  }
  void SyncDay(int64_t now_us);
  // Messages still allowed today (UINT64_MAX: no cap any more).
  uint64_t RemainingToday(int64_t now_us);
  // A verdict on a message sent from this IP: feeds the guard; true when it tripped now (the IP
  // is halted for the rest of the UTC day; *why says why).
  bool OnVerdict(bool bounced, int64_t now_us, std::string* why);
};

// The process-wide limits of one (account, source IP, [[throttle]] domain).
struct DomainLimit {
  // Bursts of a tenth of a second's messages, plus a few: the feeders' own shares start
  // together, and their sum must not be cut by this ceiling.
  static double Burst(double rate) { return std::ceil(rate / 10) + 8; }
  SharedRate rate{0, 1};
  std::atomic<uint32_t> inflight{0};  // connections (messages in flight) to the domain
};

class AccountState {
 public:
  explicit AccountState(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  SharedRate& rate() { return rate_; }
  // The daily cap (daily_limit, lowered by a warm-up): call SyncDay(now) before asking it.
  DailyCap& daily() { return daily_; }

  // The warm-up of this account, or null. Taken when the account is first used in the process.
  const WarmupConfig* warmup() const { return warmup_ ? &*warmup_ : nullptr; }
  // Messages allowed on the UTC day of `now_us`: min(daily_limit, warm-up cap), 0 = no cap.
  uint64_t LimitOn(int64_t now_us) const;
  // Gives the daily cap the limit of the UTC day of `now_us` (lock-free when the day is the one
  // already set).
  // Without a warm-up the limit is daily_limit on every day: nothing to do.
  void SyncDay(int64_t now_us) {
    if (warmup_ && limit_day_.load(std::memory_order_acquire) != DailyCap::DayOf(now_us))
      SetDayLimit(now_us);
  }
  // Messages still allowed today (UINT64_MAX: no cap).
  uint64_t RemainingToday(int64_t now_us);
  // The warm-up of source IP number `ip` of the account (its source_ips), or null.
  IpWarmup* ip_warmup(int ip) const {
    return ip >= 0 && static_cast<size_t>(ip) < ip_warmups_.size() ? ip_warmups_[ip] : nullptr;
  }
  bool has_ip_warmups() const { return !ip_warmups_.empty(); }
  // False when the account has source IPs and every one is at its warm-up cap (or halted) today.
  bool AnyIpAllowed(int64_t now_us) const;
  // A verdict on a message of this account (only with a warm-up): feeds the reply-rate guard;
  // when it trips, the account pauses until the next UTC day. Returns the pause's store error.
  [[nodiscard]] absl::Status OnVerdict(Store* store, bool bounced, int64_t now_us);
  // A complaint about a message of this account (only with a warm-up): counted by the guard,
  // which may pause the account as OnVerdict does.
  [[nodiscard]] absl::Status OnComplaint(Store* store, int64_t now_us);

  // Paused at unix second `now` (lock-free). A pause whose end has passed is over.
  bool PausedAt(int64_t now) const {
    const int64_t until = paused_until_.load(std::memory_order_acquire);
    return until != 0 && now < until;
  }
  // Unix second the current pause ends: 0 when not paused, kManual until resumed by hand.
  int64_t paused_until() const { return paused_until_.load(std::memory_order_acquire); }
  static constexpr int64_t kManual = INT64_MAX;

  AccountRecord record() const;

  // The process-wide limits of (this account, source IP number `ip`, `domain`) under throttle
  // `t` (its rate is taken up when it changed: a config reload). The pointer stays valid for the
  // process's life. Takes a lock: feeders keep the pointer.
  DomainLimit* DomainLimitFor(int ip, std::string_view domain, const ThrottleConfig& t);

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
  void SetDayLimit(int64_t now_us);
  absl::Status PauseIfGuardTripped(Store* store, int64_t now_us);

  const std::string name_;
  SharedRate rate_{0, 1};
  DailyCap daily_;
  std::atomic<uint64_t> base_limit_{0};   // daily_limit of the config
  std::atomic<int64_t> limit_day_{-1};    // the UTC day daily_'s limit was set for
  std::optional<WarmupConfig> warmup_;    // set at creation, then read-only
  std::vector<IpWarmup*> ip_warmups_;      // per source IP (null: none); set at creation
  ReplyRateGuard guard_;
  std::atomic<int64_t> paused_until_{0};
  mutable std::mutex mu_;
  AccountRecord record_;  // guarded by mu_
  absl::node_hash_map<std::string, DomainLimit> domain_limits_;  // guarded by mu_
  int64_t loaded_day_ = -1;  // guarded by AccountStates::mu_
};

class AccountStates {
 public:
  // The registry of this process.
  static AccountStates& Process();

  // The state of `account` in the data_dir of `store`: created on first use from the store
  // (today's count, the stored pause); every call takes the account's rate and daily_limit from
  // `account` and reloads the counts when the UTC day changed since they were loaded. The
  // warm-ups of the account and of its source IPs (config.warmups; null: none) are taken when the
  // state is created, so every caller passes them: the first one decides.
  [[nodiscard]] absl::StatusOr<AccountState*> Acquire(
      Store* store, const AccountConfig& account, int64_t now_us,
      const std::vector<WarmupConfig>* warmups);
  // A complaint (feedback) about campaign `campaign_id`'s message to `address_key`: the account
  // that sent it (its progress record) counts it, if a run in this process has used it.
  [[nodiscard]] absl::Status OnComplaint(Store* store, std::string_view campaign_id,
                                         std::string_view address_key, int64_t now_us);
  // The state of `name` if a run in this process has used it (nullptr otherwise).
  AccountState* Find(const std::string& data_dir, std::string_view name);

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<AccountState>> states_;  // guarded by mu_
  std::vector<std::string> keys_;                      // data_dir '\0' name, parallel
  std::vector<std::unique_ptr<IpWarmup>> ips_;         // guarded by mu_
  std::vector<std::string> ip_keys_;                   // data_dir '\0' "ip:" address, parallel
};

}  // namespace salvo
