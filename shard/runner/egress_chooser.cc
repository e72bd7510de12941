#include "shard/runner/egress_chooser.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/address.h"
#include "engine/base/strings.h"
#include "shard/account_state.h"

namespace salvo {

EgressChooser::EgressChooser(RunState* s) : s_(s) {
  std::vector<uint32_t> weights;
  std::vector<size_t> ips;
  for (const auto& a : s_->accounts) {
    weights.push_back(a->weight);
    ips.push_back(a->cfg->source_ips.size());
  }
  picker_ = std::make_unique<EgressPicker>(weights, ips);
}

std::string EgressChooser::DomKey(size_t account, int ip, std::string_view domain) {
  return absl::StrCat(account, "|", ip, "|", Av(domain));
}

uint32_t EgressChooser::InFlight(const std::string& dom_key) const {
  auto it = dom_inflight_.find(dom_key);
  return it == dom_inflight_.end() ? 0 : it->second;
}

absl::flat_hash_map<std::string, AdaptiveRate>::iterator EgressChooser::CreateDomRate(
    const std::string& key, int throttle) {
  double base = 0;
  if (throttle >= 0 && s_->config->throttles[throttle].rate_per_second > 0)
    base = s_->config->throttles[throttle].rate_per_second / s_->workers;
  return dom_rate_.emplace(key, AdaptiveRate(base)).first;
}

DomainLimit* EgressChooser::Shared(const std::string& key, size_t account, int ip,
                                   std::string_view domain, int throttle) {
  auto [it, fresh] = shared_.try_emplace(key, nullptr);
  if (fresh)
    it->second = s_->accounts[account]->state->DomainLimitFor(ip, domain,
                                                             s_->config->throttles[throttle]);
  return it->second;
}

bool EgressChooser::Pick(RunItem* item, int64_t now, int64_t* retry_at) {
  const std::string_view domain = DomainOf(item->r.key);
  const int throttle = s_->domains.Find(domain);
  int64_t next = now + 1'000'000;
  // The rate limiter that gave `next` (empty: none, nothing to space) and its rate.
  std::string next_key;
  double next_rate = 0;
  auto wait_for_rate = [&](int64_t t, std::string_view key, double rate) {
    if (t >= next) return;
    next = t;
    next_key.assign(key);
    next_rate = rate;
  };
  bool any_usable = false;
  const int64_t now_s = now / 1'000'000;
  auto account_ok = [&](size_t a) {
    AccountState& st = *s_->accounts[a]->state;
    if (st.PausedAt(now_s)) {
      // A pause that ends soon (a rate limit) is waited for; a longer one leaves the account
      // out, and the campaign pauses when no account is left.
      const int64_t until = st.paused_until();
      if (until != AccountState::kManual && until - now_s <= kWaitForPauseS) {
        any_usable = true;
        next = std::min(next, until * 1'000'000);
      }
      return false;
    }
    st.SyncDay(now);
    if (!st.daily().Allowed(now) || !st.AnyIpAllowed(now)) return false;
    any_usable = true;
    const int64_t t = st.rate().NextAvailable(now);
    if (t > now) {
      wait_for_rate(t, AccountKey(a), st.rate().rate());
      return false;
    }
    return true;
  };
  auto ip_ok = [&](size_t a, int ip) {
    if (IpWarmup* w = s_->accounts[a]->state->ip_warmup(ip); w && !w->Allowed(now)) return false;
    if (throttle < 0 && dom_rate_.empty()) return true;
    const std::string key = DomKey(a, ip, domain);
    auto it = dom_rate_.find(key);
    if (it == dom_rate_.end() && throttle >= 0) it = CreateDomRate(key, throttle);
    if (it != dom_rate_.end()) {
      const int64_t t = it->second.NextAvailable(now);
      if (t > now) {
        wait_for_rate(t, key, it->second.current_rate());
        return false;
      }
    }
    if (throttle >= 0) {
      const ThrottleConfig& t = s_->config->throttles[throttle];
      const uint32_t cap = t.max_connections;
      if (cap > 0 && InFlight(key) >= std::max<uint32_t>(1, cap / s_->workers)) {
        next = std::min(next, now + 5'000);
        return false;
      }
      // The process-wide ceiling: other campaigns and the queue send to the pair too.
      if (cap > 0 || t.rate_per_second > 0) {
        DomainLimit* shared = Shared(key, a, ip, domain, throttle);
        if (cap > 0 && shared->inflight.load(std::memory_order_relaxed) >= cap) {
          next = std::min(next, now + 5'000);
          return false;
        }
        if (const int64_t at = shared->rate.NextAvailable(now); at > now) {
          wait_for_rate(at, absl::StrCat(key, "|process"), t.rate_per_second);
          return false;
        }
      }
    }
    return true;
  };
  const Egress e = picker_->Next(account_ok, ip_ok);
  if (e.account < 0) {
    *retry_at = any_usable ? Spaced(next, next_key, next_rate) : -1;
    return false;
  }
  std::string key;  // the pair's limiter key, when a domain limiter may apply
  {
    // Reserve one of the account's daily messages and a slot of its rate; every campaign of
    // the process races for the last ones.
    RunAccount& chosen = *s_->accounts[e.account];
    AccountState& st = *chosen.state;
    if (!st.daily().TryReserve(now, &item->daily_day)) {
      chosen.DailyLimitGauge(1);
      *retry_at = now + 1000;  // pick again: the account is now skipped
      return false;
    }
    IpWarmup* ipw = st.ip_warmup(e.ip);
    item->ip_daily_day = -1;
    if (ipw && !ipw->daily.TryReserve(now, &item->ip_daily_day)) {
      st.daily().Release(item->daily_day);
      item->ip_daily_day = -1;
      *retry_at = now + 1000;  // pick again: the IP is now skipped
      return false;
    }
    // The pair's process-wide connection and rate, which other feeders race for.
    DomainLimit* shared = nullptr;  // holding one of its connections
    if (throttle >= 0 || !dom_rate_.empty()) key = DomKey(e.account, e.ip, domain);
    if (throttle >= 0) {
      const ThrottleConfig& t = s_->config->throttles[throttle];
      DomainLimit* limit = t.max_connections > 0 || t.rate_per_second > 0
                               ? Shared(key, e.account, e.ip, domain, throttle)
                               : nullptr;
      if (limit && t.max_connections > 0) {
        if (limit->inflight.fetch_add(1, std::memory_order_acq_rel) >= t.max_connections) {
          limit->inflight.fetch_sub(1, std::memory_order_acq_rel);
          Release(e.account, e.ip, item);
          *retry_at = now + 5'000;
          return false;
        }
        shared = limit;
      }
      if (const int64_t at = limit && t.rate_per_second > 0 ? limit->rate.TryTake(now) : 0;
          at != 0) {
        if (shared) shared->inflight.fetch_sub(1, std::memory_order_acq_rel);
        Release(e.account, e.ip, item);
        *retry_at = Spaced(at, absl::StrCat(key, "|process"), t.rate_per_second);
        return false;
      }
    }
    if (const int64_t t = st.rate().TryTake(now); t != 0) {
      if (shared) shared->inflight.fetch_sub(1, std::memory_order_acq_rel);
      Release(e.account, e.ip, item);
      *retry_at = Spaced(t, AccountKey(e.account), st.rate().rate());
      return false;
    }
    if (!st.daily().Allowed(now)) chosen.DailyLimitGauge(1);
    item->domain_limit = shared;
  }
  item->acct = e.account;
  item->ip = e.ip;
  item->dom_key.clear();
  item->counted_at = -1;
  if (throttle >= 0 || !dom_rate_.empty()) {
    auto it = dom_rate_.find(key);
    if (it != dom_rate_.end()) {
      it->second.TryAcquire(now);
      it->second.OnSend(now);
      item->counted_at = now;
    }
    if (throttle >= 0 || it != dom_rate_.end()) {
      dom_inflight_[key]++;
      item->dom_key = std::move(key);
    }
  }
  s_->accounts[e.account]->attempts++;
  return true;
}

std::string EgressChooser::AccountKey(size_t account) { return absl::StrCat("account|", account); }

int64_t EgressChooser::Spaced(int64_t t, const std::string& key, double rate) {
  const int64_t interval = rate > 0 ? static_cast<int64_t>(1e6 / rate) : 0;
  if (key.empty() || interval <= 0) return t;
  auto [it, fresh] = promised_.try_emplace(key, t);
  if (!fresh) it->second = std::max(t, it->second + interval);
  return it->second;
}

void EgressChooser::Release(int account, int ip, RunItem* item) {
  AccountState& st = *s_->accounts[account]->state;
  st.daily().Release(item->daily_day);
  if (IpWarmup* w = st.ip_warmup(ip); w && item->ip_daily_day >= 0)
    w->daily.Release(item->ip_daily_day);
  item->ip_daily_day = -1;
}

void EgressChooser::Done(const RunItem& item, int64_t replied_at) {
  if (item.domain_limit != nullptr)
    item.domain_limit->inflight.fetch_sub(1, std::memory_order_acq_rel);
  if (item.dom_key.empty()) return;
  if (replied_at >= 0 && item.counted_at >= 0)
    if (auto r = dom_rate_.find(item.dom_key); r != dom_rate_.end())
      r->second.OnReply(replied_at, item.counted_at);
  auto c = dom_inflight_.find(item.dom_key);
  if (c != dom_inflight_.end() && --c->second == 0) dom_inflight_.erase(c);
}

AdaptiveRate& EgressChooser::Throttled(const RunItem& item, int64_t now) {
  const std::string_view domain = DomainOf(item.r.key);
  const std::string key = DomKey(item.acct, item.ip, domain);
  auto it = dom_rate_.find(key);
  // A pair without a limiter starts one: its sends are measured from now on, and only replies
  // to those can cut its rate (item.counted_at is -1 for this one).
  if (it == dom_rate_.end()) it = CreateDomRate(key, s_->domains.Find(domain));
  it->second.OnThrottle(now, item.counted_at);
  return it->second;
}

}  // namespace salvo
