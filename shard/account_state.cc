// Process-wide account state (see account_state.h).
#include "shard/account_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/base/shard.h"
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

uint64_t AccountState::LimitOn(int64_t now_us) const {
  uint64_t limit = base_limit_.load(std::memory_order_relaxed);
  if (warmup_) {
    if (std::optional<uint64_t> cap = WarmupCapOnDay(*warmup_, DailyCap::DayOf(now_us)))
      limit = limit == 0 ? *cap : std::min(limit, *cap);
  }
  return limit;
}

void AccountState::SetDayLimit(int64_t now_us) {
  daily_.SetLimit(LimitOn(now_us));
  limit_day_.store(DailyCap::DayOf(now_us), std::memory_order_release);
}

uint64_t AccountState::RemainingToday(int64_t now_us) {
  SyncDay(now_us);
  const uint64_t limit = daily_.limit();
  if (limit == 0) return UINT64_MAX;
  const uint64_t used = daily_.used(now_us);
  return used >= limit ? 0 : limit - used;
}

absl::Status AccountState::OnVerdict(Store* store, bool bounced, int64_t now_us) {
  if (!warmup_) return absl::OkStatus();
  guard_.OnSent(now_us);
  if (bounced) guard_.OnBounce(now_us);
  return PauseIfGuardTripped(store, now_us);
}

absl::Status AccountState::OnComplaint(Store* store, int64_t now_us) {
  if (!warmup_) return absl::OkStatus();
  guard_.OnComplaint(now_us);
  return PauseIfGuardTripped(store, now_us);
}

absl::Status AccountState::PauseIfGuardTripped(Store* store, int64_t now_us) {
  std::string why;
  if (!guard_.Tripped(now_us, *warmup_, &why)) return absl::OkStatus();
  const int64_t next_day = (DailyCap::DayOf(now_us) + 1) * 86400;
  absl::StatusOr<bool> changed =
      Pause(store, "warmup_reply_rate", why, now_us / 1'000'000, next_day);
  return changed.status();
}

absl::Status AccountStates::OnComplaint(Store* store, std::string_view campaign_id,
                                        std::string_view address_key, int64_t now_us) {
  if (campaign_id.empty() || address_key.empty()) return absl::OkStatus();
  std::vector<std::optional<ProgressRecord>> p;
  const std::vector<uint32_t> shards = {ShardOf(address_key)};
  const std::vector<std::string_view> keys = {address_key};
  if (absl::Status st = CampaignStore(store).GetProgress(campaign_id, shards, keys, &p); !st.ok())
    return st;
  if (p.empty() || !p[0] || p[0]->account.empty()) return absl::OkStatus();
  AccountState* s = Find(store->data_dir(), p[0]->account);
  return s ? s->OnComplaint(store, now_us) : absl::OkStatus();
}

void IpWarmup::SyncDay(int64_t now_us) {
  const int64_t day = DailyCap::DayOf(now_us);
  if (limit_day.load(std::memory_order_acquire) == day) return;
  daily.SetLimit(WarmupCapOnDay(cfg, day).value_or(0));
  limit_day.store(day, std::memory_order_release);
}

uint64_t IpWarmup::RemainingToday(int64_t now_us) {
  if (!Allowed(now_us)) return 0;
  const uint64_t limit = daily.limit();
  if (limit == 0) return UINT64_MAX;
  const uint64_t used = daily.used(now_us);
  return used >= limit ? 0 : limit - used;
}

bool IpWarmup::OnVerdict(bool bounced, int64_t now_us, std::string* why) {
  guard.OnSent(now_us);
  if (bounced) guard.OnBounce(now_us);
  if (!guard.Tripped(now_us, cfg, why)) return false;
  const int64_t day = DailyCap::DayOf(now_us);
  return halted_day.exchange(day, std::memory_order_acq_rel) != day;
}

DomainLimit* AccountState::DomainLimitFor(int ip, std::string_view domain,
                                          const ThrottleConfig& t) {
  std::lock_guard<std::mutex> l(mu_);
  DomainLimit& d = domain_limits_[absl::StrCat(ip, "|", Av(domain))];
  if (d.rate.rate() != t.rate_per_second)
    d.rate.Set(t.rate_per_second, DomainLimit::Burst(t.rate_per_second));
  return &d;
}

bool AccountState::AnyIpAllowed(int64_t now_us) const {
  if (ip_warmups_.empty()) return true;
  for (IpWarmup* w : ip_warmups_)
    if (w == nullptr || w->Allowed(now_us)) return true;
  return false;
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
                                                     int64_t now_us,
                                                     const std::vector<WarmupConfig>* warmups) {
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
    for (size_t i = 0; warmups && i < warmups->size(); ++i)
      if ((*warmups)[i].account == account.name) created->warmup_ = (*warmups)[i];
    for (const std::string& ip : account.source_ips) {
      created->ip_warmups_.push_back(nullptr);
      for (size_t i = 0; warmups && i < warmups->size(); ++i) {
        if ((*warmups)[i].source_ip != ip) continue;
        const std::string ip_key = absl::StrCat(store->data_dir(), std::string(1, '\0'), "ip:", ip);
        auto it = std::find(ip_keys_.begin(), ip_keys_.end(), ip_key);
        if (it == ip_keys_.end()) {
          auto w = std::make_unique<IpWarmup>();
          w->ip = ip;
          w->cfg = (*warmups)[i];
          ips_.push_back(std::move(w));
          ip_keys_.push_back(ip_key);
          it = ip_keys_.end() - 1;
        }
        created->ip_warmups_.back() = ips_[it - ip_keys_.begin()].get();
      }
    }
    bool any_ip = false;
    for (IpWarmup* w : created->ip_warmups_) any_ip = any_ip || w != nullptr;
    if (!any_ip) created->ip_warmups_.clear();
    s = created.get();
    states_.push_back(std::move(created));
    keys_.push_back(key);
  }
  s->rate_.Set(account.rate_per_second, std::max(1.0, account.rate_per_second / 10));
  s->base_limit_.store(account.daily_limit, std::memory_order_relaxed);
  s->SetDayLimit(now_us);
  const int64_t today = DailyCap::DayOf(now_us);
  if (s->loaded_day_ != today) {
    auto n = CampaignStore(store).GetDailyCount(account.name,
                                                CampaignStore::UtcDay(now_us / 1000000));
    if (!n.ok()) return n.status();
    s->daily_.Load(today, *n);
    s->loaded_day_ = today;
  }
  for (IpWarmup* w : s->ip_warmups_) {
    if (w == nullptr || w->loaded_day == today) continue;
    auto n = CampaignStore(store).GetDailyCount(w->CountKey(),
                                                CampaignStore::UtcDay(now_us / 1000000));
    if (!n.ok()) return n.status();
    w->daily.Load(today, *n);
    w->loaded_day = today;
  }
  return s;
}

}  // namespace salvo
