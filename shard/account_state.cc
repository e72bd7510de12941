// Process-wide account state (see account_state.h).
#include "shard/account_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/metrics/salvo_metrics.h"
#include "store/campaign_store.h"

namespace salvo {

AccountRecord AccountState::record() const {
  std::lock_guard<std::mutex> l(mu_);
  return record_;
}

void AccountState::SetGauge(const std::string& reason, double v) const {
  if (reason.empty()) return;
  metrics::Metrics().accounts_paused->WithLabels({name_, reason}).Set(v);
}

absl::StatusOr<bool> AccountState::Pause(Store* store, std::string_view reason,
                                         std::string_view reply, int64_t now, int64_t until) {
  std::lock_guard<std::mutex> l(mu_);
  if (PausedAt(now)) return false;
  AccountRecord r;
  r.paused = true;
  r.reason = std::string(reason);
  r.reply = SanitizeForLog(reply, 512);
  r.changed_at = now;
  r.until = until;
  absl::Status st = AccountStore(store).Put(name_, r);
  if (!st.ok()) return st;
  SetGauge(record_.reason, 0);
  record_ = std::move(r);
  paused_until_.store(until == 0 ? kManual : until, std::memory_order_release);
  SetGauge(record_.reason, 1);
  return true;
}

absl::Status AccountState::Resume(Store* store, std::string_view why, int64_t now) {
  std::lock_guard<std::mutex> l(mu_);
  AccountRecord r = record_;
  r.paused = false;
  r.reply = std::string(why);
  r.changed_at = now;
  r.until = 0;
  absl::Status st = AccountStore(store).Put(name_, r);
  if (!st.ok()) return st;
  SetGauge(record_.reason, 0);
  record_ = std::move(r);
  paused_until_.store(0, std::memory_order_release);
  return absl::OkStatus();
}

AccountStates& AccountStates::Process() {
  static AccountStates* states = new AccountStates();
  return *states;
}

AccountState* AccountStates::Find(const std::string& data_dir, std::string_view name) {
  const std::string key = absl::StrCat(data_dir, std::string(1, '\0'), Av(name));
  std::lock_guard<std::mutex> l(mu_);
  auto it = std::find(keys_.begin(), keys_.end(), key);
  return it == keys_.end() ? nullptr : states_[it - keys_.begin()].get();
}

absl::StatusOr<AccountState*> AccountStates::Acquire(Store* store, const AccountConfig& account,
                                                     int64_t now_us) {
  const std::string key = absl::StrCat(store->data_dir(), std::string(1, '\0'), account.name);
  std::lock_guard<std::mutex> l(mu_);
  AccountState* s = nullptr;
  if (auto it = std::find(keys_.begin(), keys_.end(), key); it != keys_.end()) {
    s = states_[it - keys_.begin()].get();
  } else {
    auto created = std::make_unique<AccountState>(account.name);
    auto rec = AccountStore(store).Get(account.name);
    if (!rec.ok()) return rec.status();
    if (*rec) {
      std::lock_guard<std::mutex> rl(created->mu_);
      created->record_ = **rec;
      if ((*rec)->PausedAt(now_us / 1000000)) {
        created->paused_until_.store((*rec)->until == 0 ? AccountState::kManual : (*rec)->until);
        created->SetGauge((*rec)->reason, 1);
      }
    }
    s = created.get();
    states_.push_back(std::move(created));
    keys_.push_back(key);
  }
  s->rate_.Set(account.rate_per_second, std::max(1.0, account.rate_per_second / 10));
  s->daily_.SetLimit(account.daily_limit);
  const int64_t today = DailyCap::DayOf(now_us);
  if (s->loaded_day_ != today) {
    auto n = CampaignStore(store).GetDailyCount(account.name,
                                                CampaignStore::UtcDay(now_us / 1000000));
    if (!n.ok()) return n.status();
    s->daily_.Load(today, *n);
    s->loaded_day_ = today;
  }
  return s;
}

}  // namespace salvo
