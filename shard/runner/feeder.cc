#include "shard/runner/feeder.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/base/shard.h"
#include "shard/runner/day_plan.h"

namespace salvo {

Feeder::Feeder(RunState* s, uint32_t index, Worker* worker)
    : s_(s), index_(index), worker_(worker), egress_(s), applier_(s, &egress_, index) {
  for (uint32_t sh = 0; sh < kVirtualShards; ++sh)
    if (WorkerOfShard(sh, s_->workers) == index_) shards_.push_back(sh);
  // Enough messages in flight to keep every connection of every account busy, bounded.
  size_t window = 0;
  for (const auto& a : s_->accounts)
    window += static_cast<size_t>(a->cfg->max_connections) *
              std::max<size_t>(1, a->cfg->source_ips.size()) * 3;
  window_ = std::clamp<size_t>(window, 32, 4096);
  rng_.seed(static_cast<uint32_t>(RunnerNowUs()) + index_);
}

void Feeder::Run() {
  while (true) {
    DrainReports();
    if (!applier_.Flush()) break;
    if (s_->stop.load() != 0) {
      if (inflight_.empty()) break;
      WaitReports(50'000);
      continue;
    }
    const int64_t now = RunnerNowUs();
    bool end = false;
    int64_t open_at = 0;
    if (OutsideWindow(now, &end, &open_at)) {
      if (end) break;
      WaitReports(std::clamp<int64_t>(open_at - now, 1000, 100'000));
      continue;
    }
    std::vector<ItemPtr> batch;
    const size_t budget = window_ > inflight_.size() ? window_ - inflight_.size() : 0;
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
    if (scan_done_ && inflight_.empty() && s_->wait_horizon_us >= 0 &&
        heap_.front()->due > now + s_->wait_horizon_us) {
      // Only retries far ahead are left: the run ends as waiting, the daemon goes on then.
      s_->WaitUntil(heap_.front()->due);
      break;
    }
    // Nothing to do now: wait for a report or the next due item.
    int64_t wait = 100'000;
    if (!heap_.empty()) wait = std::clamp<int64_t>(heap_.front()->due - now, 1000, 100'000);
    if (budget == 0 || !heap_.empty() || scan_done_) WaitReports(wait);
  }
  DrainReports();
  // A store error here has already stopped the run (RunState::Fatal); nothing more to do.
  (void)applier_.Flush();
}

bool Feeder::Scan(size_t want, std::vector<ItemPtr>* batch) {
  const size_t limit = std::clamp<size_t>(want, 64, s_->config->sending.batch_size);
  StageTimer scan_cpu(&s_->cpu, Stage::kScan);
  std::vector<Recipient> rs;
  while (rs.empty()) {
    if (shard_pos_ >= shards_.size()) {
      scan_done_ = true;
      return true;
    }
    absl::Status st =
        s_->rstore->ScanListShard(s_->campaign->list, shards_[shard_pos_], after_key_, limit, &rs);
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
  std::vector<std::optional<ProgressRecord>> progress;
  absl::Status st = s_->ProgressOf(rs, &progress);
  if (!st.ok()) {
    s_->Fatal(st);
    return false;
  }
  scan_cpu.Stop();
  StageTimer decide_cpu(&s_->cpu, Stage::kDecide);
  const int64_t now = RunnerNowUs();
  for (size_t i = 0; i < rs.size(); ++i) {
    auto& p = progress[i];
    if (p && p->final) continue;  // decided in an earlier run
    auto item = std::make_unique<RunItem>();
    item->r = std::move(rs[i]);
    item->prog = std::move(p);
    if (!item->prog || item->prog->outcome == Outcome::kPending) {
      // First look at this recipient: segment, then consent.
      if (!s_->segment.Matches(item->r)) {
        applier_.Record(item.get(), Outcome::kOutsideSegment, true, "");
        continue;
      }
      if (!item->r.HasConsent()) {
        applier_.Record(item.get(), Outcome::kNoConsent, true, "no opt-in record");
        continue;
      }
    }
    // Left for the next UTC day by the day's caps (engaged first, shard/runner/day_plan.h).
    if (s_->plan && !s_->plan->Chosen(item->r.key)) continue;
    if (s_->window && !s_->window->per_recipient_tz.empty() && !RecipientWindowOpen(item->r, now))
      continue;
    if (item->prog && item->prog->outcome == Outcome::kDeferred &&
        item->prog->next_retry_us > now && !item->prog->in_flight) {
      item->due = item->prog->next_retry_us;
      PushHeap(std::move(item));
      continue;
    }
    batch->push_back(std::move(item));
  }
  return true;
}

void Feeder::PushHeap(ItemPtr item) {
  if (!item->slim && item->due - RunnerNowUs() > kSlimAfterUs) {
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

// A recipient whose record was removed meanwhile is recorded as failed and leaves the batch.
bool Feeder::Reload(std::vector<ItemPtr>* batch) {
  if (std::none_of(batch->begin(), batch->end(), [](const ItemPtr& i) { return i->slim; }))
    return true;
  StageTimer scan_cpu(&s_->cpu, Stage::kScan);
  size_t kept = 0;
  for (size_t i = 0; i < batch->size(); ++i) {
    ItemPtr& item = (*batch)[i];
    if (item->slim) {
      auto r = s_->rstore->Get(item->r.key);
      if (!r.ok()) {
        s_->Fatal(r.status());
        return false;
      }
      if (!r->has_value()) {
        applier_.Record(item.get(), Outcome::kFailed, true,
                        "recipient record removed during the send");
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

bool Feeder::Dispatch(std::vector<ItemPtr> batch) {
  StageTimer decide_cpu(&s_->cpu, Stage::kDecide);
  std::vector<std::string_view> keys;
  for (const auto& it : batch) keys.push_back(it->r.key);
  std::vector<bool> suppressed;
  absl::Status st = s_->sstore->CheckBatch(keys, &suppressed);
  if (!st.ok()) {
    s_->Fatal(st);
    return false;
  }
  struct Ready {
    ItemPtr item;
    std::shared_ptr<RenderedMessage> msg;
  };
  std::vector<Ready> ready;
  const int64_t now = RunnerNowUs();
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& item = batch[i];
    if (suppressed[i]) {
      applier_.Record(item.get(), Outcome::kSuppressed, true, "globally suppressed at send time");
      continue;
    }
    if (s_->dry_run) {
      s_->would_send++;
      continue;
    }
    int64_t retry_at = 0;
    if (!egress_.Pick(item.get(), now, &retry_at)) {
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
  decide_cpu.Stop();
  // Render (and sign) them, idle threads helping; then one marker for the rendered ones.
  std::vector<CampaignStore::Attempt> attempts;
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
      RunItem* item = ready[i].item.get();
      if (!job.status[i].ok()) {
        // Never handed to the account: its daily reservation is given back.
        egress_.Release(item->acct, item->ip, item);
        egress_.Done(*item, -1);
        applier_.Record(item, Outcome::kFailed, true,
                        absl::StrCat("render: ", job.status[i].message()));
        continue;
      }
      attempts.push_back({item->r.shard, item->r.key});
      if (kept != i) ready[kept] = std::move(ready[i]);
      ++kept;
    }
    ready.resize(kept);
  }
  if (!applier_.Flush()) return false;
  if (ready.empty()) return true;
  // The daily counts (reserved by the egress chooser) are added in the same batch as the markers.
  std::vector<DailyIncrement> daily;
  for (const Ready& r : ready) {
    const std::string& account = s_->accounts[r.item->acct]->cfg->name;
    const std::string day = CampaignStore::UtcDay(r.item->daily_day * 86400);
    auto it = std::find_if(daily.begin(), daily.end(), [&](const DailyIncrement& d) {
      return d.account == account && d.day == day;
    });
    if (it == daily.end()) it = daily.insert(daily.end(), {account, day, 0});
    it->n++;
    if (r.item->ip_daily_day >= 0) {  // the source IP's warm-up count, under "ip:ADDRESS"
      const std::string ip_key = s_->accounts[r.item->acct]->state->ip_warmup(r.item->ip)->CountKey();
      const std::string ip_day = CampaignStore::UtcDay(r.item->ip_daily_day * 86400);
      auto w = std::find_if(daily.begin(), daily.end(), [&](const DailyIncrement& d) {
        return d.account == ip_key && d.day == ip_day;
      });
      if (w == daily.end()) w = daily.insert(daily.end(), {ip_key, ip_day, 0});
      w->n++;
    }
  }
  const uint64_t batch_id = s_->NextAttemptBatch();
  {
    StageTimer progress_cpu(&s_->cpu, Stage::kProgress);
    st = s_->cstore->MarkAttempts(s_->campaign->id, batch_id, attempts, daily);
  }
  if (!st.ok()) {
    s_->Fatal(st);
    return false;
  }
  auto reqs = std::make_shared<std::vector<SendRequest>>();
  for (auto& r : ready) {
    const uint64_t id = next_id_++;
    RunItem* item = r.item.get();
    const RunAccount* acct = s_->accounts[item->acct].get();
    SendRequest req;
    req.id = id;
    req.message = r.msg;
    req.account = acct->cfg;
    if (item->ip >= 0) req.source_ip = acct->cfg->source_ips[item->ip];
    reqs->push_back(std::move(req));
    if (!item->prog) {
      item->prog = ProgressRecord{};
      item->prog->final = false;
    }
    item->prog->in_flight = true;
    item->batch = batch_id;
    inflight_.emplace(id, std::move(r.item));
  }
  batch_left_[batch_id] = static_cast<uint32_t>(ready.size());
  s_->in_flight += static_cast<int64_t>(reqs->size());
  worker_->Post([this, reqs] {
    for (auto& req : *reqs)
      worker_->Submit(std::move(req), [this](const SendReport& rep) {
        bool wake;
        {
          std::lock_guard<std::mutex> l(mu_);
          reports_.push_back(rep);
          wake = reports_.size() == wake_at_;
        }
        if (wake) cv_.notify_one();
      });
  });
  return true;
}

void Feeder::PauseNoAccounts() {
  std::string why;
  const int64_t now_us = RunnerNowUs();
  const int64_t now_s = now_us / 1'000'000;
  // The pause ends by itself when the first account comes back: its pause's end, or the next
  // UTC day for a daily limit. Accounts paused by hand (or for their credentials) do not count.
  int64_t resume_at_us = 0;
  auto earliest = [&](int64_t t) {
    if (resume_at_us == 0 || t < resume_at_us) resume_at_us = t;
  };
  for (const auto& a : s_->accounts) {
    if (!why.empty()) why += "; ";
    if (a->state->PausedAt(now_s)) {
      const AccountRecord r = a->state->record();
      absl::StrAppend(&why, a->cfg->name, " (", r.reason, " ", PauseEndText(r.until), ": ",
                      r.reply, ")");
      if (r.until != 0 && r.until != AccountState::kManual) earliest(r.until * 1'000'000);
    } else {
      if (!a->state->AnyIpAllowed(now_us))
        absl::StrAppend(&why, a->cfg->name, " (every source IP at its warm-up cap)");
      else
        absl::StrAppend(&why, a->cfg->name, " (", a->state->warmup() ? "warm-up cap " : "daily_limit ",
                        a->state->daily().limit(), " reached)");
      earliest((DailyCap::DayOf(now_us) + 1) * 86400LL * 1'000'000);
    }
  }
  {
    std::lock_guard<std::mutex> l(s_->mu);
    if (s_->resume_at_us == 0 || (resume_at_us != 0 && resume_at_us < s_->resume_at_us))
      s_->resume_at_us = resume_at_us;
  }
  s_->RequestStop(StopKind::kPause,
                  absl::StrCat("no usable account left on route \"", s_->route->name, "\": ", why),
                  PauseEnd::kAccountsBack);
}

bool Feeder::OutsideWindow(int64_t now, bool* end, int64_t* open_at) {
  const SendWindow* w = s_->window;
  if (w == nullptr || !w->per_recipient_tz.empty()) return false;
  const absl::Time t = absl::FromUnixMicros(now);
  if (WindowOpenAt(*w, w->tz, t)) return false;
  *open_at = absl::ToUnixMicros(NextWindowOpening(*w, w->tz, t));
  if (s_->wait_horizon_us >= 0 && inflight_.empty()) {
    s_->Hold(*open_at, absl::StrCat("outside the send window (", w->Describe(), "); reopens at ",
                                    FormatUnixTime((*open_at + 999'999) / 1'000'000)));
    *end = true;
  }
  return true;
}

bool Feeder::RecipientWindowOpen(const Recipient& r, int64_t now) {
  const SendWindow& w = *s_->window;
  absl::TimeZone tz = w.tz;
  if (const std::string* name = r.Field(w.per_recipient_tz); name && !name->empty()) {
    auto it = zones_.find(*name);
    if (it == zones_.end()) {
      if (zones_.size() >= 1024) zones_.clear();  // bounded: recipient data names the zones
      auto z = LoadWindowZone(*name);
      it = zones_.emplace(*name, z.ok() ? *z : w.tz).first;
    }
    tz = it->second;
  }
  const absl::Time t = absl::FromUnixMicros(now);
  if (WindowOpenAt(w, tz, t)) return true;
  const int64_t open_at = absl::ToUnixMicros(NextWindowOpening(w, tz, t));
  s_->held_window++;
  s_->Hold(open_at, absl::StrCat("outside the recipients' send windows (", w.Describe(),
                                 ", per_recipient_tz \"", w.per_recipient_tz,
                                 "\"); the next opens at ",
                                 FormatUnixTime((open_at + 999'999) / 1'000'000)));
  return false;
}

void Feeder::WaitReports(int64_t us) {
  std::unique_lock<std::mutex> l(mu_);
  // Woken once a batch of reports is in (or all of the in-flight ones when fewer), not per
  // report: one wake-up, one progress write and one refill per batch.
  wake_at_ = std::clamp<size_t>(std::min(window_ / 4, inflight_.size()), 1, kMaxReportBatch);
  cv_.wait_for(l, std::chrono::microseconds(us), [&] { return reports_.size() >= wake_at_; });
  wake_at_ = 1;
}

void Feeder::DrainReports() {
  std::vector<SendReport> reps;
  {
    std::lock_guard<std::mutex> l(mu_);
    reps.swap(reports_);
  }
  if (reps.empty()) return;
  StageTimer decide_cpu(&s_->cpu, Stage::kDecide);
  const int64_t now = RunnerNowUs();
  std::uniform_real_distribution<double> unit(0, 1);
  for (const auto& rep : reps) {
    auto it = inflight_.find(rep.id);
    if (it == inflight_.end()) continue;
    ItemPtr item = std::move(it->second);
    inflight_.erase(it);
    s_->in_flight--;
    if (rep.transaction > absl::ZeroDuration())
      latency_.RecordNs(absl::ToInt64Nanoseconds(rep.transaction));
    egress_.Done(*item, now);
    const uint64_t batch = item->batch;
    if (std::optional<int64_t> due = applier_.Apply(item.get(), rep, now, unit(rng_))) {
      item->due = *due;
      PushHeap(std::move(item));
    }
    // The batch's last outcome is buffered: its marker goes with the next Flush.
    if (auto b = batch_left_.find(batch); b != batch_left_.end() && --b->second == 0) {
      batch_left_.erase(b);
      applier_.BatchDone(batch);
    }
  }
}

}  // namespace salvo
