// The queue's delivery loop (see queue_delivery.h): one thread takes due entries, picks their
// egress, builds and submits their messages to the shared SMTP workers, and records each verdict.
#include "shard/queue_delivery.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/base/clock.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/base/address.h"
#include "engine/dkim/dkim_key.h"
#include "engine/links/token.h"
#include "engine/metrics/salvo_metrics.h"
#include "engine/mime/queued_message.h"
#include "shard/account_state.h"
#include "shard/queue_verdict.h"
#include "shard/runner/egress_chooser.h"
#include "shard/runner/run_state.h"
#include "shard/shared_workers.h"
#include "store/campaign_store.h"
#include "store/idempotency_store.h"
#include "store/link_store.h"
#include "store/queue_store.h"
#include "store/suppression_store.h"

namespace salvo {
namespace {

constexpr size_t kMaxTake = 256;          // entries taken per store read
constexpr size_t kMaxBodies = 256;        // stored bodies kept in memory between messages
constexpr int64_t kNoAccountDelayUs = 60'000'000;
// An entry no account can take for at most this long (rate, throttled domain) waits in memory,
// counted in the window; a longer wait goes back to the store (it must not hold a window slot
// that other routes could use, nor be written back and taken again every poll).
constexpr int64_t kHoldUs = 2'000'000;
constexpr int64_t kGaugePeriodUs = 5'000'000;

// The accounts of one route and its egress chooser (the campaigns' own, with the whole
// [[throttle]] rate: this loop is one feeder).
struct RouteEgress {
  RunState state;
  std::unique_ptr<EgressChooser> chooser;
};

struct Flight {
  QueueEntry entry;
  RunItem item;
  RouteEgress* route = nullptr;
};

}  // namespace

struct QueueDelivery::Impl {
  const Config* config = nullptr;
  Store* store = nullptr;
  QueueDeliveryOptions options;
  QueueStore queue{nullptr};
  std::vector<std::unique_ptr<DkimSigner>> signers;
  KeyRingSlot own_keys;                  // without options.keys: config's [tracking] keys
  const KeyRingSlot* keys = &own_keys;   // VERP tags (with bounce_domain): the current key signs
  bool verp = false;                     // [tracking] bounce_domain and a secret
  absl::flat_hash_map<std::string, std::unique_ptr<RouteEgress>> routes;
  absl::flat_hash_map<std::string, std::shared_ptr<const std::string>> bodies;
  std::shared_ptr<WorkerGroup> group;
  int64_t group_idle_since_us = 0;
  size_t next_worker = 0;
  size_t window = 64;
  uint64_t next_id = 1;
  absl::flat_hash_map<uint64_t, Flight> inflight;
  std::multimap<int64_t, QueueEntry> held;  // taken, waiting for an account (due -> entry)
  std::mt19937 rng{static_cast<uint32_t>(NowUnixMicros())};
  int64_t next_sweep_us = 0, next_gauges_us = 0, next_idem_sweep_us = 0;

  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<SendReport> reports;  // guarded by mu
  bool wake = false;                // guarded by mu
  std::atomic<bool> stop{false};

  void Log(const std::string& line) {
    if (options.log) options.log(line);
  }
  // A store error: said, and the loop goes on (the entry stays where the store has it).
  void Warn(const absl::Status& st, std::string_view doing) {
    if (!st.ok()) Log(absl::StrCat("queue: ", Av(doing), ": ", st.message()));
  }
  absl::Status SetUp();
  void Run();
  void Housekeeping(int64_t now);
  void Dispatch(std::vector<QueueEntry> entries, int64_t now);
  void Send(Flight f, int64_t now);
  void DrainReports();
  void Apply(Flight& f, const SendReport& rep, int64_t now);
  void Release(const QueueEntry& e, int64_t now, int64_t due);
  void Record(const Flight& f, QueueState state, const std::string& reply, int64_t now,
              int64_t next = 0);
  void Count(const Flight& f, QueueState state);
  std::shared_ptr<const std::string> Body(const QueueEntry& e);
  std::string EnvelopeFrom(const QueueEntry& e) const;
  bool EnsureWorkers();
  void WaitWork(int64_t us);
  void Wake();
};

absl::Status QueueDelivery::Impl::SetUp() {
  for (const DkimConfig& d : config->dkim) {
    ASSIGN_OR_RETURN(auto key, DkimKey::LoadFile(d.key_file));
    auto s = DkimSigner::Create(d.domain, d.selector, std::move(key));
    if (!s.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(config->path, ": [[dkim]] ", s.status().message()));
    signers.push_back(std::move(*s));
  }
  if (options.keys != nullptr) keys = options.keys;
  else if (config->tracking)
    own_keys.Set(KeyRingSlot::MakeRing(config->tracking->secret, config->tracking->previous_secrets));
  verp = config->tracking && !config->tracking->bounce_domain.empty() && keys->Get() != nullptr;
  const int64_t now = NowUnixMicros();
  size_t conns = 0;
  for (const RouteConfig& r : config->routes) {
    auto re = std::make_unique<RouteEgress>();
    re->state.config = config;
    re->state.route = &r;
    re->state.store = store;
    re->state.domains = DomainThrottles(config->throttles);
    re->state.workers = 1;
    for (const RouteAccount& ra : r.accounts) {
      const AccountConfig* ac = config->FindAccount(ra.name);
      if (!ac)
        return absl::InvalidArgumentError(
            absl::StrCat("route \"", r.name, "\" names unknown account \"", ra.name, "\""));
      auto a = std::make_unique<RunAccount>();
      a->cfg = InternAccount(*ac);
      a->weight = ra.weight;
      ASSIGN_OR_RETURN(a->state, AccountStates::Process().Acquire(store, *ac, now, &config->warmups));
      conns += static_cast<size_t>(ac->max_connections) * std::max<size_t>(1, ac->source_ips.size());
      re->state.accounts.push_back(std::move(a));
    }
    re->chooser = std::make_unique<EgressChooser>(&re->state);
    routes.emplace(r.name, std::move(re));
  }
  window = std::clamp<size_t>(conns * 3, 32, 4096);
  ASSIGN_OR_RETURN(uint64_t recovered, queue.RecoverInFlight(now));
  if (recovered > 0)
    Log(absl::StrCat("queue: ", recovered,
                     " message(s) were being delivered when salvo serve stopped: queued again"));
  return absl::OkStatus();
}

void QueueDelivery::Impl::Run() {
  while (!stop.load() || !inflight.empty()) {
    DrainReports();
    const int64_t now = NowUnixMicros();
    Housekeeping(now);
    if (stop.load()) {
      WaitWork(50'000);
      continue;
    }
    std::vector<QueueEntry> batch;
    while (!held.empty() && held.begin()->first <= now) {
      batch.push_back(std::move(held.begin()->second));
      held.erase(held.begin());
    }
    const size_t busy = inflight.size() + held.size() + batch.size();
    const size_t budget = std::min(window > busy ? window - busy : 0, kMaxTake);
    bool full = false;
    if (budget > 0) {
      auto due = queue.TakeDue(now, budget);
      if (!due.ok()) {
        Warn(due.status(), "taking due messages");
      } else {
        full = due->size() == budget;  // more may be due
        for (QueueEntry& e : *due) batch.push_back(std::move(e));
      }
    }
    if (!batch.empty()) Dispatch(std::move(batch), now);
    if (full) continue;
    int64_t wait = absl::ToInt64Microseconds(options.poll);
    if (!held.empty()) wait = std::clamp<int64_t>(held.begin()->first - now, 1000, wait);
    WaitWork(wait);
  }
  // What waited in memory goes back to the store, due when it was.
  for (const auto& [due, e] : held) Release(e, NowUnixMicros(), due);
  held.clear();
  DrainReports();
  group.reset();  // the last holder drains and stops the workers
}

void QueueDelivery::Impl::WaitWork(int64_t us) {
  std::unique_lock<std::mutex> l(mu);
  cv.wait_for(l, std::chrono::microseconds(us), [&] { return !reports.empty() || wake; });
  wake = false;
}

void QueueDelivery::Impl::Housekeeping(int64_t now) {
  if (now >= next_sweep_us) {
    next_sweep_us = now + absl::ToInt64Microseconds(options.sweep_every);
    auto n = queue.Sweep(now, config->queue.keep);
    if (!n.ok()) Warn(n.status(), "sweeping finished messages");
  }
  // The HTTP API's Idempotency-Key replies live a day; the sweep scans them all, so hourly.
  if (now >= next_idem_sweep_us) {
    next_idem_sweep_us = now + absl::ToInt64Microseconds(absl::Hours(1));
    auto idem = IdempotencyStore(store).Sweep(now);
    if (!idem.ok()) Warn(idem.status(), "sweeping idempotency keys");
    // The inject API's link tables outlive their click tokens by at most the stamp's refresh.
    const absl::Duration max_age =
        config->tracking ? config->tracking->token_max_age : absl::ZeroDuration();
    if (max_age > absl::ZeroDuration()) {
      const int64_t before =
          now - absl::ToInt64Microseconds(max_age + LinkStore::kSharedStampRefresh);
      auto links = LinkStore(store).SweepShared("api.", before, now);
      if (!links.ok()) Warn(links.status(), "sweeping the inject API's link tables");
      else if (*links > 0)
        Log(absl::StrCat("queue: deleted ", *links,
                         " link tables of the inject API unused for token_max_age and a day"));
    }
  }
  if (now >= next_gauges_us) {
    next_gauges_us = now + kGaugePeriodUs;
    if (auto counts = queue.CountByState(); counts.ok()) {
      for (int s = 0; s < kQueueStateCount; ++s)
        metrics::Metrics()
            .queue_messages->WithLabels({std::string(QueueStateName(static_cast<QueueState>(s)))})
            .Set(static_cast<double>((*counts)[s]));
    }
  }
  // The SMTP workers are the process's: let them go when the queue has been quiet a while.
  if (group && inflight.empty()) {
    if (group_idle_since_us == 0) group_idle_since_us = now;
    if (now - group_idle_since_us >= absl::ToInt64Microseconds(options.idle_release)) group.reset();
  } else {
    group_idle_since_us = 0;
  }
}

bool QueueDelivery::Impl::EnsureWorkers() {
  if (group) return true;
  SenderOptions so;
  so.timeouts = config->smtp_timeouts;
  so.completion_batch = config->sending.completion_batch;
  so.completion_wait = config->sending.completion_wait;
  so.workers = config->workers;
  auto g = AcquireSharedWorkers(so);
  if (!g.ok()) {
    Warn(g.status(), "starting the SMTP workers");
    return false;
  }
  group = *std::move(g);
  return true;
}

void QueueDelivery::Impl::Dispatch(std::vector<QueueEntry> entries, int64_t now) {
  std::vector<std::string_view> keys;
  for (const QueueEntry& e : entries) keys.push_back(e.address_key);
  std::vector<bool> suppressed;
  absl::Status st = SuppressionStore(store).CheckBatch(keys, &suppressed);
  if (!st.ok()) {
    Warn(st, "checking suppression");
    for (const QueueEntry& e : entries) Release(e, now, now + 1'000'000);
    return;
  }
  const bool workers = EnsureWorkers();
  std::vector<DailyIncrement> daily;
  std::vector<Flight> ready;
  for (size_t i = 0; i < entries.size(); ++i) {
    Flight f;
    f.entry = std::move(entries[i]);
    if (suppressed[i]) {
      Record(f, QueueState::kSuppressed, "globally suppressed at send time", now);
      continue;
    }
    auto r = routes.find(f.entry.route);
    if (r == routes.end()) {
      Record(f, QueueState::kFailed, absl::StrCat("unknown route \"", f.entry.route, "\""), now);
      continue;
    }
    if (!workers) {
      Release(f.entry, now, now + kNoAccountDelayUs);
      continue;
    }
    f.route = r->second.get();
    f.item.r.key = f.entry.address_key;
    int64_t retry_at = 0;
    if (!f.route->chooser->Pick(&f.item, now, &retry_at)) {
      const int64_t due = retry_at < 0 ? now + kNoAccountDelayUs : std::max(retry_at, now + 1000);
      if (due - now <= kHoldUs) held.emplace(due, std::move(f.entry));
      else Release(f.entry, now, due);
      continue;
    }
    const std::string& account = f.route->state.accounts[f.item.acct]->cfg->name;
    const std::string day = CampaignStore::UtcDay(f.item.daily_day * 86400);
    auto it = std::find_if(daily.begin(), daily.end(), [&](const DailyIncrement& d) {
      return d.account == account && d.day == day;
    });
    if (it == daily.end()) it = daily.insert(daily.end(), {account, day, 0});
    it->n++;
    ready.push_back(std::move(f));
  }
  // The accounts' daily counts are persisted before the messages go (as the campaigns' markers).
  Warn(CampaignStore(store).AddDailyCounts(daily), "adding the accounts' daily counts");
  for (Flight& f : ready) Send(std::move(f), now);
}

void QueueDelivery::Impl::Send(Flight f, int64_t now) {
  RunAccount& acct = *f.route->state.accounts[f.item.acct];
  auto give_back = [&] {
    acct.state->daily().Release(f.item.daily_day);
    f.route->chooser->Done(f.item, -1);
  };
  std::shared_ptr<const std::string> body = Body(f.entry);
  if (!body) {
    give_back();
    Record(f, QueueState::kFailed, "the stored message body is missing or damaged", now);
    return;
  }
  std::vector<const DkimSigner*> dkim = SignersFor(signers, FromDomain(*body));
  auto msg = BuildQueuedMessage(std::move(body), f.entry.id, EnvelopeFrom(f.entry),
                                f.entry.recipient, dkim);
  if (!msg.ok()) {
    give_back();
    Record(f, QueueState::kFailed, std::string(msg.status().message()), now);
    return;
  }
  SendRequest req;
  req.id = next_id++;
  req.message = *std::move(msg);
  req.account = acct.cfg;
  if (f.item.ip >= 0) req.source_ip = acct.cfg->source_ips[f.item.ip];
  Worker& w = group->worker(next_worker++ % group->size());
  inflight.emplace(req.id, std::move(f));
  w.Post([this, &w, req = std::move(req)]() mutable {
    w.Submit(std::move(req), [this](const SendReport& rep) {
      {
        std::lock_guard<std::mutex> l(mu);
        reports.push_back(rep);
      }
      cv.notify_one();
    });
  });
}

std::shared_ptr<const std::string> QueueDelivery::Impl::Body(const QueueEntry& e) {
  auto it = bodies.find(e.body_id);
  if (it != bodies.end()) return it->second;
  auto b = queue.GetBody(e.body_id);
  if (!b.ok()) {
    Warn(b.status(), absl::StrCat("reading the body of message ", e.id));
    return nullptr;
  }
  if (bodies.size() >= kMaxBodies) bodies.clear();
  auto body = std::make_shared<const std::string>(*std::move(b));
  bodies.emplace(e.body_id, body);
  return body;
}

std::string QueueDelivery::Impl::EnvelopeFrom(const QueueEntry& e) const {
  if (!verp) return e.sender;
  const std::shared_ptr<const TokenKeyRing> ring = keys->Get();  // a reload swaps it
  if (!ring) return e.sender;
  std::string env = "bounces+";
  ring->AppendBounceTag(e.id, RecipientId(e.address_key), &env);
  absl::StrAppend(&env, "@", config->tracking->bounce_domain);
  return env;
}

void QueueDelivery::Impl::DrainReports() {
  std::vector<SendReport> reps;
  {
    std::lock_guard<std::mutex> l(mu);
    reps.swap(reports);
  }
  const int64_t now = NowUnixMicros();
  for (const SendReport& rep : reps) {
    auto it = inflight.find(rep.id);
    if (it == inflight.end()) continue;
    Flight f = std::move(it->second);
    inflight.erase(it);
    f.route->chooser->Done(f.item, now);
    Apply(f, rep, now);
  }
}

void QueueDelivery::Impl::Apply(Flight& f, const SendReport& rep, int64_t now) {
  std::uniform_real_distribution<double> unit(0, 1);
  const QueueVerdict v = QueueVerdictFor(f.entry, rep.outcome, rep.account_unusable,
                                         rep.account_reason, now, unit(rng), config->sending);
  RunAccount& acct = *f.route->state.accounts[f.item.acct];
  const std::string domain(metrics::Metrics().Domain(DomainOf(f.entry.address_key)));
  switch (v.kind) {
    case QueueVerdict::Kind::kPauseAccount: {
      // About our account, not the recipient: no attempt is counted, another account (or this
      // one when it resumes) takes the entry.
      auto changed = acct.state->Pause(store, v.pause_reason, v.reply, now / 1'000'000, v.pause_until);
      if (!changed.ok()) Warn(changed.status(), absl::StrCat("pausing account ", acct.cfg->name));
      Release(f.entry, now, now);
      return;
    }
    case QueueVerdict::Kind::kThrottle: {
      AdaptiveRate& rate = f.route->chooser->Throttled(f.item, now);
      metrics::Metrics().throttle_events->WithLabels({acct.cfg->name, domain}).Inc();
      Record(f, QueueState::kDeferred, v.reply, now, rate.RetryAt(now));
      return;
    }
    case QueueVerdict::Kind::kRecord:
      break;
  }
  if (v.state == QueueState::kDeferred)
    metrics::Metrics().backoff_events->WithLabels({acct.cfg->name, domain}).Inc();
  if (v.suppress) {
    SuppressionEntry e;
    e.key = f.entry.address_key;
    e.reason = SuppressionReason::kHardBounce;
    e.source = "smtp";
    e.detail = v.reply;
    Warn(SuppressionStore(store).Add(e), absl::StrCat("suppressing ", f.entry.recipient));
  }
  Record(f, v.state, v.reply, now, v.next_attempt_us);
}

void QueueDelivery::Impl::Release(const QueueEntry& e, int64_t now, int64_t due) {
  Warn(queue.Release(e.id, now, due), absl::StrCat("releasing message ", e.id));
}

void QueueDelivery::Impl::Record(const Flight& f, QueueState state, const std::string& reply,
                                 int64_t now, int64_t next) {
  QueueAttempt a;
  a.at_us = now;
  if (f.route && f.item.acct >= 0) a.account = f.route->state.accounts[f.item.acct]->cfg->name;
  a.reply = reply;
  a.result = state;
  Warn(queue.RecordAttempt(f.entry.id, a, next), absl::StrCat("recording message ", f.entry.id));
  Count(f, state);
}

void QueueDelivery::Impl::Count(const Flight& f, QueueState state) {
  const RunAccount* acct =
      f.route && f.item.acct >= 0 ? f.route->state.accounts[f.item.acct].get() : nullptr;
  const std::string account = acct ? acct->cfg->name : "";
  const std::string ip = acct && f.item.ip >= 0 ? acct->cfg->source_ips[f.item.ip] : "";
  metrics::Metrics().Messages("queue", f.entry.route, account, ip).For(MetricOutcome(state)).Inc();
}

QueueDelivery::QueueDelivery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<QueueDelivery>> QueueDelivery::Start(const Config& config,
                                                                    Store* store,
                                                                    QueueDeliveryOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->config = &config;
  impl->store = store;
  impl->options = std::move(options);
  impl->queue = QueueStore(store);
  RETURN_IF_ERROR(impl->SetUp());
  Impl* p = impl.get();
  impl->thread = std::thread([p] { p->Run(); });
  // Mail due now (a responder, an injected or submitted message) is taken at once, not at the
  // next poll: the enqueuing thread wakes the loop after its write.
  impl->queue.SetEnqueueListener([p](int64_t earliest_due_us) {
    if (earliest_due_us <= NowUnixMicros()) p->Wake();
  });
  return std::unique_ptr<QueueDelivery>(new QueueDelivery(std::move(impl)));
}

void QueueDelivery::Impl::Wake() {
  {
    std::lock_guard<std::mutex> l(mu);
    wake = true;
  }
  cv.notify_one();
}

void QueueDelivery::Wake() { impl_->Wake(); }

void QueueDelivery::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->queue.SetEnqueueListener({});  // returns once no enqueuing thread is in it
  impl_->stop.store(true);
  Wake();
  impl_->thread.join();
}

QueueDelivery::~QueueDelivery() { Stop(); }

}  // namespace salvo
