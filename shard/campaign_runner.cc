// Campaign runner (see campaign_runner.h): feeders, report handling, monitor and control.
#include "shard/campaign_runner.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>
#include <unistd.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "engine/base/address.h"
#include "engine/base/json.h"
#include "engine/base/shard.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/base/thread_cpu.h"
#include "engine/metrics/salvo_metrics.h"
#include "engine/policy/outcome.h"
#include "engine/policy/provider_replies.h"
#include "engine/policy/reply_class.h"
#include "engine/policy/routing.h"
#include "engine/policy/segment.h"
#include "engine/policy/throttle.h"
#include "shard/account_state.h"
#include "shard/ring_worker.h"
#include "shard/runner/render_board.h"
#include "shard/sender.h"
#include "shard/shared_workers.h"
#include "store/campaign_store.h"
#include "store/recipient_store.h"
#include "store/run_control.h"
#include "store/suppression_store.h"

namespace salvo {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "until 2026-12-05T00:00:00Z" or "until resumed" for a pause's end (unix seconds, 0 = by hand).
std::string PauseEndText(int64_t until) {
  if (until == 0) return "until resumed";
  return absl::StrCat("until ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(until),
                                                absl::UTCTimeZone()));
}

constexpr int kOutcomes = 8;

// State shared by all feeders of one run.
struct Shared {
  const Config* config;
  const CampaignConfig* campaign;
  const RouteConfig* route;
  std::shared_ptr<const CompiledCampaign> compiled;
  Store* store;
  CampaignStore* cstore;
  RecipientStore* rstore;
  SuppressionStore* sstore;
  Segment segment;
  DomainThrottles domains{{}};
  bool dry_run = false;
  uint32_t workers = 1;
  RenderBoard render;

  struct Account {
    const AccountConfig* cfg;
    uint32_t weight;
    // Rate, daily count and pause, shared with every campaign of this process
    // (shard/account_state.h).
    AccountState* state;
    std::atomic<uint64_t> attempts{0};
  };
  std::vector<std::unique_ptr<Account>> accounts;

  // The daily daily_limit gauge of an account (1 while it is at its limit).
  static void DailyLimitGauge(const Account& a, double v) {
    metrics::Metrics().accounts_paused->WithLabels({a.cfg->name, "daily_limit"}).Set(v);
  }

  std::atomic<int64_t> count[kOutcomes] = {};
  std::atomic<int64_t> deferred_final{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> would_send{0};
  std::atomic<int64_t> verdicts{0};
  std::atomic<int64_t> throttle_events{0};

  // 0 running, 1 pause, 2 cancel.
  std::atomic<int> stop{0};
  std::mutex mu;
  std::string stop_reason;
  absl::flat_hash_map<std::string, ThrottleInfo> throttles;
  std::string fatal;  // a store error in a feeder

  void RequestStop(int kind, std::string reason) {
    std::lock_guard<std::mutex> l(mu);
    if (stop.load() >= kind) return;
    stop = kind;
    stop_reason = std::move(reason);
  }
  void Fatal(const absl::Status& st) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (fatal.empty()) fatal = std::string(st.message());
    }
    RequestStop(1, absl::StrCat("error: ", st.message()));
  }
  void Change(const std::optional<ProgressRecord>& old, Outcome now, bool final_deferred) {
    if (old && old->outcome != Outcome::kPending) {
      count[static_cast<int>(old->outcome)]--;
      if (old->outcome == Outcome::kDeferred && old->final) deferred_final--;
    }
    if (now != Outcome::kPending) count[static_cast<int>(now)]++;
    if (now == Outcome::kDeferred && final_deferred) deferred_final++;
  }
};

class Feeder {
 public:
  Feeder(Shared* s, uint32_t index, Worker* worker) : s_(s), index_(index), worker_(worker) {
    for (uint32_t sh = 0; sh < kVirtualShards; ++sh)
      if (WorkerOfShard(sh, s_->workers) == index_) shards_.push_back(sh);
    std::vector<uint32_t> weights;
    std::vector<size_t> ips;
    size_t window = 0;
    for (const auto& a : s_->accounts) {
      weights.push_back(a->weight);
      ips.push_back(a->cfg->source_ips.size());
      window += static_cast<size_t>(a->cfg->max_connections) *
                std::max<size_t>(1, a->cfg->source_ips.size()) * 3;
    }
    picker_ = std::make_unique<EgressPicker>(weights, ips);
    window_ = std::clamp<size_t>(window, 32, 4096);
    rng_.seed(static_cast<uint32_t>(NowUs()) + index_);
  }

  void Run() {
    while (true) {
      DrainReports();
      if (!FlushWrites()) break;
      const int stop = s_->stop.load();
      if (stop != 0) {
        if (inflight_.empty()) break;
        WaitReports(50'000);
        continue;
      }
      const int64_t now = NowUs();
      std::vector<std::unique_ptr<Item>> batch;
      size_t budget = window_ > inflight_.size() ? window_ - inflight_.size() : 0;
      // Due delayed items first, then new members.
      while (budget > batch.size() && !heap_.empty() && heap_.front()->due <= now) {
        std::pop_heap(heap_.begin(), heap_.end(), Later);
        batch.push_back(std::move(heap_.back()));
        heap_.pop_back();
      }
      if (!Reload(&batch)) break;
      if (budget > batch.size() && !scan_done_ && heap_.size() < kMaxHeap) {
        if (!Scan(budget - batch.size(), &batch)) break;
      }
      if (!batch.empty()) {
        if (!Dispatch(std::move(batch))) break;
        continue;
      }
      if (scan_done_ && heap_.empty() && inflight_.empty()) break;
      // Nothing to do now: wait for a report or the next due item.
      int64_t wait = 100'000;
      if (!heap_.empty()) wait = std::clamp<int64_t>(heap_.front()->due - now, 1000, 100'000);
      if (budget == 0 || !heap_.empty() || scan_done_) WaitReports(wait);
    }
    DrainReports();
    FlushWrites();
    done_ = true;
  }

  bool scan_done() const { return scan_done_; }

 private:
  struct Item {
    Recipient r;
    std::optional<ProgressRecord> prog;  // as stored
    int64_t due = 0;
    int acct = -1, ip = -1;
    int64_t daily_day = 0;  // the UTC day its account's daily count was reserved on
    std::string dom_key;  // account '|' ip '|' domain when a domain limiter applies
    bool slim = false;    // waiting in heap_: r keeps only key and shard (Reload when due)
  };
  static bool Later(const std::unique_ptr<Item>& a, const std::unique_ptr<Item>& b) {
    return a->due > b->due;
  }
  static constexpr size_t kMaxHeap = 100'000;
  // An account paused for at most this long (a rate limit) is waited for rather than counted out.
  static constexpr int64_t kWaitForPauseS = 15 * 60;
  // An item waiting longer than this (retry backoff, throttled domain) gives up its recipient
  // data (address, consent, fields) until it is due: ~300 of the ~850 bytes each of the up to
  // kMaxHeap waiting items of a deferral wave cost (measured with 5 fields per recipient).
  static constexpr int64_t kSlimAfterUs = 2'000'000;

  // Reads the next members of this feeder's shards; appends the ones to try now to *batch.
  bool Scan(size_t want, std::vector<std::unique_ptr<Item>>* batch) {
    size_t limit = std::clamp<size_t>(want, 64, s_->config->sending.batch_size);
    std::vector<Recipient> rs;
    while (rs.empty()) {
      if (shard_pos_ >= shards_.size()) {
        scan_done_ = true;
        return true;
      }
      absl::Status st = s_->rstore->ScanListShard(s_->campaign->list, shards_[shard_pos_],
                                                  after_key_, limit, &rs);
      if (!st.ok()) {
        s_->Fatal(st);
        return false;
      }
      if (rs.size() < limit) {
        ++shard_pos_;
        after_key_.clear();
      } else {
        after_key_ = rs.back().key;
      }
    }
    std::vector<uint32_t> shards;
    std::vector<std::string_view> keys;
    for (const auto& r : rs) {
      shards.push_back(r.shard);
      keys.push_back(r.key);
    }
    std::vector<std::optional<ProgressRecord>> progress;
    absl::Status st = s_->cstore->GetProgress(s_->campaign->id, shards, keys, &progress);
    if (!st.ok()) {
      s_->Fatal(st);
      return false;
    }
    const int64_t now = NowUs();
    for (size_t i = 0; i < rs.size(); ++i) {
      auto& p = progress[i];
      if (p && p->final) continue;  // decided in an earlier run
      auto item = std::make_unique<Item>();
      item->r = std::move(rs[i]);
      item->prog = std::move(p);
      if (!item->prog || item->prog->outcome == Outcome::kPending) {
        // First look at this recipient: segment, then consent.
        if (!s_->segment.Matches(item->r)) {
          Record(item.get(), Outcome::kOutsideSegment, true, "");
          continue;
        }
        if (!item->r.HasConsent()) {
          Record(item.get(), Outcome::kNoConsent, true, "no opt-in record");
          continue;
        }
      }
      if (item->prog && item->prog->outcome == Outcome::kDeferred && item->prog->next_retry_us > now &&
          !item->prog->in_flight) {
        item->due = item->prog->next_retry_us;
        PushHeap(std::move(item));
        continue;
      }
      batch->push_back(std::move(item));
    }
    return true;
  }

  void PushHeap(std::unique_ptr<Item> item) {
    if (!item->slim && item->due - NowUs() > kSlimAfterUs) {
      Recipient kept;
      kept.key = std::move(item->r.key);
      kept.shard = item->r.shard;
      item->r = std::move(kept);
      item->dom_key = std::string();
      item->slim = true;
    }
    heap_.push_back(std::move(item));
    std::push_heap(heap_.begin(), heap_.end(), Later);
  }

  // Reads back the recipient data of the slim items of *batch. A recipient whose record was
  // removed meanwhile is recorded as failed and leaves the batch.
  bool Reload(std::vector<std::unique_ptr<Item>>* batch) {
    size_t kept = 0;
    for (size_t i = 0; i < batch->size(); ++i) {
      std::unique_ptr<Item>& item = (*batch)[i];
      if (item->slim) {
        auto r = s_->rstore->Get(item->r.key);
        if (!r.ok()) {
          s_->Fatal(r.status());
          return false;
        }
        if (!r->has_value()) {
          Record(item.get(), Outcome::kFailed, true, "recipient record removed during the send");
          continue;
        }
        const uint32_t shard = item->r.shard;
        item->r = std::move(**r);
        item->r.shard = shard;
        item->slim = false;
      }
      if (kept != i) (*batch)[kept] = std::move(item);
      ++kept;
    }
    batch->resize(kept);
    return true;
  }

  // Suppression check at send time, pick egress, render, mark, submit.
  bool Dispatch(std::vector<std::unique_ptr<Item>> batch) {
    std::vector<std::string_view> keys;
    for (const auto& it : batch) keys.push_back(it->r.key);
    std::vector<bool> suppressed;
    absl::Status st = s_->sstore->CheckBatch(keys, &suppressed);
    if (!st.ok()) {
      s_->Fatal(st);
      return false;
    }
    struct Ready {
      std::unique_ptr<Item> item;
      std::shared_ptr<RenderedMessage> msg;
    };
    std::vector<Ready> ready;
    std::vector<CampaignStore::Write> markers;
    const int64_t now = NowUs();
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& item = batch[i];
      if (suppressed[i]) {
        Record(item.get(), Outcome::kSuppressed, true, "globally suppressed at send time");
        continue;
      }
      if (s_->dry_run) {
        s_->would_send++;
        continue;
      }
      int64_t retry_at = 0;
      if (!PickEgress(item.get(), now, &retry_at)) {
        if (retry_at < 0) {  // no account left: the campaign pauses
          PauseNoAccounts();
          continue;
        }
        item->due = retry_at;
        PushHeap(std::move(item));
        continue;
      }
      ready.push_back({std::move(item), std::make_shared<RenderedMessage>()});
    }
    // Render (and sign) them, idle threads helping; then the markers of the rendered ones.
    if (!ready.empty()) {
      RenderBoard::Job job;
      job.compiled = s_->compiled.get();
      for (auto& r : ready) {
        job.in.push_back(&r.item->r);
        job.out.push_back(r.msg.get());
      }
      s_->render.Render(&job);
      size_t kept = 0;
      for (size_t i = 0; i < ready.size(); ++i) {
        Item* item = ready[i].item.get();
        if (!job.status[i].ok()) {
          // Never handed to the account: its daily reservation is given back.
          s_->accounts[item->acct]->state->daily().Release(item->daily_day);
          Record(item, Outcome::kFailed, true, absl::StrCat("render: ", job.status[i].message()));
          continue;
        }
        ProgressRecord marker = item->prog.value_or(ProgressRecord{});
        if (!item->prog) marker.final = false;
        marker.in_flight = true;
        markers.push_back({item->r.shard, item->r.key, marker});
        if (kept != i) ready[kept] = std::move(ready[i]);
        ++kept;
      }
      ready.resize(kept);
    }
    if (!FlushWrites()) return false;
    if (ready.empty()) return true;
    {
      // The daily counts (reserved in PickEgress) are added in the same batch as the markers.
      std::vector<DailyIncrement> daily;
      for (const Ready& r : ready) {
        const std::string& account = s_->accounts[r.item->acct]->cfg->name;
        const std::string day = CampaignStore::UtcDay(r.item->daily_day * 86400);
        auto it = std::find_if(daily.begin(), daily.end(), [&](const DailyIncrement& d) {
          return d.account == account && d.day == day;
        });
        if (it == daily.end()) it = daily.insert(daily.end(), {account, day, 0});
        it->n++;
      }
      st = s_->cstore->PutProgress(s_->campaign->id, markers, daily);
    }
    if (!st.ok()) {
      s_->Fatal(st);
      return false;
    }
    auto reqs = std::make_shared<std::vector<SendRequest>>();
    for (auto& r : ready) {
      const uint64_t id = next_id_++;
      Item* item = r.item.get();
      const auto* acct = s_->accounts[item->acct].get();
      SendRequest req;
      req.id = id;
      req.message = r.msg;
      req.account = acct->cfg;
      if (item->ip >= 0) req.source_ip = acct->cfg->source_ips[item->ip];
      reqs->push_back(std::move(req));
      if (item->prog) {
        item->prog->in_flight = true;
      } else {
        ProgressRecord p;
        p.final = false;
        p.in_flight = true;
        item->prog = p;
      }
      inflight_.emplace(id, std::move(r.item));
    }
    s_->in_flight += static_cast<int64_t>(reqs->size());
    worker_->Post([this, reqs] {
      for (auto& req : *reqs)
        worker_->Submit(std::move(req), [this](const SendReport& rep) {
          {
            std::lock_guard<std::mutex> l(mu_);
            reports_.push_back(rep);
          }
          cv_.notify_one();
        });
    });
    return true;
  }

  // Chooses account and source IP for the item. False: nothing available now (*retry_at = when
  // to try again) or no account usable at all (*retry_at = -1).
  bool PickEgress(Item* item, int64_t now, int64_t* retry_at) {
    const std::string_view domain = DomainOf(item->r.key);
    const int throttle = s_->domains.Find(domain);
    int64_t next = now + 1'000'000;
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
      if (!st.daily().Allowed(now)) return false;
      any_usable = true;
      int64_t t = st.rate().NextAvailable(now);
      if (t > now) {
        next = std::min(next, t);
        return false;
      }
      return true;
    };
    auto ip_ok = [&](size_t a, int ip) {
      if (throttle < 0 && dom_rate_.empty()) return true;
      std::string key = DomKey(a, ip, domain);
      auto it = dom_rate_.find(key);
      if (it == dom_rate_.end() && throttle >= 0) it = CreateDomRate(key, throttle);
      if (it != dom_rate_.end()) {
        int64_t t = it->second.NextAvailable(now);
        if (t > now) {
          next = std::min(next, t);
          return false;
        }
      }
      if (throttle >= 0) {
        uint32_t cap = s_->config->throttles[throttle].max_connections;
        if (cap > 0) {
          auto c = dom_inflight_.find(key);
          if (c != dom_inflight_.end() && c->second >= std::max<uint32_t>(1, cap / s_->workers)) {
            next = std::min(next, now + 5'000);
            return false;
          }
        }
      }
      return true;
    };
    Egress e = picker_->Next(account_ok, ip_ok);
    if (e.account < 0) {
      *retry_at = any_usable ? next : -1;
      return false;
    }
    {
      // Reserve one of the account's daily messages and a slot of its rate; every campaign of
      // the process races for the last ones.
      auto& chosen = *s_->accounts[e.account];
      AccountState& st = *chosen.state;
      if (!st.daily().TryReserve(now, &item->daily_day)) {
        Shared::DailyLimitGauge(chosen, 1);
        *retry_at = now + 1000;  // pick again: the account is now skipped
        return false;
      }
      if (const int64_t t = st.rate().TryTake(now); t != 0) {
        st.daily().Release(item->daily_day);
        *retry_at = t;
        return false;
      }
      if (!st.daily().Allowed(now)) Shared::DailyLimitGauge(chosen, 1);
    }
    item->acct = e.account;
    item->ip = e.ip;
    item->dom_key.clear();
    if (throttle >= 0 || !dom_rate_.empty()) {
      std::string key = DomKey(e.account, e.ip, domain);
      auto it = dom_rate_.find(key);
      if (it != dom_rate_.end()) {
        it->second.TryAcquire(now);
        it->second.OnSend(now);
      }
      if (throttle >= 0 || it != dom_rate_.end()) {
        dom_inflight_[key]++;
        item->dom_key = std::move(key);
      }
    }
    s_->accounts[e.account]->attempts++;
    sent_window_++;
    return true;
  }

  std::string DomKey(size_t a, int ip, std::string_view domain) const {
    return absl::StrCat(a, "|", ip, "|", Av(domain));
  }

  absl::flat_hash_map<std::string, AdaptiveRate>::iterator CreateDomRate(const std::string& key,
                                                                         int throttle) {
    double base = 0;
    if (throttle >= 0 && s_->config->throttles[throttle].rate_per_second > 0)
      base = s_->config->throttles[throttle].rate_per_second / s_->workers;
    return dom_rate_.emplace(key, AdaptiveRate(base)).first;
  }

  void PauseNoAccounts() {
    std::string why;
    const int64_t now_s = NowUs() / 1'000'000;
    for (const auto& a : s_->accounts) {
      if (!why.empty()) why += "; ";
      if (a->state->PausedAt(now_s)) {
        const AccountRecord r = a->state->record();
        absl::StrAppend(&why, a->cfg->name, " (", r.reason, " ", PauseEndText(r.until), ": ",
                        r.reply, ")");
      } else {
        absl::StrAppend(&why, a->cfg->name, " (daily_limit ", a->cfg->daily_limit, " reached)");
      }
    }
    s_->RequestStop(1, absl::StrCat("no usable account left on route \"", s_->route->name,
                                    "\": ", why));
  }

  // Pauses account `a` (for every campaign of the process, and later runs: persisted).
  void PauseAccount(int a, std::string_view reason, const std::string& reply, int64_t until) {
    AccountState& st = *s_->accounts[a]->state;
    absl::StatusOr<bool> changed = st.Pause(s_->store, reason, reply, NowUs() / 1'000'000, until);
    if (!changed.ok()) s_->Fatal(changed.status());
  }

  void Record(Item* item, Outcome o, bool final, std::string reply) {
    ProgressRecord p = item->prog.value_or(ProgressRecord{});
    s_->Change(item->prog, o, o == Outcome::kDeferred && final);
    p.outcome = o;
    p.final = final;
    p.in_flight = false;
    p.reply = SanitizeForLog(reply, 512);
    if (item->acct >= 0) p.account = s_->accounts[item->acct]->cfg->name;
    item->prog = p;
    if (!s_->dry_run) {
      Counters(item->acct, item->ip).For(o).Inc();
      writes_.push_back({item->r.shard, item->r.key, std::move(p)});
    }
  }

  bool FlushWrites() {
    if (writes_.empty()) return true;
    absl::Status st = s_->cstore->PutProgress(s_->campaign->id, writes_);
    writes_.clear();
    if (!st.ok()) {
      s_->Fatal(st);
      return false;
    }
    return true;
  }

  void WaitReports(int64_t us) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::microseconds(us), [&] { return !reports_.empty(); });
  }

  void DrainReports() {
    std::vector<SendReport> reps;
    {
      std::lock_guard<std::mutex> l(mu_);
      reps.swap(reports_);
    }
    const int64_t now = NowUs();
    for (const auto& rep : reps) {
      auto it = inflight_.find(rep.id);
      if (it == inflight_.end()) continue;
      std::unique_ptr<Item> item = std::move(it->second);
      inflight_.erase(it);
      s_->in_flight--;
      if (!item->dom_key.empty()) {
        auto c = dom_inflight_.find(item->dom_key);
        if (c != dom_inflight_.end() && --c->second == 0) dom_inflight_.erase(c);
      }
      Handle(std::move(item), rep, now);
    }
  }

  void Requeue(std::unique_ptr<Item> item, int64_t due) {
    // Clear the in-flight marker: the message was not accepted.
    if (item->prog) {
      item->prog->in_flight = false;
      writes_.push_back({item->r.shard, item->r.key, *item->prog});
    }
    item->due = due;
    PushHeap(std::move(item));
  }

  // Applies the outcome decision (engine/policy/outcome.h) for one attempt's report.
  void Handle(std::unique_ptr<Item> item, const SendReport& rep, int64_t now) {
    const RcptOutcome& out = rep.outcome;
    const std::string reply = out.connection_level && !out.failure.empty()
                                  ? (out.reply.code ? absl::StrCat(out.failure, ": ", out.reply.ToString())
                                                    : out.failure)
                                  : out.reply.ToString();
    const ProgressRecord before = item->prog.value_or(ProgressRecord{});
    std::uniform_real_distribution<double> unit(0, 1);
    const Decision d = Decide({out, rep.account_unusable, before.attempts, before.first_attempt_us,
                               now, unit(rng_)},
                              s_->config->sending);
    if (d.action != Action::kPauseAccount && d.action != Action::kThrottle) s_->verdicts++;
    switch (d.action) {
      case Action::kDelivered:
        Record(item.get(), Outcome::kDelivered, true, reply);
        return;
      case Action::kBounce: {
        Record(item.get(), Outcome::kBounced, true, reply);
        SuppressionEntry e;
        e.key = item->r.key;
        e.reason = SuppressionReason::kHardBounce;
        e.source = "smtp";
        e.detail = reply;
        absl::Status st = s_->sstore->Add(e);
        if (!st.ok()) s_->Fatal(st);
        return;
      }
      case Action::kFail:
        Record(item.get(), Outcome::kFailed, true, reply);
        return;
      case Action::kPauseAccount:
        // About our account, not the recipient: the account pauses (for every campaign of the
        // process, and stored), the recipient is retried on another account of the route, or
        // when this one resumes.
        PauseAccount(item->acct, d.pause_reason,
                     rep.account_unusable && !rep.account_reason.empty() ? rep.account_reason
                                                                          : reply,
                     d.pause_until);
        item->acct = -1;
        Requeue(std::move(item), now);
        return;
      case Action::kThrottle: {
        s_->throttle_events++;
        std::string_view domain = DomainOf(item->r.key);
        std::string key = DomKey(item->acct, item->ip, domain);
        auto it = dom_rate_.find(key);
        if (it == dom_rate_.end()) {
          it = CreateDomRate(key, s_->domains.Find(domain));
          // Seed the measured rate with this feeder's recent per-pair share.
          for (int i = 0; i < 2; ++i) it->second.OnSend(now - 1'000'000 * (1 - i));
        }
        it->second.OnThrottle(now);
        metrics::Metrics()
            .throttle_events->WithLabels({s_->accounts[item->acct]->cfg->name,
                                          std::string(metrics::Metrics().Domain(domain))})
            .Inc();
        Counters(item->acct, item->ip).For(Outcome::kDeferred).Inc();
        {
          std::lock_guard<std::mutex> l(s_->mu);
          auto& ti = s_->throttles[absl::StrCat(index_, "|", key)];
          ti.account = s_->accounts[item->acct]->cfg->name;
          ti.source_ip = item->ip >= 0 ? s_->accounts[item->acct]->cfg->source_ips[item->ip] : "";
          ti.domain = std::string(domain);
          ti.events++;
          ti.rate = it->second.current_rate();
        }
        ProgressRecord p = item->prog.value_or(ProgressRecord{});
        p.first_attempt_us = d.first_attempt_us;
        const bool give_up = d.give_up;
        s_->Change(item->prog, Outcome::kDeferred, give_up);
        p.outcome = Outcome::kDeferred;
        p.final = give_up;
        p.in_flight = false;
        p.reply = SanitizeForLog(reply, 512);
        p.account = s_->accounts[item->acct]->cfg->name;
        p.next_retry_us = give_up ? 0 : it->second.NextAvailable(now);
        item->prog = p;
        writes_.push_back({item->r.shard, item->r.key, p});
        if (give_up) return;
        item->acct = -1;
        item->due = p.next_retry_us;
        PushHeap(std::move(item));
        return;
      }
      case Action::kRetry:
        break;
    }
    // Deferred: retried after the backoff, or final once retry_for is over.
    ProgressRecord p = before;
    p.attempts = d.attempts;
    p.first_attempt_us = d.first_attempt_us;
    const bool give_up = d.give_up;
    const int64_t next = d.retry_at_us;
    s_->Change(item->prog, Outcome::kDeferred, give_up);
    p.outcome = Outcome::kDeferred;
    p.final = give_up;
    p.in_flight = false;
    p.next_retry_us = give_up ? 0 : next;
    p.reply = SanitizeForLog(reply, 512);
    if (item->acct >= 0) p.account = s_->accounts[item->acct]->cfg->name;
    item->prog = p;
    Counters(item->acct, item->ip).For(Outcome::kDeferred).Inc();
    writes_.push_back({item->r.shard, item->r.key, p});
    if (!give_up) {
      if (item->acct >= 0) {  // a retry is scheduled after a backoff
        metrics::Metrics()
            .backoff_events
            ->WithLabels({s_->accounts[item->acct]->cfg->name,
                          std::string(metrics::Metrics().Domain(DomainOf(item->r.key)))})
            .Inc();
      }
      item->acct = -1;
      item->due = next;
      PushHeap(std::move(item));
    }
  }

  // salvo_messages_total handles per (account, source IP), resolved once.
  const metrics::MessageCounters& Counters(int acct, int ip) {
    const int key = (acct + 1) * 1024 + (ip + 1);
    auto it = counters_.find(key);
    if (it == counters_.end()) {
      std::string_view account = acct >= 0 ? std::string_view(s_->accounts[acct]->cfg->name) : "";
      std::string_view sip = acct >= 0 && ip >= 0 ? std::string_view(s_->accounts[acct]->cfg->source_ips[ip]) : "";
      it = counters_.emplace(key, metrics::Metrics().Messages(s_->campaign->id, s_->route->name,
                                                               account, sip)).first;
    }
    return it->second;
  }
  absl::flat_hash_map<int, metrics::MessageCounters> counters_;

  Shared* s_;
  uint32_t index_;
  Worker* worker_;
  std::vector<uint32_t> shards_;
  size_t shard_pos_ = 0;
  std::string after_key_;
  bool scan_done_ = false;
  bool done_ = false;
  size_t window_ = 256;
  std::unique_ptr<EgressPicker> picker_;
  absl::flat_hash_map<std::string, AdaptiveRate> dom_rate_;
  absl::flat_hash_map<std::string, uint32_t> dom_inflight_;
  std::vector<std::unique_ptr<Item>> heap_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Item>> inflight_;
  uint64_t next_id_ = 1;
  uint64_t sent_window_ = 0;
  std::vector<CampaignStore::Write> writes_;
  std::mt19937 rng_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SendReport> reports_;
};

void FillCounts(const Shared& s, CampaignProgress* p) {
  auto c = [&](Outcome o) {
    int64_t v = s.count[static_cast<int>(o)].load();
    return static_cast<uint64_t>(std::max<int64_t>(0, v));
  };
  p->delivered = c(Outcome::kDelivered);
  p->bounced = c(Outcome::kBounced);
  p->failed = c(Outcome::kFailed);
  p->deferred = c(Outcome::kDeferred);
  p->deferred_final = static_cast<uint64_t>(std::max<int64_t>(0, s.deferred_final.load()));
  p->suppressed = c(Outcome::kSuppressed);
  p->no_consent = c(Outcome::kNoConsent);
  p->outside_segment = c(Outcome::kOutsideSegment);
  p->in_flight = static_cast<uint64_t>(std::max<int64_t>(0, s.in_flight.load()));
  p->would_send = static_cast<uint64_t>(std::max<int64_t>(0, s.would_send.load()));
  p->throttle_events = static_cast<uint64_t>(s.throttle_events.load());
}

}  // namespace

[[nodiscard]] absl::StatusOr<CampaignProgress> RunCampaign(const Config& config, Store* store,
                                             const CampaignConfig& campaign,
                                             std::shared_ptr<const CompiledCampaign> compiled,
                                             const RunnerOptions& options) {
  Shared s;
  s.config = &config;
  s.campaign = &campaign;
  s.compiled = std::move(compiled);
  s.store = store;
  CampaignStore cstore(store);
  RecipientStore rstore(store);
  SuppressionStore sstore(store);
  s.cstore = &cstore;
  s.rstore = &rstore;
  s.sstore = &sstore;
  s.dry_run = options.dry_run;
  ASSIGN_OR_RETURN(s.segment, Segment::Compile(campaign.segment));
  ASSIGN_OR_RETURN(s.route, SelectRoute(config, campaign.route, campaign.list));
  s.domains = DomainThrottles(config.throttles);
  for (const auto& ra : s.route->accounts) {
    const AccountConfig* ac = config.FindAccount(ra.name);
    if (!ac)
      return absl::InvalidArgumentError(
          absl::StrCat("route \"", s.route->name, "\" names unknown account \"", ra.name, "\""));
    auto a = std::make_unique<Shared::Account>();
    a->cfg = InternAccount(*ac);  // the shared workers' pools are keyed by this pointer
    a->weight = ra.weight;
    // Rate, today's count and pause: the process's, loaded from the store on first use.
    ASSIGN_OR_RETURN(a->state, AccountStates::Process().Acquire(store, *ac, NowUs()));
    if (!options.dry_run) Shared::DailyLimitGauge(*a, a->state->daily().Allowed(NowUs()) ? 0 : 1);
    s.accounts.push_back(std::move(a));
  }
  uint32_t workers = options.workers ? options.workers : config.workers;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  workers = std::min<uint32_t>(workers, kVirtualShards);

  // One run of a campaign at a time on this data_dir (this process or another).
  CampaignRunLock own_lock;
  if (!options.dry_run && options.run_lock == nullptr) {
    ASSIGN_OR_RETURN(own_lock, LockCampaignRun(store->data_dir(), campaign.id, absl::Now()));
  }
  // The SMTP workers of this process, shared with every other campaign running in it (not for a
  // dry run). Their number decides the feeders'.
  std::shared_ptr<WorkerGroup> group;
  if (!options.dry_run) {
    SenderOptions so;
    so.timeouts = config.smtp_timeouts;
    so.workers = workers;
    ASSIGN_OR_RETURN(group, AcquireSharedWorkers(so));
    workers = static_cast<uint32_t>(std::min<size_t>(group->size(), kVirtualShards));
  }
  s.workers = workers;

  // Campaign record: start or resume.
  ASSIGN_OR_RETURN(auto existing, cstore.Get(campaign.id));
  CampaignRecord rec;
  uint64_t markers = 0;
  ASSIGN_OR_RETURN(ProgressCounts base, cstore.Count(campaign.id));
  if (existing) {
    rec = *existing;
    if (rec.list != campaign.list)
      return absl::FailedPreconditionError(absl::StrCat(
          "campaign \"", campaign.id, "\" was started on list \"", rec.list, "\", not \"",
          campaign.list, "\": use a new id"));
    if (rec.state == CampaignState::kCancelled && !options.dry_run)
      return absl::FailedPreconditionError(
          absl::StrCat("campaign \"", campaign.id, "\" was cancelled; use a new id to send again"));
    markers = base.in_flight;
  } else {
    rec.id = campaign.id;
    rec.list = campaign.list;
    rec.started_at = std::time(nullptr);
  }
  ASSIGN_OR_RETURN(uint64_t list_size, rstore.ListSize(campaign.list));
  for (int i = 0; i < kOutcomes; ++i) s.count[i] = static_cast<int64_t>(base.by_outcome[i]);
  s.deferred_final = static_cast<int64_t>(base.deferred_final);
  if (!options.dry_run && !(existing && rec.state == CampaignState::kDone)) {
    rec.state = CampaignState::kRunning;
    rec.pause_reason.clear();
    rec.finished_at = 0;
    rec.list_size = list_size;
    rec.runs++;
    rec.route = s.route->name;
    rec.in_flight_at_resume += markers;
    if (!options.campaign_file.empty()) rec.campaign_file = options.campaign_file;
    if (!options.config_file.empty()) rec.config_file = options.config_file;
    RETURN_IF_ERROR(cstore.Put(rec));
  }

  CampaignProgress snap;
  snap.id = campaign.id;
  snap.list = campaign.list;
  snap.route = s.route->name;
  snap.dry_run = options.dry_run;
  snap.list_size = list_size;
  snap.in_flight_at_resume = markers;
  auto fill = [&](double rate, double elapsed) {
    FillCounts(s, &snap);
    snap.rate = rate;
    snap.elapsed_s = elapsed;
    uint64_t left = snap.Pending() + snap.in_flight;
    snap.eta_s = rate > 0 ? left / rate : -1;
    snap.accounts.clear();
    std::lock_guard<std::mutex> l(s.mu);
    for (const auto& a : s.accounts)
    {
      const int64_t now_s = NowUs() / 1'000'000;
      const bool paused = a->state->PausedAt(now_s);
      const AccountRecord r = paused ? a->state->record() : AccountRecord{};
      snap.accounts.push_back({a->cfg->name, paused,
                               paused ? absl::StrCat(r.reason, " ", PauseEndText(r.until), ": ",
                                                     r.reply)
                                      : "",
                               a->attempts.load()});
    }
    snap.throttles.clear();
    for (const auto& [k, t] : s.throttles) snap.throttles.push_back(t);
    std::sort(snap.throttles.begin(), snap.throttles.end(), [](const auto& a, const auto& b) {
      return std::tie(a.account, a.source_ip, a.domain) < std::tie(b.account, b.source_ip, b.domain);
    });
    snap.pause_reason = s.stop_reason;
  };

  if (existing && rec.state == CampaignState::kDone && !options.dry_run) {
    fill(0, 0);
    snap.state = "done";
    return snap;
  }

  std::vector<std::unique_ptr<Feeder>> feeders;
  for (uint32_t i = 0; i < workers; ++i)
    feeders.push_back(std::make_unique<Feeder>(&s, i, options.dry_run ? nullptr : &group->worker(i)));
  std::atomic<int> running{static_cast<int>(workers)};
  std::mutex done_mu;
  std::condition_variable done_cv;  // the monitor wakes as soon as the last feeder is done
  std::vector<std::thread> threads;
  for (auto& f : feeders)
    threads.emplace_back([&, fp = f.get()] {
      fp->Run();
      {
        std::lock_guard<std::mutex> l(done_mu);
        running--;
      }
      done_cv.notify_all();
      s.render.Help();  // render for the feeders still running
    });
  // Fewer workers than cores: the other cores render (and sign) for the feeders.
  const uint32_t cores = std::max(1u, std::thread::hardware_concurrency());
  if (!options.dry_run)
    for (uint32_t i = workers; i < cores; ++i) threads.emplace_back([&s] { s.render.Help(); });

  // What the monitor cannot do (status file, control requests) does not stop the send; it is
  // said on stderr (the daemon's log) once per kind of failure.
  std::vector<std::string> warned;
  auto warn_once = [&](const std::string& doing, const absl::Status& st) {
    if (st.ok() || std::find(warned.begin(), warned.end(), doing) != warned.end()) return;
    warned.push_back(doing);
    std::fprintf(stderr, "salvo: campaign %s: %s: %s\n", campaign.id.c_str(), doing.c_str(),
                 std::string(st.message()).c_str());
  };
  // Monitor: progress, status file, control requests, SIGINT.
  const auto t0 = std::chrono::steady_clock::now();
  auto last_tick = t0;
  int64_t last_verdicts = 0;
  double rate = 0;
  while (running.load() > 0) {
    {
      std::unique_lock<std::mutex> l(done_mu);
      done_cv.wait_for(l, std::chrono::milliseconds(100), [&] { return running.load() == 0; });
    }
    if (options.interrupt && options.interrupt->load())
      s.RequestStop(1, "interrupted (SIGINT); resume with `salvo campaign resume` or `salvo send`");
    auto now = std::chrono::steady_clock::now();
    double since = std::chrono::duration<double>(now - last_tick).count();
    if (since < 1.0) continue;
    last_tick = now;
    int64_t v = s.verdicts.load();
    double inst = (v - last_verdicts) / since;
    last_verdicts = v;
    rate = rate == 0 ? inst : 0.5 * rate + 0.5 * inst;
    if (options.write_status_file && !options.dry_run) {
      auto req = TakeControlRequests(store->data_dir(), campaign.id);
      if (req.ok()) {
        for (const auto& e : req->suppressions) {
          absl::Status st = sstore.Add(e);
          if (!st.ok())
            fprintf(stderr, "salvo: queued suppression of %s ignored: %s\n", e.key.c_str(),
                    std::string(st.message()).c_str());
        }
        if (req->cancel) s.RequestStop(2, "cancelled by operator");
        if (req->pause)
          s.RequestStop(1, req->pause_reason.empty() ? "paused by operator" : req->pause_reason);
      } else {
        warn_once("reading control requests", req.status());
      }
    }
    fill(rate, std::chrono::duration<double>(now - t0).count());
    snap.state = options.dry_run ? "dry-run" : (s.stop.load() == 0 ? "running" : "stopping");
    if (options.write_status_file && !options.dry_run)
      warn_once("writing the status file",
                WriteStatusFile(store->data_dir(), campaign.id, snap.ToJson()));
    if (options.on_progress) options.on_progress(snap);
  }
  s.render.Stop();
  for (auto& t : threads) t.join();
  // Every message of this run has been reported (feeders end with nothing in flight); the last
  // run of the process to let go of the workers drains and stops them.
  group.reset();

  fill(rate, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (!s.fatal.empty()) {
    rec.state = CampaignState::kPaused;
    rec.pause_reason = s.stop_reason;
    if (!options.dry_run) warn_once("recording the pause", cstore.Put(rec));
    if (options.write_status_file) RemoveStatusFile(store->data_dir(), campaign.id);
    return absl::InternalError(absl::StrCat("campaign ", campaign.id, ": ", s.fatal));
  }
  const int stop = s.stop.load();
  if (options.dry_run) {
    snap.state = "dry-run";
    return snap;
  }
  if (stop == 2) {
    rec.state = CampaignState::kCancelled;
    rec.finished_at = std::time(nullptr);
  } else if (stop == 1) {
    rec.state = CampaignState::kPaused;
  } else {
    rec.state = CampaignState::kDone;
    rec.finished_at = std::time(nullptr);
  }
  rec.pause_reason = s.stop_reason;
  RETURN_IF_ERROR(cstore.Put(rec));
  snap.state = std::string(CampaignStateName(rec.state));
  snap.pause_reason = rec.pause_reason;
  if (options.write_status_file) {
    warn_once("writing the status file",
              WriteStatusFile(store->data_dir(), campaign.id, snap.ToJson()));
    RemoveStatusFile(store->data_dir(), campaign.id);
  }
  return snap;
}

}  // namespace salvo
